import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fc from 'fast-check'
import { encodeWith, decodeWith, writeRanges, readRanges, toReplicaId, isHearsayError, ErrorCodes } from '@hearsay/core'
import { testSeed } from '@hearsay/core/testing'
import { codec, rangeArb } from './helpers/ranges.ts'

test('ranges round-trip through their encoding exactly', () => {
  fc.assert(
    fc.property(fc.array(rangeArb, { maxLength: 4 }), (ranges) => {
      const bytes = encodeWith((e) => writeRanges(e, ranges, codec))
      assert.deepEqual(decodeWith(bytes, (d) => readRanges(d, codec)), ranges)
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
