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
    { seed, numRuns: 5000 },
  )
})

test('sortKeyBetween keeps appends and prepends short: 100k of each need a few chars', () => {
  let k = ''
  for (let i = 0; i < 100_000; i++) {
    const next = sortKeyBetween(k, undefined, 'ab')
    assert.ok(next > k)
    k = next
  }
  assert.ok(k.length <= 12, k)
  let lo = sortKeyBetween('', undefined, 'ab')
  for (let i = 0; i < 100_000; i++) {
    const next = sortKeyBetween('', lo, 'ab')
    assert.ok(next < lo && next > '')
    lo = next
  }
  assert.ok(lo.length <= 16, lo)
})

test('sortKeyBetween handles keys with chars outside its alphabet', () => {
  for (const lo of ['z[5', '~', '{{', 'a\u0000', 'Z~z', '']) {
    for (const hi of [undefined, lo + 'x', '\uffff']) {
      const k = sortKeyBetween(lo, hi, 'ab')
      assert.ok(k > lo, `${JSON.stringify(k)} > ${JSON.stringify(lo)}`)
      if (hi !== undefined && hi > lo) assert.ok(k < hi, `${JSON.stringify(k)} < ${JSON.stringify(hi)}`)
    }
  }
})

test('sortTag is two alphabet chars, never ending in the lowest one', () => {
  for (const id of ['a', 'b', 'replica-1', '😀']) {
    const t = sortTag(id)
    assert.match(t, /^[0-9A-Za-z][1-9A-Za-z]$/)
    assert.equal(sortTag(id), t)
  }
})
