// Generators of ranges for the property tests of update.ts and ranges.ts.
import * as fc from 'fast-check'
import { encoding, readSafeUint, toReplicaId, updateEnd, type decoding, type OpCodec, type Range, type Update } from '@hearsay/core'

/** A var-uint op codec. */
export const codec: OpCodec<number> = { write: (e, op) => encoding.writeVarUint(e, op), read: (d: decoding.Decoder) => readSafeUint(d) }
/** Sources ranges are drawn from. */
export const sources = ['a', 'b', 'zz'].map(toReplicaId)

/** One source's range (from, to] with gaps, runs (len > 1), deps and a tail past the last update. */
export const rangeArb: fc.Arbitrary<Range<number>> = fc
  .record({
    source: fc.constantFrom(...sources),
    from: fc.nat({ max: 1000 }),
    steps: fc.array(fc.record({ gap: fc.nat({ max: 3 }), len: fc.integer({ min: 1, max: 4 }), dt: fc.integer({ min: -5, max: 5000 }), op: fc.nat(), deps: fc.array(fc.record({ source: fc.constantFrom(...sources), seq: fc.integer({ min: 1, max: 50 }) }), { maxLength: 2 }) }), { maxLength: 20 }),
    tail: fc.nat({ max: 3 }),
  })
  .map(({ source, from, steps, tail }) => {
    const updates: Update<number>[] = []
    let end = from
    let time = 1_000_000
    for (const s of steps) {
      const seq = end + 1 + s.gap
      time = Math.max(0, time + s.dt)
      const deps = s.deps.filter((d) => d.source !== source).map((d) => ({ source: d.source, seq: d.seq }))
      const u: Update<number> = { source, seq, time, op: s.op, ...(s.len > 1 ? { len: s.len } : {}), ...(deps.length ? { deps } : {}) }
      updates.push(u)
      end = updateEnd(u)
    }
    return { source, from, to: end + tail, updates }
  })

