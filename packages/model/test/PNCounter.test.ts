import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fc from 'fast-check'
import { createReplica, PNCounterTypeId } from '@hearsay/core'
import { checkConvergence, withSeed } from '@hearsay/core/testing'
import { PNCounter } from '@hearsay/model'
import { fuzzPeerBytes, roundTripFile, syncPair } from './helpers/common.ts'

/** Test-only invariant: the value is the sum of the per-source totals, all safe integers. */
export function checkCounter(c: PNCounter): void {
  let sum = 0
  for (const t of Object.values(c.totals())) {
    assert.ok(Number.isSafeInteger(t))
    sum += t
  }
  assert.equal(c.value, sum)
}

test('PNCounter converges under concurrent increments and decrements', async () => {
  await checkConvergence((o) => new PNCounter(o), fc.integer({ min: -1000, max: 1000 }), {
    apply: (c, n) => (n % 2 === 0 ? c.increment(n) : c.decrement(n)),
    invariant: checkCounter,
  })
})

test('PNCounter counts and keeps one cumulative update per source', () => {
  const a = new PNCounter({ id: 'a' })
  const b = new PNCounter({ id: 'b' })
  for (let i = 0; i < 10_000; i++) a.increment()
  a.decrement(3)
  b.increment(-5).increment(2)
  syncPair(a, b)
  assert.equal(a.value, 9994)
  assert.equal(b.value, 9994)
  const updates = a.historySince(new PNCounter({ id: 'z' }).clock).map((r) => r.updates.length)
  assert.deepEqual(updates, [1, 1])
  assert.deepEqual(a.totals(), { a: 9997, b: -3 })
})

test('PNCounter refuses non-integers and unsafe values with RangeError', () => {
  const c = new PNCounter({ id: 'a' })
  assert.throws(() => c.increment(1.5), RangeError)
  assert.throws(() => c.increment(NaN), RangeError)
  assert.throws(() => c.increment(Number.MAX_SAFE_INTEGER + 1), RangeError)
  assert.throws(() => c.decrement('1' as never), RangeError)
  c.increment(Number.MAX_SAFE_INTEGER)
  assert.throws(() => c.increment(1), RangeError)
  assert.equal(c.value, Number.MAX_SAFE_INTEGER)
  c.increment(0)
  assert.equal(c.clock.get('a'), 1)
})

test('PNCounter round-trips through a file and refuses fuzzed bytes', async () => {
  const c = new PNCounter({ id: 'a' })
  c.increment(123456789).decrement(42)
  await roundTripFile(c, (o) => new PNCounter(o))
  await withSeed('PNCounter fuzz', (rng) => {
    const t = new PNCounter({ id: 't' })
    t.increment(7)
    fuzzPeerBytes(t, c.encodeRanges(c.historySince(t.clock)), rng)
    checkCounter(t)
  })
  assert.ok(createReplica(PNCounterTypeId) instanceof PNCounter)
})
