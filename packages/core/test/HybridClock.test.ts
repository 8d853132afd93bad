import { test } from 'node:test'
import assert from 'node:assert/strict'
import { HybridClock, TICKS_PER_MS, hybridTimeToMs } from '@hearsay/core'

test('now() is strictly increasing even when the wall clock stalls or goes back', () => {
  let wall = 1000
  const c = new HybridClock({ now: () => wall })
  const seen: number[] = []
  for (let i = 0; i < 3000; i++) {
    if (i === 1500) wall = 500
    seen.push(c.now())
  }
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! > seen[i - 1]!)
  assert.equal(hybridTimeToMs(seen[0]!), 1000)
})

test('receive() advances the clock past a remote time within the drift bound', () => {
  let wall = 10_000
  const c = new HybridClock({ now: () => wall, maxDrift: 60_000 })
  const remote = (wall + 30_000) * TICKS_PER_MS
  assert.equal(c.receive(remote), true)
  assert.ok(c.now() > remote)
  wall += 1
  assert.ok(c.now() > remote)
})

test('a remote time beyond the drift bound is refused and does not move the clock', () => {
  let wall = 10_000
  const c = new HybridClock({ now: () => wall, maxDrift: 60_000 })
  const before = c.now()
  const hourAhead = (wall + 3_600_000) * TICKS_PER_MS
  assert.equal(c.accepts(hourAhead), false)
  assert.equal(c.receive(hourAhead), false)
  assert.ok(c.now() < hourAhead)
  assert.ok(c.last >= before)
  // Once our wall clock is within the bound it is accepted.
  wall += 3_600_000 - 60_000
  assert.equal(c.receive(hourAhead), true)
})
