/**
 * @hearsay/core/testing: the test kit for replicated types, ours and yours.
 *
 * - {@link checkConvergence}: the law checker every hearsay type passes.
 * - {@link withSeed}, {@link createPrng}, {@link testSeed}: seeded randomness that prints how to replay.
 * - {@link transportSuite}, {@link storeSuite}: the conformance suites of the `Transport` and `Store` contracts.
 * - {@link mutants}: broken types, one per law, that the checker must catch.
 *
 * @example
 * ```ts
 * import * as fc from 'fast-check'
 * import { checkConvergence } from '@hearsay/core/testing'
 * await checkConvergence((o) => new MyCounter(o), fc.integer({ min: 1, max: 9 }), { apply: (c, n) => c.add(n) })
 * ```
 * @packageDocumentation
 */
export { ConvergenceCheckError, ConvergenceFailure, checkConvergence, refusesInvalidUpdate, runScenario } from './checkConvergence.js'
export type { ConvergenceOptions, Scenario, ScenarioStats, Step } from './checkConvergence.js'
export { createPrng, prng, testSeed, withSeed } from './prng.js'
export { TRANSPORT_SUITE_LIMITS, transportSuite } from './transportSuite.js'
export type { TransportSuiteLimits, TransportSuiteOptions, TransportSuiteSetup } from './transportSuite.js'
export { reopenableFixture, storeSuite } from './storeSuite.js'
export { mutants } from './mutants.js'
export type { Mutant } from './mutants.js'
export type { StoreFixture, StoreSuiteOptions } from './storeSuite.js'
