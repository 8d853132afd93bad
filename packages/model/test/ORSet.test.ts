import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fc from 'fast-check'
import { createReplica, ErrorCodes, HearsayError, ORSetTypeId, type Range } from '@hearsay/core'
import { checkConvergence, withSeed } from '@hearsay/core/testing'
import { ORSet, type ORSetOp } from '@hearsay/model'
import { fuzzPeerBytes, roundTripFile, syncPair } from './helpers/common.ts'

/** Test-only invariant: every present element has live dots covered by the clock; size matches. */
export function checkORSet(s: ORSet<any>): void {
  const all = [...s.values()]
  assert.equal(all.length, s.size)
  for (const v of all) {
    const dots = s.dotsOf(v)
    assert.ok(dots.length > 0, 'a present element has a live add')
    for (const d of dots) assert.ok(d.seq <= s.clock.get(d.source))
  }
}

const elem = fc.constantFrom('a', 'b', 'c')
const opArb = fc.record({ add: fc.boolean(), v: elem })

test('ORSet converges under concurrent adds and removes', async () => {
  await checkConvergence((o) => new ORSet(o), opArb, {
    apply: (s, op) => (op.add ? s.add(op.v) : s.delete(op.v)),
    invariant: checkORSet,
  })
})

test('ORSet: concurrent add and remove, the add wins', () => {
  const a = new ORSet<string>({ id: 'a' })
  const b = new ORSet<string>({ id: 'b' })
  a.add('x')
  syncPair(a, b)
  // b removes what it saw; a concurrently adds x again.
  assert.equal(b.delete('x'), true)
  a.add('x')
  syncPair(a, b)
  assert.ok(a.has('x'))
  assert.ok(b.has('x'))
  assert.deepEqual(a.dotsOf('x'), [{ source: 'a', seq: 2 }])
  // A remove that has seen everything removes it everywhere.
  assert.equal(b.delete('x'), true)
  syncPair(a, b)
  assert.equal(a.has('x'), false)
  assert.equal(b.has('x'), false)
  assert.equal(a.delete('x'), false)
})

test('ORSet: a remove deletes only the adds it observed, from every source', () => {
  const a = new ORSet<string>({ id: 'a' })
  const b = new ORSet<string>({ id: 'b' })
  const c = new ORSet<string>({ id: 'c' })
  a.add('x')
  b.add('x')
  syncPair(a, b)
  c.add('x') // c's add is concurrent with the remove below
  a.delete('x') // observed a:1 and b:1
  syncPair(a, c)
  syncPair(b, c)
  syncPair(a, b)
  for (const s of [a, b, c]) {
    assert.ok(s.has('x'))
    assert.deepEqual(s.dotsOf('x'), [{ source: 'c', seq: 1 }])
  }
})

test('ORSet compaction: removed adds leave history, removes stay, late replicas still converge', () => {
  const a = new ORSet<string>({ id: 'a' })
  const b = new ORSet<string>({ id: 'b' })
  const c = new ORSet<string>({ id: 'c' })
  for (let i = 0; i < 50; i++) a.add('x') // re-adds supersede earlier adds of the same source
  syncPair(a, c) // c holds the add, then goes away
  syncPair(a, b)
  b.delete('x')
  syncPair(a, b)
  const count = (s: ORSet<string>) => s.historySince(new ORSet({ id: 'z' }).clock).reduce((n, r) => n + r.updates.length, 0)
  assert.equal(count(a), 1, 'only the remove is kept')
  assert.equal(a.removeCount, 1)
  // c comes back and learns from a's compacted history: the kept remove deletes its add.
  syncPair(c, a)
  assert.equal(c.has('x'), false)
  // A fresh replica gets the same state from the compacted history.
  const d = new ORSet<string>({ id: 'd' })
  d.applyState(a.encodeState())
  assert.equal(d.has('x'), false)
  assert.equal(Buffer.compare(d.encodeState(), c.encodeState()), 0)
})

test('ORSet compaction: a remove dominated by a later one leaves history; toggling keeps one', () => {
  const a = new ORSet<string>({ id: 'a' })
  const b = new ORSet<string>({ id: 'b' })
  for (let i = 0; i < 1000; i++) {
    a.add('flag')
    a.delete('flag')
  }
  assert.equal(a.removeCount, 1)
  // Removes that observed different sources both stay: each may be needed by some replica.
  b.add('x')
  syncPair(a, b)
  a.delete('x') // observed b:1
  a.add('x')
  b.applyRanges(a.historySince(b.clock))
  b.delete('x') // observed a's latest add only
  syncPair(a, b)
  assert.equal(a.has('x'), false)
  assert.equal(a.removeCount, 3)
  assert.equal(Buffer.compare(a.encodeState(), b.encodeState()), 0)
  const c = new ORSet<string>({ id: 'c' })
  c.applyState(a.encodeState())
  assert.deepEqual(c.toJSON(), a.toJSON())
  assert.equal(c.removeCount, 3)
})

test('ORSet: a remove waits in the causal buffer for the adds it observed', () => {
  const a = new ORSet<string>({ id: 'a' })
  const b = new ORSet<string>({ id: 'b' })
  const c = new ORSet<string>({ id: 'c' })
  a.add('x')
  syncPair(a, b)
  b.delete('x')
  // c receives b's remove before a's add.
  const fromB = b.historySince(c.clock).filter((r) => r.source === 'b')
  c.applyRanges(fromB)
  assert.equal(c.pendingCount, 1)
  assert.equal(c.clock.get('b'), 0)
  c.applyRanges(a.historySince(c.clock))
  assert.equal(c.pendingCount, 0)
  assert.equal(c.has('x'), false)
  assert.equal(c.clock.get('b'), 1)
})

test('ORSet refuses a remove that observes its own later add', () => {
  const t = new ORSet<string>({ id: 't' })
  const rejected: HearsayError[] = []
  t.on('rejected', (e: HearsayError) => rejected.push(e))
  const bad: Range<ORSetOp> = {
    source: 'p' as never,
    from: 0,
    to: 1,
    updates: [{ source: 'p' as never, seq: 1, time: 1024, op: { kind: 'remove', value: 'x', observed: [{ source: 'p' as never, seq: 5 }] } }],
  }
  t.applyRanges(t.decodeRanges(t.encodeRanges([bad])))
  assert.equal(rejected[0]?.code, ErrorCodes.INVALID_UPDATE)
  assert.equal(t.clock.get('p'), 0)
  assert.equal(t.removeCount, 0)
})

test('ORSet values are compared as data and checked at the call', () => {
  const s = new ORSet<any>({ id: 'a' })
  s.add({ a: 1, b: [2] })
  assert.ok(s.has({ b: [2], a: 1 }))
  assert.equal(s.delete({ b: [2], a: 1 }), true)
  assert.equal(s.size, 0)
  assert.throws(() => s.add(undefined), TypeError)
  assert.throws(() => s.delete(() => 1), TypeError)
})

test('ORSet round-trips through a file and refuses fuzzed bytes', async () => {
  const s = new ORSet<any>({ id: 'a' })
  for (let i = 0; i < 100; i++) s.add(i % 10)
  for (let i = 0; i < 5; i++) s.delete(i)
  await roundTripFile(s, (o) => new ORSet(o))
  await withSeed('ORSet fuzz', (rng) => {
    const t = new ORSet<any>({ id: 't' })
    fuzzPeerBytes(t, s.encodeRanges(s.historySince(t.clock)), rng)
    checkORSet(t)
  })
  assert.ok(createReplica(ORSetTypeId) instanceof ORSet)
})
