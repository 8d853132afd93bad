import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fc from 'fast-check'
import { VersionVector, encodeVersionVector, readVersionVector, decodeWith, toReplicaId, isHearsayError, ErrorCodes } from '@hearsay/core'
import { testSeed } from '@hearsay/core/testing'

const vec = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), fc.nat({ max: 5 })).map((o) => new VersionVector(o))

test('compare answers before, after, equal and concurrent', () => {
  const a = new VersionVector({ x: 1, y: 2 })
  assert.equal(a.compare(new VersionVector({ x: 1, y: 2 })), 'equal')
  assert.equal(a.compare(new VersionVector({ x: 2, y: 2 })), 'before')
  assert.equal(a.compare(new VersionVector({ x: 1 })), 'after')
  assert.equal(a.compare(new VersionVector({ x: 2, y: 1 })), 'concurrent')
  assert.equal(new VersionVector().compare(new VersionVector({ z: 1 })), 'before')
})

test('zero entries are not stored, so equal vectors encode equally', () => {
  const a = new VersionVector({ b: 2, a: 1, c: 0 })
  const b = new VersionVector()
  b.set('a', 1)
  b.set('b', 2)
  b.set('d', 3)
  b.set('d', 0)
  assert.deepEqual(encodeVersionVector(a), encodeVersionVector(b))
  assert.equal(a.size, 2)
  assert.deepEqual(a.toJSON(), { a: 1, b: 2 })
})

test('covers, advance, set validation', () => {
  const v = new VersionVector({ a: 3 })
  assert.ok(v.covers({ source: toReplicaId('a'), seq: 3 }))
  assert.ok(!v.covers({ source: toReplicaId('a'), seq: 4 }))
  assert.ok(!v.covers({ source: toReplicaId('b'), seq: 1 }))
  assert.equal(v.advance('a', 2), false)
  assert.equal(v.advance('a', 5), true)
  assert.throws(() => v.set('a', -1), RangeError)
  assert.throws(() => v.set('a', 1.5), RangeError)
})

test('laws: merge is commutative, associative, idempotent; compare agrees with merge; encoding round-trips', () => {
  fc.assert(
    fc.property(vec, vec, vec, (a, b, c) => {
      const ab = a.clone().merge(b)
      assert.equal(ab.compare(b.clone().merge(a)), 'equal')
      assert.equal(a.clone().merge(b).merge(c).compare(a.clone().merge(b.clone().merge(c))), 'equal')
      assert.equal(a.clone().merge(a).compare(a), 'equal')
      const cmp = a.compare(b)
      const aLeB = ab.compare(b) === 'equal'
      const bLeA = ab.compare(a) === 'equal'
      assert.equal(cmp, aLeB && bLeA ? 'equal' : aLeB ? 'before' : bLeA ? 'after' : 'concurrent')
      const back = decodeWith(encodeVersionVector(a), readVersionVector)
      assert.equal(back.compare(a), 'equal')
    }),
    { seed: testSeed(), numRuns: 300 },
  )
})

test('decoding rejects truncated and hostile vectors with typed errors', () => {
  const bytes = encodeVersionVector(new VersionVector({ alpha: 7, beta: 9 }))
  for (let n = 0; n < bytes.length; n++) {
    assert.throws(() => decodeWith(bytes.subarray(0, n), readVersionVector), (e) => isHearsayError(e, ErrorCodes.DECODE_ERROR))
  }
  // A count of a billion entries in a 3-byte payload is refused before allocating.
  assert.throws(() => decodeWith(new Uint8Array([0x80, 0x94, 0xeb, 0xdc, 0x03]), readVersionVector), (e) => isHearsayError(e, ErrorCodes.DECODE_ERROR) && e.offset === 0)
})
