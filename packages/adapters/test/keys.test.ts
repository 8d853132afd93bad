import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fc from 'fast-check'
import { testSeed } from '@hearsay/core/testing'
import {
  LAYOUT_VERSION,
  batchKey,
  batchOfKey,
  dataEnd,
  dataStart,
  decodeObjectRecord,
  decodeSnapshotRecord,
  encodeHeader,
  encodeObjectRecord,
  encodeSnapshotRecord,
  headerKey,
  metaKey,
  objectKey,
  snapshotKey,
} from '../src/level/keys.ts'

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

test('key layout v1 is byte-exact (golden values; see PROTOCOL.md)', () => {
  assert.equal(LAYOUT_VERSION, 1)
  assert.equal(hex(headerKey()), '0168')
  assert.equal(hex(encodeHeader()), Buffer.from('hearsay').toString('hex') + '01')
  assert.equal(hex(objectKey('doc')), '016f' + Buffer.from('doc').toString('hex'))
  assert.equal(hex(metaKey('node-id')), '016d' + Buffer.from('node-id').toString('hex'))
  assert.equal(hex(snapshotKey(0x01020304)), '01640102030400')
  assert.equal(hex(batchKey(7, 0x0102030405)), '016400000007' + '01' + '0000000102030405')
  assert.equal(hex(batchKey(1, Number.MAX_SAFE_INTEGER)), '016400000001' + '01' + '001fffffffffffff')
  assert.equal(hex(dataStart(2)), '016400000002')
  assert.equal(hex(dataEnd(2)), '016400000002ff')
  assert.equal(hex(encodeObjectRecord(5, 10)), '000000050000000a')
  assert.deepEqual(decodeObjectRecord(encodeObjectRecord(5, 10)), { handle: 5, typeId: 10 })
  const snap = encodeSnapshotRecord(300, Uint8Array.of(9, 9))
  assert.equal(hex(snap), '000000000000012c0909')
  assert.equal(decodeSnapshotRecord(snap).cutoff, 300)
})

test('batch keys sort in numeric order and stay inside their object data section', () => {
  const cmp = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b)
  fc.assert(
    fc.property(fc.nat({ max: 0xffff_ffff }), fc.nat({ max: 0xffff_ffff }), fc.maxSafeNat(), fc.maxSafeNat(), (h1, h2, n1, n2) => {
      const a = batchKey(h1, n1)
      const b = batchKey(h2, n2)
      const expected = h1 !== h2 ? Math.sign(h1 - h2) : Math.sign(n1 - n2)
      assert.equal(Math.sign(cmp(a, b)), expected)
      assert.equal(batchOfKey(a), n1)
      assert.ok(cmp(dataStart(h1), snapshotKey(h1)) < 0 && cmp(snapshotKey(h1), a) < 0 && cmp(a, dataEnd(h1)) < 0)
    }),
    { seed: testSeed(), numRuns: 500 },
  )
})
