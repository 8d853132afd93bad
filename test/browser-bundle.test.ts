// The data path runs in a browser: an app importing @hearsay/core, model, seq and the browser
// adapters (@hearsay/adapters/web) bundles with
// esbuild for `platform: 'browser'` with no polyfills (a `node:` import or a Node builtin
// would not resolve), and the bundle runs where there is no Buffer, no setImmediate and no
// process: two replicas of each type, made without ids (random ids from WebCrypto), converge
// over a MessageChannel.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'esbuild'

const root = new URL('..', import.meta.url).pathname

const app = `
import { connectPort, randomReplicaId } from '@hearsay/core'
import { GSet, LWWMap, ORSet, PNCounter, Doc } from '@hearsay/model'
import { List, Text } from '@hearsay/seq'
import { IndexedDBStore, WebSocketTransport } from '@hearsay/adapters/web'

const pairs = [
  [new LWWMap(), new LWWMap(), (a, b) => { a.set('k', { bytes: new Uint8Array([1, 2, 3]), n: 1 }); b.set('j', 'é€😀') }],
  [new GSet(), new GSet(), (a, b) => { a.add(new Uint8Array([9])); b.add('x') }],
  [new ORSet(), new ORSet(), (a, b) => { a.add('x'); a.add('y'); b.add('y'); a.delete('x') }],
  [new PNCounter(), new PNCounter(), (a, b) => { a.increment(5); b.decrement(2) }],
  [new Text(), new Text(), (a, b) => { a.insert(0, 'hello'); b.insert(0, 'world ') }],
  [new List(), new List(), (a, b) => { a.insert(0, 1, 2); b.insert(0, 3) }],
  [new Doc(), new Doc(), (a, b) => { a.add({ id: 'r1', title: 'milk' }); b.add({ id: 'r2', title: 'eggs' }) }],
]
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i])
const done = []
for (const [a, b, edit] of pairs) {
  if (!/^[A-Za-z0-9_-]{11}$/.test(a.id) || a.id === b.id) throw new Error('bad random id ' + a.id)
  edit(a, b)
  const { port1, port2 } = new MessageChannel()
  const la = connectPort(a, port1), lb = connectPort(b, port2)
  done.push(new Promise((resolve, reject) => {
    let n = 0
    const check = () => {
      if (!la.synced || !lb.synced) return setTimeout(check, 5)
      if (!same(a.encodeState(), b.encodeState())) return reject(new Error(a.constructor.name + ' states differ'))
      port1.close(); port2.close()
      resolve(a.constructor.name + ' ' + JSON.stringify(a.toJSON()))
    }
    check()
  }))
}
const names = await Promise.all(done)
console.log('converged: ' + names.join(' | '))
console.log('id ' + randomReplicaId() + ' ' + new WebSocketTransport().scheme + ' ' + typeof IndexedDBStore)
`

test('core, model and seq bundle for the browser with no polyfills, and run without Node globals', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearsay-bundle-'))
  try {
    writeFileSync(join(dir, 'app.mjs'), app)
    const result = await build({
      entryPoints: [join(dir, 'app.mjs')],
      bundle: true,
      platform: 'browser',
      // The sources, as the tests run them (dist may be stale or missing).
      conditions: ['source'],
      format: 'esm',
      target: 'es2022',
      write: false,
      metafile: true,
      logLevel: 'silent',
      nodePaths: [join(root, 'node_modules')],
      absWorkingDir: root,
    })
    const inputs = Object.keys(result.metafile.inputs)
    assert.ok(inputs.some((f) => f.includes('packages/model/')), 'the bundle holds @hearsay/model')
    assert.equal(inputs.filter((f) => f.startsWith('node:')).length, 0, 'no node: module in the bundle')
    const code = result.outputFiles[0]!.text
    writeFileSync(join(dir, 'bundle.mjs'), code)
    // Node stands in for a browser once its own globals are gone.
    const run = `for (const g of ['Buffer', 'setImmediate', 'clearImmediate', 'global', 'process']) delete globalThis[g]\nawait import(${JSON.stringify(join(dir, 'bundle.mjs'))})`
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', run], { encoding: 'utf8', timeout: 60_000 })
    assert.equal(r.status, 0, `the bundle failed without Node globals:\n${r.stderr}`)
    assert.match(r.stdout, /converged: LWWMap .*\| GSet .*\| ORSet .*\| PNCounter .*\| Text "world hello"|converged: LWWMap .*\| GSet .*\| ORSet .*\| PNCounter .*\| Text "helloworld "/)
    assert.match(r.stdout, /\| List \[.*\] \| Doc /)
    assert.match(r.stdout, /^id [A-Za-z0-9_-]{11} ws function$/m)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
