// The data path runs in a browser: an app importing @hearsay/core, model, seq and the browser
// adapters (@hearsay/adapters/web) bundles with esbuild for `platform: 'browser'` with no
// polyfill configured (a `node:` import or a Node builtin would not resolve; IndexedDBStore's
// abstract-level finds `events` and `buffer` as npm dependencies), and the bundle runs where
// there is no Buffer, no setImmediate and no process: two replicas of each type, made without
// ids (random ids from WebCrypto), converge over a MessageChannel; two gossip nodes converge
// over BroadcastChannel.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
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

/**
 * Bundles `source` for the browser (minified when `minify`); returns the code, the files read
 * (`inputs`) and the files with code in the output (`kept`: what tree shaking did not drop).
 */
async function bundle(source: string, minify = false): Promise<{ code: string; inputs: string[]; kept: string[] }> {
  const result = await build({
    stdin: { contents: source, resolveDir: root, loader: 'js' },
    bundle: true,
    platform: 'browser',
    // The sources, as the tests run them (dist may be stale or missing).
    conditions: ['source'],
    format: 'esm',
    target: 'es2022',
    minify,
    write: false,
    metafile: true,
    logLevel: 'silent',
    nodePaths: [join(root, 'node_modules')],
    absWorkingDir: root,
  })
  const out = Object.values(result.metafile.outputs)[0]!
  const kept = Object.entries(out.inputs).filter(([, i]) => i.bytesInOutput > 0).map(([f]) => f)
  return { code: result.outputFiles[0]!.text, inputs: Object.keys(result.metafile.inputs), kept }
}

/** Bundles `source` for the browser, checks no node: module got in, runs it without Node's globals; returns its stdout. */
async function bundleAndRun(source: string, mustHold: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'hearsay-bundle-'))
  try {
    const { code, inputs } = await bundle(source)
    assert.ok(inputs.some((f) => f.includes(mustHold)), `the bundle holds ${mustHold}`)
    assert.equal(inputs.filter((f) => f.startsWith('node:')).length, 0, 'no node: module in the bundle')
    writeFileSync(join(dir, 'bundle.mjs'), code)
    // Node stands in for a browser once its own globals are gone.
    const run = `for (const g of ['Buffer', 'setImmediate', 'clearImmediate', 'global', 'process']) delete globalThis[g]\nawait import(${JSON.stringify(join(dir, 'bundle.mjs'))})`
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', run], { encoding: 'utf8', timeout: 60_000 })
    assert.equal(r.status, 0, `the bundle failed without Node globals:\n${r.stderr}`)
    return r.stdout
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

test('core, model, seq and the web adapters bundle for the browser with no polyfill configured, and run without Node globals', { timeout: 120_000 }, async () => {
  const stdout = await bundleAndRun(app, 'packages/model/')
  assert.match(stdout, /converged: LWWMap .*\| GSet .*\| ORSet .*\| PNCounter .*\| Text "world hello"|converged: LWWMap .*\| GSet .*\| ORSet .*\| PNCounter .*\| Text "helloworld "/)
  assert.match(stdout, /\| List \[.*\] \| Doc /)
  assert.match(stdout, /^id [A-Za-z0-9_-]{11} ws function$/m)
})

// Two gossip nodes, as two tabs, over BroadcastChannel, with the Noise channel on @noble. The
// process must also exit after close with no Node globals: an idle task channel or a
// BroadcastChannel left open would keep it (or a worker) alive, and the run would time out.
const gossipSrc = join(root, 'packages/gossip/src')
const nodeOnly = readdirSync(gossipSrc, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && /from 'node:/.test(readFileSync(join(gossipSrc, f), 'utf8')))
const gossipApp = `
import { Node } from '@hearsay/gossip'
import { LWWMap } from '@hearsay/model'
import { BroadcastChannelTransport } from '@hearsay/adapters/web'
const a = new Node({ networkKey: 'k', interval: 50 }), b = new Node({ networkKey: 'k', interval: 50 })
a.use(new BroadcastChannelTransport()); b.use(new BroadcastChannelTransport())
const ma = await a.open('notes', LWWMap), mb = await b.open('notes', LWWMap)
ma.set('a', 1); mb.set('b', 2)
await a.listen('bc://tab-a'); await b.connect('bc://tab-a')
for (let i = 0; i < 400 && !(ma.get('b') === 2 && mb.get('a') === 1); i++) await new Promise((r) => setTimeout(r, 25))
console.log('gossip ' + JSON.stringify(ma.toJSON()) + ' ' + JSON.stringify(mb.toJSON()))
await a.close(); await b.close()
`
test('gossip bundles for the browser and two nodes converge over BroadcastChannel', { timeout: 120_000 }, async () => {
  assert.deepEqual(nodeOnly, [], 'gossip src imports no node: module')
  const stdout = await bundleAndRun(gossipApp, 'packages/gossip/')
  assert.match(stdout, /^gossip \{"a":1,"b":2\} \{"a":1,"b":2\}$/m)
})

// model and seq are free of side effects for bundlers: an app that imports LWWMap and Text
// carries neither the other types nor their code (bench/bundle.bench.ts measures the bytes).
test('a bundle of LWWMap and Text holds no other replicated type', { timeout: 60_000 }, async () => {
  const { kept } = await bundle(`import { LWWMap } from '@hearsay/model'\nimport { Text } from '@hearsay/seq'\nconsole.log(new LWWMap().typeId, new Text().typeId)`, true)
  const held = (name: string) => kept.some((f) => f.endsWith(`/src/${name}.ts`))
  assert.ok(held('LWWMap') && held('Text'), 'the types used are there')
  for (const other of ['Doc', 'ORSet', 'GSet', 'PNCounter', 'EventLog', 'LWWRegister', 'RowSet', 'List']) assert.ok(!held(other), `${other} is not in the bundle`)
})
