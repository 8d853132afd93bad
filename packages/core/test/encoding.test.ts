import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fc from 'fast-check'
import { assertValue, isValue, packValue, unpackValue, encodeWith, decodeWith, encoding, readSafeUint, readValue, writeValue, readCount, isHearsayError, ErrorCodes } from '@hearsay/core'
import { testSeed } from '@hearsay/core/testing'

test('var-uint bytes are exactly lib0 LEB128 (golden table)', () => {
  const table: Array<[number, number[]]> = [
    [0, [0]],
    [1, [1]],
    [127, [127]],
    [128, [128, 1]],
    [300, [172, 2]],
    [16384, [128, 128, 1]],
    [2 ** 32, [128, 128, 128, 128, 16]],
    [Number.MAX_SAFE_INTEGER, [255, 255, 255, 255, 255, 255, 255, 15]],
  ]
  for (const [n, bytes] of table) {
    const b = encodeWith((e) => encoding.writeVarUint(e, n))
    assert.deepEqual([...b], bytes, `encoding of ${n}`)
    assert.equal(decodeWith(b, readSafeUint), n)
  }
})

test('values that replicate are accepted and round-trip through msgpack', () => {
  const arb = fc.jsonValue().filter((v) => isValue(v))
  fc.assert(
    fc.property(arb, (v) => {
      assertValue(v)
      assert.deepEqual(unpackValue(packValue(v)), v)
    }),
    { seed: testSeed(), numRuns: 300 },
  )
  const bytes = new Uint8Array([1, 2, 3])
  const back = unpackValue(packValue({ b: bytes }))
  assert.deepEqual(back, { b: bytes })
  assert.equal(Object.getPrototypeOf((back as { b: Uint8Array }).b), Uint8Array.prototype)
})

test('values that would not survive replication are refused at the call with a TypeError', () => {
  const bad: unknown[] = [undefined, () => 1, Symbol('s'), 1n, NaN, Infinity, -0, new Date(), new Map(), new Set(), [1, undefined], { a: undefined }, [, 1], new (class X {})()]
  for (const v of bad) assert.throws(() => assertValue(v), TypeError, `should refuse ${String(v)}`)
  const proto = JSON.parse('{"__proto__": {"x": 1}}')
  assert.throws(() => assertValue(proto), /__proto__/)
  let deep: unknown = 1
  for (let i = 0; i < 100; i++) deep = [deep]
  assert.throws(() => assertValue(deep), /nests deeper/)
  assert.throws(() => assertValue({ nested: { fn: () => 1 } }), /value\.nested\.fn/)
})

test('peer values of another kind are refused with a typed decode error', () => {
  // msgpack ext -1 (timestamp) decodes to a Date: not a replicable value.
  const date = new Uint8Array([0xd6, 0xff, 0, 0, 0, 1])
  assert.throws(() => unpackValue(date), (e) => isHearsayError(e, ErrorCodes.DECODE_ERROR))
  assert.throws(() => unpackValue(new Uint8Array([0xc1])), (e) => isHearsayError(e, ErrorCodes.DECODE_ERROR))
  const wrapped = encodeWith((e) => encoding.writeVarUint8Array(e, date))
  assert.throws(() => decodeWith(wrapped, readValue), (e) => isHearsayError(e, ErrorCodes.DECODE_ERROR) && e.offset === 0)
})

test('decodeWith reports truncation, trailing bytes and hostile counts with offsets', () => {
  const b = encodeWith((e) => writeValue(e, { hello: 'world' }))
  assert.deepEqual(decodeWith(b, readValue), { hello: 'world' })
  assert.throws(() => decodeWith(b.subarray(0, b.length - 1), readValue), (e) => isHearsayError(e, ErrorCodes.DECODE_ERROR))
  const extra = new Uint8Array([...b, 0])
  assert.throws(() => decodeWith(extra, readValue), (e) => isHearsayError(e, ErrorCodes.DECODE_ERROR) && e.offset === b.length)
  assert.throws(() => decodeWith(new Uint8Array([0xff, 0xff, 0xff, 0x7f]), (d) => readCount(d)), (e) => isHearsayError(e, ErrorCodes.DECODE_ERROR) && e.offset === 0)
})

test('encodeWith reuses its encoder safely: copies out, nests, survives throws and big writes', () => {
  // Results never share the kept buffer.
  const a = encodeWith((e) => encoding.writeVarString(e, 'first'))
  const b = encodeWith((e) => encoding.writeVarString(e, 'other'))
  assert.equal(a.length, 6)
  assert.equal(new TextDecoder().decode(a.subarray(1)), 'first')
  assert.equal(new TextDecoder().decode(b.subarray(1)), 'other')
  a[1] = 0
  assert.equal(new TextDecoder().decode(encodeWith((e) => encoding.writeVarString(e, 'third')).subarray(1)), 'third')
  // A write that encodes something itself gets its own encoder.
  const outer = encodeWith((e) => {
    encoding.writeVarUint(e, 1)
    const inner = encodeWith((f) => encoding.writeVarString(f, 'inner'))
    encoding.writeVarUint8Array(e, inner)
    encoding.writeVarUint(e, 2)
  })
  assert.deepEqual([...outer], [1, 6, 5, ...new TextEncoder().encode('inner'), 2])
  // A throwing write leaves nothing behind for the next call.
  assert.throws(() => encodeWith((e) => {
    encoding.writeVarString(e, 'partial')
    throw new Error('boom')
  }), /boom/)
  assert.deepEqual([...encodeWith((e) => encoding.writeVarUint(e, 7))], [7])
  // Writes past the first buffer, small and big, come out whole.
  for (const n of [99, 100, 101, 5000, 200_000]) {
    const bytes = new Uint8Array(n).map((_, i) => i % 251)
    const out = encodeWith((e) => encoding.writeUint8Array(e, bytes))
    assert.deepEqual(out, bytes)
    assert.deepEqual([...encodeWith((e) => encoding.writeVarUint(e, 3))], [3])
  }
})
