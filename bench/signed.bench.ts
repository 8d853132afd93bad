// Signed objects (packages/gossip/src/signed/): what one Ed25519 signature per batch of writes
// costs, side by side with the same work unsigned. In process, no session or channel: the
// gossip and secure benches measure those; this isolates the signing, verifying and the
// verbatim segment bytes.
// 1. LWWMap set rate: N sets, then (signed) one segment sealed per batch of B writes.
// 2. Stream from writer to reader: per batch, the writer's new ranges are encoded, the bytes
//    decoded and applied by a second replica; signed, the batch travels as a segment (sealed,
//    written, read, verified, applied through the reader's SegmentLog).
// Run: node --expose-gc --conditions=source --import tsx bench/index.ts signed
import { VersionVector, decodeWith, encodeWith } from '@hearsay/core'
import { LWWMap } from '@hearsay/model'
import { SegmentLog, createWritePolicy, generateIdentity, identityPublicKey, nodeIdFromPublicKey, readSegment, signedObjectId, writeSegment } from '@hearsay/gossip'
import { group } from './harness.ts'

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
}
