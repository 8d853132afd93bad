/**
 * `@hearsay/gossip/testing`: helpers for simulator runs, shared by gossip's tests and the
 * benchmarks. {@link MiniNode} is a minimal anti-entropy node any {@link SimulatedNode} slot
 * takes; {@link SimGSet} and {@link SimLWWMap} are small correct types that need no
 * `@hearsay/model`.
 *
 * @example
 * ```ts
 * import { simulate } from '@hearsay/gossip/sim'
 * import { MiniNode, SimGSet } from '@hearsay/gossip/testing'
 * const objects = [{ id: 'set', type: SimGSet, write: (s: SimGSet, r) => s.add(r.word(3)) }]
 * const report = await simulate({ seed: 1, nodes: 5, ops: 40, createNode: (env) => new MiniNode(env), objects })
 * ```
 */
export { MiniNode } from './MiniNode.js'
export { SimGSet, SimLWWMap } from './simTypes.js'
