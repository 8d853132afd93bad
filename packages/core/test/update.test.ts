import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fc from 'fast-check'
import { encodeWith, decodeWith, writeRanges, readRanges, splitRanges, toReplicaId, encoding, decoding, readSafeUint, isHearsayError, ErrorCodes, updateEnd, type Range, type Update, type OpCodec } from '@hearsay/core'
import { testSeed } from '@hearsay/core/testing'

const codec: OpCodec<number> = { write: (e, op) => encoding.writeVarUint(e, op), read: (d: decoding.Decoder) => readSafeUint(d) }
const sources = ['a', 'b', 'zz'].map(toReplicaId)

const rangeArb: fc.Arbitrary<Range<number>> = fc
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

test('ranges round-trip through their encoding exactly', () => {
  fc.assert(
    fc.property(fc.array(rangeArb, { maxLength: 4 }), (ranges) => {
      const bytes = encodeWith((e) => writeRanges(e, ranges, codec))
      assert.deepEqual(decodeWith(bytes, (d) => readRanges(d, codec)), ranges)
    }),
    { seed: testSeed(), numRuns: 300 },
  )
})

test('splitting ranges keeps every update and contiguous coverage', () => {
  fc.assert(
    fc.property(fc.array(rangeArb, { maxLength: 4 }), fc.integer({ min: 1, max: 5 }), (ranges, max) => {
      const chunks = splitRanges(ranges, max)
      const flat = chunks.flat()
      for (const c of chunks) assert.ok(c.reduce((n, r) => n + r.updates.length, 0) <= max)
      assert.deepEqual(flat.flatMap((r) => r.updates), ranges.flatMap((r) => r.updates))
      // Pieces of one range chain (from, a], (a, b], ... (z, to].
      let k = 0
      for (const r of ranges) {
        let at = r.from
        while (k < flat.length && flat[k]!.source === r.source && flat[k]!.from === at && at < r.to) {
          at = flat[k]!.to
          k++
          if (at === r.to) break
        }
        if (r.from < r.to) assert.equal(at, r.to)
        else k++
      }
    }),
    { seed: testSeed(), numRuns: 300 },
  )
})

test('an update outside its range, or a self-dependency on a later seq, is a decode error', () => {
  const a = toReplicaId('a')
  const bad = encodeWith((e) => writeRanges(e, [{ source: a, from: 0, to: 1, updates: [{ source: a, seq: 2, time: 5, op: 1 }] }], codec))
  assert.throws(() => decodeWith(bad, (d) => readRanges(d, codec)), (e) => isHearsayError(e, ErrorCodes.DECODE_ERROR))
  const selfDep = encodeWith((e) => writeRanges(e, [{ source: a, from: 0, to: 1, updates: [{ source: a, seq: 1, time: 5, op: 1, deps: [{ source: a, seq: 1 }] }] }], codec))
  assert.throws(() => decodeWith(selfDep, (d) => readRanges(d, codec)), (e) => isHearsayError(e, ErrorCodes.DECODE_ERROR))
})
