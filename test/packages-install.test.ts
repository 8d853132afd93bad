// The packages install and run as a user gets them: every workspace package is packed with
// `npm pack`, the tarballs are installed into a scratch app outside the repository, and that
// app runs a plain `node` script (no tsx, no --conditions flag), type-checks a TypeScript file
// against the published .d.ts (with @types/node under NodeNext, as a browser app under bundler
// resolution without it, and under NodeNext without it: no Node type leaks into core, model,
// seq, gossip or the web adapters), runs `hearsay --help`, and SIGKILL of the `hearsay` bin kills
// the daemon itself (the bin runs dist/main.js in its own process: no orphan holds the data dir).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const packages = ['core', 'model', 'seq', 'gossip', 'adapters', 'cli']
const tsc = join(root, 'node_modules/typescript/bin/tsc')

function run(cmd: string, args: string[], cwd: string, timeout = 240_000): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout, env: { ...process.env, npm_config_update_notifier: 'false' } })
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`)
  return r.stdout
}

const script = `
import { LWWMap } from '@hearsay/model'
import { Text } from '@hearsay/seq'
import { Node } from '@hearsay/gossip'
import { MemoryStore } from '@hearsay/core'
import { WsTransport } from '@hearsay/adapters'
import { YDocReplica } from '@hearsay/adapters/yjs'
import * as Y from 'yjs'
const a = new LWWMap(), b = new LWWMap()
a.set('milk', 2)
const sa = a.createStream(), sb = b.createStream()
sa.pipe(sb).pipe(sa)
await new Promise((r) => sb.once('sync', r))
const t = new Text(); t.insert(0, 'hi')
const n = new Node({ networkKey: 'k', store: new MemoryStore() })
const doc = new YDocReplica({ doc: new Y.Doc() })
console.log('ok', JSON.stringify(b.toJSON()), t.toString(), typeof WsTransport, typeof doc.encodeState)
await n.close()
`

const typed = `
import { LWWMap, type LWWMapEvents } from '@hearsay/model'
import { Text } from '@hearsay/seq'
import { connectPort, randomReplicaId, type ReplicaId } from '@hearsay/core'
const m = new LWWMap<number>({ id: 'a' })
m.on('change', (key, value) => { const k: string = key; void k; void value })
// @ts-expect-error a misspelled event name does not compile
m.on('chnage', () => {})
const id: ReplicaId = randomReplicaId()
const t = new Text({ id })
t.insert(0, 'x')
void connectPort
export type E = LWWMapEvents<number>
`

// A consumer of the platform-neutral packages that has no @types/node: every type these .d.ts
// reach must come from the ES library (or the DOM one, for the browser adapters), never Node's.
const neutral = `
import { MemoryStore, randomReplicaId, type Store, type Transport } from '@hearsay/core'
import { LWWMap, ORSet, Doc } from '@hearsay/model'
import { List, Text } from '@hearsay/seq'
import { Node, type NodeStatus } from '@hearsay/gossip'
const store: Store = new MemoryStore()
const node = new Node({ networkKey: 'k', store, id: randomReplicaId() })
const open: Promise<LWWMap<number>> = node.open('m', LWWMap<number>)
const s: NodeStatus = node.status()
export const all = [open, s, new ORSet(), new Doc(), new List<number>(), new Text()] as const
export type T = Transport
`
const browser = `
import { IndexedDBStore, WebSocketTransport, BroadcastChannelTransport } from '@hearsay/adapters/web'
import { Node } from '@hearsay/gossip'
const node = new Node({ networkKey: 'k', store: new IndexedDBStore('notes'), transports: [new WebSocketTransport(), new BroadcastChannelTransport()] })
export const started: Promise<void> = node.start()
`
// The Node entry still types Node's streams, for an app that has @types/node.
const nodeStreams = `
import '@hearsay/core/node'
import { LWWMap } from '@hearsay/model'
import type { Duplex } from 'node:stream'
const d: Duplex = new LWWMap().createStream()
export { d }
`

test('packed tarballs install outside the repo and run with plain node, tsc and the hearsay bin', { timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearsay-pack-'))
  try {
    const tarballs = join(dir, 'tarballs')
    mkdirSync(tarballs)
    const packed = JSON.parse(run('npm', ['pack', '--json', '--workspaces', '--pack-destination', tarballs], root)) as Array<{ name: string; filename: string; files: Array<{ path: string }> }>
    assert.deepEqual(packed.map((p) => p.name).sort(), packages.map((p) => `@hearsay/${p}`).sort())
    for (const p of packed) {
      const files = p.files.map((f) => f.path)
      assert.ok(files.includes('LICENSE'), `${p.name} ships LICENSE`)
      assert.ok(!files.some((f) => f.endsWith('.tsbuildinfo')), `${p.name} ships no tsbuildinfo`)
      assert.ok(files.includes('dist/index.js'), `${p.name} ships dist (run npm run build first)`)
    }
    for (const name of packages) {
      const pkg = JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8'))
      for (const field of ['repository', 'engines', 'sideEffects', 'license']) assert.ok(pkg[field] !== undefined, `${name}: ${field}`)
      assert.equal(pkg.exports['./package.json'], './package.json', `${name} exports ./package.json`)
    }
    assert.ok(existsSync(join(root, 'LICENSE')))

    const app = join(dir, 'app')
    mkdirSync(app)
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', private: true, type: 'module' }))
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', 'yjs@^13.6.27', ...packed.map((p) => join(tarballs, p.filename))], app)
    assert.ok(!existsSync(join(app, 'node_modules/fast-check')), 'fast-check is not installed for the main entry points')
    assert.ok(!existsSync(join(app, 'node_modules/memory-level')), 'memory-level is a dev dependency only')
    assert.ok(!existsSync(join(app, 'node_modules/tsx')), 'tsx is not needed at run time')

    writeFileSync(join(app, 'main.mjs'), script)
    const out = run(process.execPath, ['main.mjs'], app, 60_000)
    assert.match(out, /^ok \{"milk":2\} hi function function/m)

    writeFileSync(join(app, 'main.ts'), typed)
    const base = { strict: true, noEmit: true, skipLibCheck: false, target: 'ES2022', isolatedModules: true }
    // A Node app: NodeNext resolution (the `node` condition) with @types/node.
    writeFileSync(join(app, 'tsconfig.node.json'), JSON.stringify({ compilerOptions: { ...base, module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022'], types: ['node'], typeRoots: [join(root, 'node_modules/@types')] }, files: ['main.ts'] }))
    run(process.execPath, [tsc, '-p', 'tsconfig.node.json'], app, 120_000)
    // A browser app: bundler resolution, the DOM library, no @types/node anywhere.
    writeFileSync(join(app, 'tsconfig.web.json'), JSON.stringify({ compilerOptions: { ...base, module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2022', 'DOM'], types: [], typeRoots: [] }, files: ['main.ts'] }))
    run(process.execPath, [tsc, '-p', 'tsconfig.web.json'], app, 120_000)
    // NodeNext resolution (the `node` condition) with no @types/node: no Node type may leak into
    // core, model, seq, gossip (checked with the ES library only) or the web adapters (with DOM).
    assert.ok(!existsSync(join(app, 'node_modules/@types/node')), 'the scratch app has no @types/node')
    writeFileSync(join(app, 'neutral.ts'), neutral)
    writeFileSync(join(app, 'browser.ts'), browser)
    const bare = { ...base, module: 'NodeNext', moduleResolution: 'NodeNext', types: [], typeRoots: [] }
    writeFileSync(join(app, 'tsconfig.bare.json'), JSON.stringify({ compilerOptions: { ...bare, lib: ['ES2022'] }, files: ['neutral.ts'] }))
    run(process.execPath, [tsc, '-p', 'tsconfig.bare.json'], app, 120_000)
    writeFileSync(join(app, 'tsconfig.dom.json'), JSON.stringify({ compilerOptions: { ...bare, lib: ['ES2022', 'DOM'] }, files: ['neutral.ts', 'browser.ts'] }))
    run(process.execPath, [tsc, '-p', 'tsconfig.dom.json'], app, 120_000)
    writeFileSync(join(app, 'streams.ts'), nodeStreams)
    writeFileSync(join(app, 'tsconfig.streams.json'), JSON.stringify({ compilerOptions: { ...base, module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022'], types: ['node'], typeRoots: [join(root, 'node_modules/@types')] }, files: ['streams.ts'] }))
    run(process.execPath, [tsc, '-p', 'tsconfig.streams.json'], app, 120_000)

    const bin = join(app, 'node_modules/.bin/hearsay')
    assert.match(run(bin, ['--help'], app, 30_000), /Usage: hearsay <command>/)

    // SIGKILL of the bin is SIGKILL of the daemon: a second daemon then opens the same data directory.
    const data = join(dir, 'data')
    for (let round = 0; round < 2; round++) {
      const child = spawn(bin, ['peer', '--key', 'k', '--data', data, '--listen', 'ws://127.0.0.1:0', '--status-every', '0'], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] })
      let output = ''
      child.stdout.on('data', (c) => (output += c))
      child.stderr.on('data', (c) => (output += c))
      const exited = new Promise<string>((resolve) => child.on('exit', (code, signal) => resolve(`${code ?? signal}`)))
      const deadline = Date.now() + 60_000
      while (!/ready/.test(output) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
      assert.match(output, /ready/, `round ${round}: the daemon did not start:\n${output}`)
      child.kill('SIGKILL')
      assert.equal(await exited, 'SIGKILL')
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
