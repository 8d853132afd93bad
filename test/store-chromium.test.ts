// The store conformance suite of @hearsay/core/testing runs inside headless Chromium against
// IndexedDBStore on the browser's own IndexedDB (not a fake): test/browser/store-suite.ts is
// bundled for the browser with esbuild (`node:test` aliased to a small case runner,
// `node:assert/strict` to the `assert` package), served on loopback, and every case's result
// comes back as a subtest here. The model-based case is seeded: SEED=... replays it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { build } from 'esbuild'
import { testSeed } from '@hearsay/core/testing'
import { NO_CHROMIUM, chromiumPath, launchChromium } from './chromium.ts'
import type { CaseResult } from './browser/node-test.ts'

const root = new URL('..', import.meta.url).pathname
const here = new URL('.', import.meta.url).pathname

test('store conformance: IndexedDBStore in headless Chromium', { timeout: 240_000, skip: chromiumPath === undefined ? NO_CHROMIUM : false }, async (t) => {
  const seed = testSeed()
  const runs = Number(process.env['HEARSAY_RUNS']) || 25
  const bundle = await build({
    entryPoints: [here + 'browser/store-suite.ts'],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    conditions: ['source'],
    write: false,
    logLevel: 'silent',
    absWorkingDir: root,
    nodePaths: [root + 'node_modules'],
    alias: { 'node:test': here + 'browser/node-test.ts', 'node:assert/strict': here + 'browser/assert.ts' },
    // What the `assert` package reads of `process` (terminal colours, debug logging).
    define: { 'process.stderr': 'undefined', 'process.env.NODE_DEBUG': 'false' },
  })
  const js = bundle.outputFiles[0]!.text
  assert.doesNotMatch(js, /fake-indexeddb/, 'the real IndexedDB, no fake')
  const http = createServer((req, res) => {
    if ((req.url ?? '').startsWith('/suite.js')) res.writeHead(200, { 'content-type': 'text/javascript' }).end(js)
    else res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script type="module" src="/suite.js"></script>')
  })
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r))
  const chromium = await launchChromium()
  try {
    const page = await chromium.context.newPage()
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(String(e)))
    await page.goto(`http://127.0.0.1:${(http.address() as { port: number }).port}/?seed=${seed}&runs=${runs}`)
    await page.waitForFunction(() => 'results' in globalThis, undefined, { timeout: 30_000 })
    const results = (await page.evaluate(() => (globalThis as unknown as { results: Promise<unknown> }).results)) as CaseResult[]
    type Idb = { databases(): Promise<Array<{ name?: string }>> }
    const databases: string[] = await page.evaluate(async () => (await (globalThis as unknown as { indexedDB: Idb }).indexedDB.databases()).map((d) => d.name ?? ''))
    assert.deepEqual(errors, [], 'no page errors')
    assert.ok(results.length >= 9, `the suite's cases ran: ${results.map((r) => r.name).join(', ')}`)
    assert.ok(databases.filter((d) => d.includes(`hearsay-suite-${seed}-`)).length >= results.length, `each case had its own IndexedDB database (browser-level names it level-js-<name>): ${databases}`)
    for (const r of results) {
      await t.test(r.name, (st) => {
        if (r.status === 'skip') return st.skip(r.detail)
        if (r.status === 'fail') assert.fail(`${r.detail}\n  (seed ${seed}; replay with SEED=${seed})`)
      })
    }
    // A persistent store that compacts runs every case; none may be skipped.
    assert.deepEqual(results.filter((r) => r.status !== 'pass').map((r) => `${r.name}: ${r.status}`), [], `seed ${seed}`)
  } finally {
    await chromium.close()
    await new Promise((r) => http.close(r))
  }
})
