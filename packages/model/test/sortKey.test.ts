import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fc from 'fast-check'
import { testSeed } from '@hearsay/core/testing'
import { sortKeyBetween, sortTag } from '../src/sortKey.ts'

test('sortKeyBetween gives a key strictly between its bounds for any strings', () => {
  const seed = testSeed()
  fc.assert(
    fc.property(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), fc.constantFrom('', 'xQ', sortTag('r1')), (x, y, tag) => {
      const lo = x < y ? x : y
      const hi = x < y ? y : x
      const k = sortKeyBetween(lo, hi === lo ? undefined : hi, tag)
      assert.ok(k > lo, `${JSON.stringify(k)} > ${JSON.stringify(lo)}`)
      if (hi !== lo && !(hi.length === lo.length + 1 && hi.startsWith(lo) && hi.charCodeAt(lo.length) <= 48)) assert.ok(k < hi, `${JSON.stringify(k)} < ${JSON.stringify(hi)}`)
    }),
    { seed, numRuns: 2000 },
  )
})

test('sortKeyBetween keeps appends and prepends short', () => {
  let k = ''
  for (let i = 0; i < 1000; i++) k = sortKeyBetween(k, undefined, 'ab')
  assert.ok(k.length < 40, k)
  let lo = sortKeyBetween('', undefined, 'ab')
  for (let i = 0; i < 100; i++) {
    const next = sortKeyBetween('', lo, 'ab')
    assert.ok(next < lo)
    lo = next
  }
  assert.ok(lo.length < 200)
})

test('sortTag is two alphabet chars, never ending in the lowest one', () => {
  for (const id of ['a', 'b', 'replica-1', '😀']) {
    const t = sortTag(id)
    assert.match(t, /^[0-9A-Za-z][1-9A-Za-z]$/)
    assert.equal(sortTag(id), t)
  }
})
