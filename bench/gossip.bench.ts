// Gossip node figures over the in-process mem:// transport.
// 1. Bytes of an anti-entropy round between two nodes already in sync, against the number of
//    objects they share (hearsay: root digest), next to scuttlebutt with one stream per object
//    (each stream's handshake carries that object's whole clock). Also the bytes of a full
//    session from connect (handshake, auth, first round) and of a session where 1% differ.
// 2. Throughput of a stream of LWW map writes from one node to another (live push, each write
//    durable in a MemoryStore before it leaves), next to scuttlebutt's Model piped in-process.
// Run: node --expose-gc --conditions=source --import tsx bench/index.ts gossip
import { createRequire } from 'node:module'
import { MemoryNetwork, MemoryTransport } from '@hearsay/core'
import { Node } from '@hearsay/gossip'
import { LWWMap } from '@hearsay/model'
import { group } from './harness.ts'

const require = createRequire(import.meta.url)
const SbModel = require('scuttlebutt/model') as new () => {
  set(k: string, v: unknown): void
  get(k: string): unknown
  createStream(): NodeJS.ReadWriteStream & { on(ev: string, fn: (...a: any[]) => void): unknown }
}

const QUIET = { interval: 3_600_000, heartbeatInterval: 3_600_000 }
const tick = () => new Promise<void>((r) => setImmediate(r))

async function until(cond: () => boolean, what: string, ms = 120_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`)
    await new Promise((r) => setTimeout(r, 1))
  }
}

let nameCounter = 0

async function syncedPair(n: number): Promise<{ a: Node; b: Node; url: string }> {
  const network = new MemoryNetwork()
  const a = new Node({ networkKey: 'bench', id: 'a', ...QUIET, transports: [new MemoryTransport({ network })] })
  const b = new Node({ networkKey: 'bench', id: 'b', ...QUIET, transports: [new MemoryTransport({ network })] })
  for (let i = 0; i < n; i++) (await a.open(`object-${i}`, LWWMap)).set('v', i)
  await b.importBundle(await a.exportBundle())
  const url = await a.listen(`mem://bench-${++nameCounter}`)
  return { a, b, url }
}

async function inSyncFigures(n: number): Promise<{ round: number; session: number }> {
  const { a, b, url } = await syncedPair(n)
  try {
    const b0 = b.status().bytesIn + b.status().bytesOut
    await b.connect(url)
    await until(() => b.status().peers.some((p) => p.inSync) || (b.syncNow(), false), 'in sync')
    await new Promise((r) => setTimeout(r, 5))
    const b1 = b.status().bytesIn + b.status().bytesOut
    b.syncNow()
    await until(() => b.status().bytesIn + b.status().bytesOut > b1 + 30, 'round')
    await new Promise((r) => setTimeout(r, 5))
    const b2 = b.status().bytesIn + b.status().bytesOut
    return { round: b2 - b1, session: b1 - b0 }
  } finally {
    await a.close()
    await b.close()
  }
}

async function diffSession(n: number): Promise<{ bytes: number; changed: number }> {
  const network = new MemoryNetwork()
  const a = new Node({ networkKey: 'bench', id: 'a', ...QUIET, transports: [new MemoryTransport({ network })] })
  const b = new Node({ networkKey: 'bench', id: 'b', ...QUIET, transports: [new MemoryTransport({ network })] })
  try {
    const maps: LWWMap[] = []
    for (let i = 0; i < n; i++) {
      const m = await a.open(`object-${i}`, LWWMap)
      m.set('v', i)
      maps.push(m)
    }
    await b.importBundle(await a.exportBundle())
    await a.importBundle(await b.exportBundle())
    const changed = Math.max(1, Math.floor(n / 100))
    for (let i = 0; i < changed; i++) maps[(i * 7919) % n]!.set('w', i)
    const url = await a.listen(`mem://bench-${++nameCounter}`)
    await b.connect(url)
    const last = (b.get(`object-${((changed - 1) * 7919) % n}`) as LWWMap)
    await until(() => last.get('w') === changed - 1, 'differences crossed')
    await until(() => b.status().peers.some((p) => p.inSync) || (b.syncNow(), false), 'in sync again')
    const s = b.status()
    return { bytes: s.bytesIn + s.bytesOut, changed }
  } finally {
    await a.close()
    await b.close()
  }
}

async function scuttlebuttInSync(n: number): Promise<number> {
  const as = Array.from({ length: n }, () => new SbModel())
  const bs = Array.from({ length: n }, () => new SbModel())
  as.forEach((m, i) => m.set('v', i))
  // First sync them, then measure a second stream pair per object (what a reconnect costs).
  const pipeAll = async (count: boolean): Promise<number> => {
    let bytes = 0
    let synced = 0
    for (let i = 0; i < n; i++) {
      const sa = as[i]!.createStream()
      const sb = bs[i]!.createStream()
      if (count) {
        sa.on('data', (d: unknown) => (bytes += Buffer.byteLength(String(d))))
        sb.on('data', (d: unknown) => (bytes += Buffer.byteLength(String(d))))
      }
      sa.on('sync', () => synced++)
      sa.pipe(sb).pipe(sa)
    }
    await until(() => synced >= n, 'scuttlebutt sync')
    return bytes
  }
  await pipeAll(false)
  return pipeAll(true)
}

async function throughputHearsay(k: number): Promise<{ bytes: number }> {
  const network = new MemoryNetwork()
  const a = new Node({ networkKey: 'bench', id: 'a', ...QUIET, transports: [new MemoryTransport({ network })] })
  const b = new Node({ networkKey: 'bench', id: 'b', ...QUIET, transports: [new MemoryTransport({ network })] })
  try {
    const url = await a.listen(`mem://bench-${++nameCounter}`)
    await b.connect(url)
    const m = await a.open('stream', LWWMap)
    await until(() => b.get('stream') !== undefined || (m.set('warmup', 0), false), 'object created on b')
    const target = b.get('stream') as LWWMap
    const before = a.status().bytesOut
    for (let i = 0; i < k; i++) {
      m.set(`k${i % 1000}`, i)
      if (i % 100 === 99) await tick()
    }
    await until(() => target.get(`k${(k - 1) % 1000}`) === k - 1, 'last write arrived')
    return { bytes: a.status().bytesOut - before }
  } finally {
    await a.close()
    await b.close()
  }
}

async function throughputScuttlebutt(k: number): Promise<void> {
  const a = new SbModel()
  const b = new SbModel()
  const sa = a.createStream()
  sa.pipe(b.createStream()).pipe(sa)
  for (let i = 0; i < k; i++) {
    a.set(`k${i % 1000}`, i)
    if (i % 100 === 99) await tick()
  }
  await until(() => b.get(`k${(k - 1) % 1000}`) === k - 1, 'scuttlebutt last write')
}

export async function run(): Promise<void> {
  const sizes = (process.env['BENCH_GOSSIP_N'] ?? '10,100,1000,10000').split(',').map(Number)
  const g = group('gossip: bytes of an anti-entropy round between two nodes in sync, by objects shared')
  for (const n of sizes) {
    await g.add(`hearsay n=${n}`, async () => {
      const f = await inSyncFigures(n)
      return { bytes: f.round, extra: { 'session from connect': f.session } }
    }, 1)
    if (n <= 1000) {
      await g.add(`scuttlebutt n=${n} (stream per object)`, async () => ({ bytes: await scuttlebuttInSync(n) }), 1)
    }
  }
  g.print()

  const d = group('gossip: bytes of a whole session (connect to in sync) when 1% of the objects differ')
  for (const n of sizes) {
    await d.add(`hearsay n=${n}`, async () => {
      const r = await diffSession(n)
      return { bytes: r.bytes, extra: { differing: r.changed, 'bytes/differing': Math.round(r.bytes / r.changed) } }
    }, 1)
  }
  d.print()

  const K = Number(process.env['BENCH_GOSSIP_K']) || 50_000
  const t = group(`gossip: a stream of ${K} LWW map writes from one node to another, until the last arrived`)
  await t.add('hearsay (mem://, MemoryStore)', async () => {
    const r = await throughputHearsay(K)
    return { ops: K, bytes: r.bytes, extra: { 'bytes/update': Math.round((r.bytes / K) * 10) / 10 } }
  })
  await t.add('scuttlebutt (Model streams piped)', async () => {
    await throughputScuttlebutt(K)
    return { ops: K }
  })
  t.print()
}
