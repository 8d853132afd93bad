// The store conformance suite of @hearsay/core/testing against IndexedDBStore, as a page for
// headless Chromium (test/store-chromium.test.ts bundles it with `node:test` aliased to
// ./node-test.ts and `node:assert/strict` to the `assert` package). The seed and the number of
// model-based runs come from the URL (?seed=&runs=); the results land in `globalThis.results`.
// The suite's own file, not the @hearsay/core/testing entry, whose convergence checker needs node:util.
import { reopenableFixture, storeSuite } from '../../packages/core/src/testing/storeSuite.ts'
import { IndexedDBStore } from '@hearsay/adapters/web'
import { run, type CaseResult } from './node-test.ts'

const params = new URLSearchParams((globalThis as unknown as { location: { search: string } }).location.search)
const seed = Number(params.get('seed'))
const numRuns = Number(params.get('runs'))
// Each case gets its own database; reopen opens a second store on the same one, as a reload does.
let n = 0
storeSuite(
  'IndexedDBStore in Chromium',
  () => {
    const name = `hearsay-suite-${seed}-${++n}`
    return reopenableFixture(() => new IndexedDBStore(name))
  },
  { seed, numRuns },
)
;(globalThis as unknown as { results: Promise<CaseResult[]> }).results = run()
