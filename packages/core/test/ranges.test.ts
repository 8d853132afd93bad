import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fc from 'fast-check'
import { testSeed } from '@hearsay/core/testing'
import { coalesceRanges, splitRanges, toReplicaId, encodeWith, decodeWith, writeRanges, readRanges, type Range } from '@hearsay/core'
import { codec, rangeArb } from './helpers/ranges.ts'

const x = toReplicaId('x')
const roundTrip = (rs: Range<number>[]) => decodeWith(encodeWith((e) => writeRanges(e, rs, codec)), (d) => readRanges(d, codec))

test('contiguous pieces of one source join into one range', () => {
  const out = coalesceRanges<number>([
    { source: x, from: 0, to: 2, updates: [{ source: x, seq: 1, time: 1, op: 1 }, { source: x, seq: 2, time: 2, op: 2 }] },
    { source: x, from: 2, to: 3, updates: [{ source: x, seq: 3, time: 3, op: 3 }] },
  ])
  assert.equal(out.length, 1)
  assert.deepEqual([out[0]!.from, out[0]!.to, out[0]!.updates.length], [0, 3, 3])
  assert.deepEqual(roundTrip(out), out)
})

test('a run straddling the end of the previous piece keeps its piece apart, so the result still encodes', () => {
  const out = coalesceRanges<number>([
    { source: x, from: 0, to: 5, updates: [{ source: x, seq: 1, len: 5, time: 1, op: 1 }] },
    { source: x, from: 2, to: 8, updates: [{ source: x, seq: 3, len: 6, time: 2, op: 2 }] },
  ])
  assert.equal(out.length, 2)
  assert.deepEqual(roundTrip(out), out)
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

test('coalescing successive pieces keeps every seq, once, in ranges that still encode', () => {
  fc.assert(
    fc.property(rangeArb, fc.array(fc.nat(), { maxLength: 4 }), (whole, cuts) => {
      // Cut one range into successive pieces, as successive 'ranges' events deliver them, some
      // delivered twice in a row.
      const pieces = splitRanges([whole], Math.max(1, (cuts[0] ?? 0) % 5 + 1))
        .flat()
        .flatMap((p, i) => ((cuts[i + 1] ?? 0) % 2 === 1 ? [p, p] : [p]))
      const out = coalesceRanges(pieces)
      assert.deepEqual(out.flatMap((r) => r.updates), whole.updates)
      assert.ok(out.length <= pieces.length)
      if (whole.updates.every((u) => (u.len ?? 1) === 1)) assert.equal(out.length, 1, 'plain pieces join into one range')
      assert.deepEqual(roundTrip(out), out)
    }),
    { seed: testSeed(), numRuns: 300 },
  )
})
