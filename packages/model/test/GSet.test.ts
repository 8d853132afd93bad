import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fc from 'fast-check'
import { createReplica, GSetTypeId } from '@hearsay/core'
import { checkConvergence, withSeed } from '@hearsay/core/testing'
import { GSet } from '@hearsay/model'
import { fuzzPeerBytes, roundTripFile, syncPair } from './helpers/common.ts'

/** Test-only invariant: size matches iteration, every element is found by has(). */
export function checkGSet(s: GSet<any>): void {
  const all = [...s.values()]
  assert.equal(all.length, s.size)
  for (const v of all) assert.ok(s.has(v))
}

const elem = fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constantFrom('a', 'b'), fc.constantFrom({ x: 1, y: 2 }, { y: 2, x: 1 }, [1, 2]))

test('GSet converges under concurrent adds', async () => {
  await checkConvergence((o) => new GSet(o), elem, { apply: (s, v) => s.add(v), invariant: checkGSet })
})

test('GSet compares elements as data and writes nothing for a present element', () => {
  const s = new GSet<any>({ id: 'a' })
  const added: unknown[] = []
  s.on('add', (v: unknown) => added.push(v))
  s.add({ x: 1, y: 2 })
  s.add({ y: 2, x: 1 })
  s.add('a').add('a')
  assert.equal(s.size, 2)
  assert.equal(s.clock.get('a'), 2)
  assert.ok(s.has({ y: 2, x: 1 }))
  assert.deepEqual(added, [{ x: 1, y: 2 }, 'a'])
  assert.throws(() => s.add(new Set() as never), /Set/)
})

test('GSet concurrent adds of one element keep one update in history', () => {
  const a = new GSet<string>({ id: 'a' })
  const b = new GSet<string>({ id: 'b' })
  a.add('x')
  b.add('x')
  syncPair(a, b)
  const n = (s: GSet<string>) => s.historySince(new GSet({ id: 'z' }).clock).reduce((k, r) => k + r.updates.length, 0)
  assert.equal(n(a), 1)
  assert.equal(n(b), 1)
  assert.equal(Buffer.compare(a.encodeState(), b.encodeState()), 0)
})

test('GSet round-trips through a file and refuses fuzzed bytes', async () => {
  const s = new GSet<any>({ id: 'a' })
  for (let i = 0; i < 200; i++) s.add(i % 2 ? i : { i })
  await roundTripFile(s, (o) => new GSet(o))
  await withSeed('GSet fuzz', (rng) => {
    const t = new GSet<any>({ id: 't' })
    fuzzPeerBytes(t, s.encodeRanges(s.historySince(t.clock)), rng)
    checkGSet(t)
  })
  assert.ok(createReplica(GSetTypeId) instanceof GSet)
})
