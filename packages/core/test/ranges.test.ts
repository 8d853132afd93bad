import { test } from 'node:test'
import assert from 'node:assert/strict'
import { coalesceRanges, toReplicaId, encodeWith, decodeWith, writeRanges, readRanges, encoding, readSafeUint, type Range, type OpCodec } from '@hearsay/core'

const x = toReplicaId('x')
const codec: OpCodec<number> = { write: (e, op) => encoding.writeVarUint(e, op), read: (d) => readSafeUint(d) }
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
