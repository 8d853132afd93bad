import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fc from 'fast-check'
import { createReplica, LWWRegisterTypeId } from '@hearsay/core'
import { checkConvergence, withSeed } from '@hearsay/core/testing'
import { LWWRegister } from '@hearsay/model'
import { fuzzPeerBytes, roundTripFile, syncPair } from './helpers/common.ts'

/** Test-only invariant: the value is the winner's, and the winner is covered by the clock. */
export function checkRegister(r: LWWRegister<any>): void {
  const w = r.winner
  if (w === undefined) return assert.equal(r.get(), undefined)
  assert.equal(r.get(), w.op)
  assert.ok(w.seq <= r.clock.get(w.source))
}

test('LWWRegister converges under concurrent sets', async () => {
  await checkConvergence((o) => new LWWRegister(o), fc.oneof(fc.integer(), fc.string({ maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 2 }), fc.integer(), { maxKeys: 2 })), {
    apply: (r, v) => r.set(v),
    invariant: checkRegister,
  })
})

test('LWWRegister set/get/change; history is one update', () => {
  const r = new LWWRegister<string>({ id: 'a' })
  const seen: string[] = []
  r.on('change', (v: string) => seen.push(v))
  assert.equal(r.get(), undefined)
  assert.equal(r.toJSON(), null)
  for (let i = 0; i < 1000; i++) r.set(`v${i}`)
  assert.equal(r.get(), 'v999')
  assert.equal(seen.length, 1000)
  const ranges = r.historySince(new LWWRegister({ id: 'b' }).clock)
  assert.equal(ranges[0]!.updates.length, 1)
  assert.equal(ranges[0]!.to, 1000)
})

test('LWWRegister ties broken by source; the later write wins', () => {
  const now = () => 42
  const a = new LWWRegister<string>({ id: 'a', now })
  const b = new LWWRegister<string>({ id: 'b', now })
  a.set('A')
  b.set('B')
  syncPair(a, b)
  assert.equal(a.get(), 'B')
  assert.equal(b.get(), 'B')
})

test('LWWRegister refuses non-replicable values at the call', () => {
  const r = new LWWRegister<any>({ id: 'a' })
  assert.throws(() => r.set(undefined), TypeError)
  assert.throws(() => r.set(Infinity), /Infinity/)
  assert.throws(() => r.set([1, () => 2]), /value\[1\]/)
  assert.throws(() => r.set(Symbol('x')), TypeError)
  assert.equal(r.clock.get('a'), 0)
})

test('LWWRegister round-trips through a file and refuses fuzzed bytes', async () => {
  const r = new LWWRegister<any>({ id: 'a' })
  r.set({ deep: [1, { x: 'y' }] })
  await roundTripFile(r, (o) => new LWWRegister(o))
  await withSeed('LWWRegister fuzz', (rng) => {
    const t = new LWWRegister<any>({ id: 't' })
    t.set('mine')
    fuzzPeerBytes(t, r.encodeRanges(r.historySince(t.clock)), rng)
    checkRegister(t)
  })
  assert.ok(createReplica(LWWRegisterTypeId) instanceof LWWRegister)
})
