import { test } from 'node:test'
import assert from 'node:assert/strict'
import { canonicalValue, freezeValue, valueKey } from '../src/values.ts'

test('canonicalValue sorts object keys deeply; valueKey identifies data', () => {
  const a = { b: [{ y: 1, x: 2 }], a: null }
  const c = canonicalValue(a)
  assert.deepEqual(Object.keys(c as object), ['a', 'b'])
  assert.equal(valueKey(c), valueKey(canonicalValue({ a: null, b: [{ x: 2, y: 1 }] })))
  assert.notEqual(valueKey(1), valueKey('1'))
  assert.notEqual(valueKey([1, 2]), valueKey([2, 1]))
})

test('freezeValue copies and deep-freezes objects, leaves primitives alone', () => {
  const o = { list: [1, { n: 2 }], bytes: new Uint8Array([1]) }
  const f = freezeValue(o)
  assert.notEqual(f, o)
  assert.ok(Object.isFrozen(f) && Object.isFrozen(f.list) && Object.isFrozen(f.list[1]))
  assert.deepEqual(f, o)
  assert.notEqual(f.bytes, o.bytes)
  assert.equal(freezeValue('s'), 's')
})
