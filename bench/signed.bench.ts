// Signed objects (packages/gossip/src/signed/): what one Ed25519 signature per batch of writes
// costs, side by side with the same work unsigned. In process, no session or channel: the
// gossip and secure benches measure those; this isolates the signing, verifying and the
// verbatim segment bytes.
// 1. LWWMap set rate: N sets, then (signed) one segment sealed per batch of B writes.
// 2. Stream from writer to reader: per batch, the writer's new ranges are encoded, the bytes
//    decoded and applied by a second replica; signed, the batch travels as a segment (sealed,
//    written, read, verified, applied through the reader's SegmentLog).
// 3. Node to node, live: K LWW map writes on node a (yielding every 100 writes, as the gossip
//    bench's stream does) until the last arrived on node b over mem:// (Noise channel, sealed
//    frames, a MemoryStore on each side). Signed, the object is opened with writers [a]: a signs
//    its writes every sealDelay ms (default 5) and b verifies every segment before applying it.
// Run: node --expose-gc --conditions=source --import tsx bench/index.ts signed
import { MemoryNetwork, MemoryTransport, VersionVector, decodeWith, encodeWith } from '@hearsay/core'
import { LWWMap } from '@hearsay/model'
import { GossipKind, Node, SegmentLog, createWritePolicy, generateIdentity, identityPublicKey, nodeIdFromPublicKey, readSegment, signedObjectId, writeSegment } from '@hearsay/gossip'
import { group } from './harness.ts'

const K = Number(process.env['BENCH_SIGNED_K']) || 200_000
const tick = () => new Promise<void>((r) => setImmediate(r))

async function until(cond: () => boolean, what: string, ms = 120_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`)
    await new Promise((r) => setTimeout(r, 1))
  }
}

async function nodeToNode(k: number, signed: boolean, sealDelay?: number): Promise<{ bytes: number; frames: number }> {
  const network = new MemoryNetwork()
  const quiet = { interval: 3_600_000, heartbeatInterval: 3_600_000, ...(sealDelay !== undefined && { sealDelay }) }
  let frames = 0
  const a = new Node({ networkKey: 'bench', ...quiet, transports: [new MemoryTransport({ network })], inspect: (dir, f) => void (dir === 'out' && f[0] === GossipKind.Signed && frames++) })
  const b = new Node({ networkKey: 'bench', ...quiet, transports: [new MemoryTransport({ network })] })
  try {
    const url = await a.listen(`mem://signed-bench-${++n}`)
    await b.connect(url)
    const m = await a.open('stream', LWWMap, signed ? { writers: [a.id] } : {})
    const id = a.objectIds().find((x) => x.startsWith('stream'))!
    m.set('warmup', 0)
    await until(() => b.get(id) !== undefined, 'object created on b')
    const target = b.get(id) as LWWMap
    const before = a.status().bytesOut
    frames = 0
    for (let i = 0; i < k; i++) {
      m.set(`k${i % 1000}`, i)
      if (i % 100 === 99) await tick()
    }
    await until(() => target.get(`k${(k - 1) % 1000}`) === k - 1, 'last write arrived')
    const refused = b.status().refused
    if (refused.badSignature + refused.notPermitted + refused.invalid > 0) throw new Error('b refused segments')
    return { bytes: a.status().bytesOut - before, frames }
  } finally {
    await a.close()
    await b.close()
  }
}

const N = 200_000
const camp = generateIdentity()
const campId = nodeIdFromPublicKey(identityPublicKey(camp))
const policy = createWritePolicy([campId])
const objectId = signedObjectId('bench', policy)
let n = 0
const source = () => `${campId}.${++n}.AAAAAAAA`

export async function run(): Promise<void> {
  for (const B of [100, 1000]) {
    const g = group(`signed: LWWMap ${N} sets, one signature per ${B} writes`, 'unsigned')
    await g.add('unsigned', () => {
      const m = new LWWMap({ id: source() })
      for (let i = 0; i < N; i++) m.set(`k${i % 5000}`, i)
      return { ops: N }
    })
    await g.add('signed', () => {
      const log = new SegmentLog(objectId, new LWWMap({ id: source() }), policy)
      const m = log.replica
      for (let i = 0; i < N; i++) {
        m.set(`k${i % 5000}`, i)
        if (i % B === B - 1) log.seal(camp)
      }
      log.seal(camp)
      return { ops: N, extra: { segments: Math.ceil(N / B) } }
    })
    g.print()

    const s = group(`signed: writer to reader, ${N} sets in batches of ${B} (encode, decode, apply)`, 'unsigned')
    await s.add('unsigned', () => {
      const w = new LWWMap({ id: source() })
      const r = new LWWMap()
      let bytes = 0
      const sent = new VersionVector()
      const ship = () => {
        const ranges = w.historySince(sent)
        const b = w.encodeRanges(ranges)
        bytes += b.length
        r.applyRanges(r.decodeRanges(b))
        sent.set(w.id, w.clock.get(w.id))
      }
      for (let i = 0; i < N; i++) {
        w.set(`k${i}`, i)
        if (i % B === B - 1) ship()
      }
      ship()
      if (r.clock.get(w.id) !== N) throw new Error('reader behind')
      return { ops: N, bytes }
    })
    await s.add('signed', () => {
      const wl = new SegmentLog(objectId, new LWWMap({ id: source() }), policy)
      const w = wl.replica
      const rl = new SegmentLog(objectId, new LWWMap(), policy)
      let bytes = 0
      const ship = () => {
        const seg = wl.seal(camp)
        if (seg === undefined) return
        const b = encodeWith((e) => writeSegment(e, seg))
        bytes += b.length
        rl.receive(decodeWith(b, readSegment))
      }
      for (let i = 0; i < N; i++) {
        w.set(`k${i}`, i)
        if (i % B === B - 1) ship()
      }
      ship()
      if (rl.replica.clock.get(w.id) !== N) throw new Error('reader behind')
      return { ops: N, bytes }
    })
    s.print()
  }

  const t = group(`signed: node to node, a stream of ${K} LWW map writes until the last arrived (mem://, Noise, MemoryStore)`, 'unsigned')
  await t.add('unsigned', async () => {
    const r = await nodeToNode(K, false)
    return { ops: K, bytes: r.bytes }
  })
  for (const delay of [5, 0]) {
    await t.add(`signed, sealDelay ${delay} ms${delay === 5 ? ' (default)' : ''}`, async () => {
      const r = await nodeToNode(K, true, delay)
      return { ops: K, bytes: r.bytes, extra: { 'signed frames': r.frames } }
    })
  }
  t.print()
}
