import { test } from 'node:test'
import assert from 'node:assert/strict'
import { toReplicaId, isHearsayError, ErrorCodes, TICKS_PER_MS, HearsayError, type Range, type Update } from '@hearsay/core'
import { TestGSet } from './helpers/types.ts'

const x = toReplicaId('x')
const y = toReplicaId('y')
const T0 = 1_700_000_000_000
const now = () => T0
const up = (source = x, seq: number, op: string, extra: Partial<Update<string>> = {}): Update<string> => ({ source, seq, time: T0 * TICKS_PER_MS + seq, op, ...extra })
const range = (source = x, from: number, to: number, updates: Update<string>[]): Range<string> => ({ source, from, to, updates })

test('local writes stamp consecutive seqs and emit update and ranges', () => {
  const s = new TestGSet({ id: 'a', now })
  const updates: Update<string>[] = []
  const ranges: Range<string>[][] = []
  s.on('update', (u, origin) => (assert.equal(origin, 'local'), updates.push(u)))
  s.on('ranges', (r) => ranges.push(r))
  s.add('p')
  s.add('q')
  assert.deepEqual(updates.map((u) => u.seq), [1, 2])
  assert.deepEqual(ranges.map((r) => [r[0]!.from, r[0]!.to]), [[0, 1], [1, 2]])
  assert.equal(s.clock.get('a'), 2)
  assert.ok(updates[1]!.time > updates[0]!.time)
})

test('a range that starts past the clock waits in the causal buffer until its predecessor arrives', () => {
  const s = new TestGSet({ id: 'a', now })
  const r2 = range(x, 1, 2, [up(x, 2, 'second')])
  const r1 = range(x, 0, 1, [up(x, 1, 'first')])
  const res = s.applyRanges([r2])
  assert.equal(res.applied, 0)
  assert.equal(s.pendingCount, 1)
  assert.equal(s.has('second'), false)
  const seen: string[] = []
  s.on('update', (u: Update<string>) => seen.push(u.op))
  s.applyRanges([r1])
  assert.deepEqual(seen, ['first', 'second'])
  assert.equal(s.pendingCount, 0)
  assert.equal(s.clock.get('x'), 2)
})

test('a compacted range covers its whole width; duplicates are counted, not applied', () => {
  const s = new TestGSet({ id: 'a', now })
  s.applyRanges([range(x, 0, 10, [up(x, 4, 'four'), up(x, 9, 'nine')])])
  assert.equal(s.clock.get('x'), 10)
  const again = s.applyRanges([range(x, 0, 10, [up(x, 4, 'four'), up(x, 9, 'nine')]), range(x, 5, 10, [up(x, 9, 'nine')])])
  assert.equal(again.applied, 0)
  assert.equal(again.duplicates, 3)
  assert.equal(s.stats.duplicates, 3)
})

test('an update whose dependency is missing waits, and the range is split so no deadlock occurs', () => {
  // x:2 needs y:1, and y:1 needs x:1: ranges arrive whole, each blocked on the other.
  const s = new TestGSet({ id: 'a', now })
  const rx = range(x, 0, 2, [up(x, 1, 'x1'), up(x, 2, 'x2', { deps: [{ source: y, seq: 1 }] })])
  const ry = range(y, 0, 1, [up(y, 1, 'y1', { deps: [{ source: x, seq: 1 }] })])
  s.applyRanges([rx])
  assert.equal(s.clock.get('x'), 1)
  assert.ok(s.has('x1') && !s.has('x2'))
  assert.equal(s.pendingCount, 1)
  const order: string[] = []
  s.on('update', (u: Update<string>) => order.push(u.op))
  s.applyRanges([ry])
  assert.deepEqual(order, ['y1', 'x2'])
  assert.equal(s.pendingCount, 0)
  assert.deepEqual(s.toJSON(), ['x1', 'x2', 'y1'])
})

test('a full causal buffer drops the range with BUFFER_OVERFLOW; it is fetched again later', () => {
  const s = new TestGSet({ id: 'a', now, maxPending: 2 })
  const errors: HearsayError[] = []
  s.on('rejected', (e: HearsayError) => errors.push(e))
  s.applyRanges([range(x, 1, 2, [up(x, 2, 'b')]), range(x, 2, 3, [up(x, 3, 'c')]), range(x, 3, 4, [up(x, 4, 'd')])])
  assert.equal(s.pendingCount, 2)
  assert.equal(s.overflowCount, 1)
  assert.ok(errors.some((e) => e.code === ErrorCodes.BUFFER_OVERFLOW))
  // The next digest exchange sends the history since our clock again.
  const source = new TestGSet({ id: 'x', now })
  for (const item of ['a', 'b', 'c', 'd']) source.add(item)
  s.applyRanges(source.historySince(s.clock))
  assert.deepEqual(s.toJSON(), ['a', 'b', 'c', 'd'])
  assert.equal(s.pendingCount, 0)
})

test('an update timed beyond the drift bound is refused, reported and counted, and accepted once in range', () => {
  let wall = T0
  const s = new TestGSet({ id: 'a', now: () => wall })
  const errors: HearsayError[] = []
  s.on('rejected', (e: HearsayError) => errors.push(e))
  const ahead = (T0 + 3_600_000) * TICKS_PER_MS
  const res = s.applyRanges([range(x, 0, 2, [up(x, 1, 'ok'), up(x, 2, 'future', { time: ahead })])])
  assert.equal(res.applied, 1)
  assert.equal(res.refused, 1)
  assert.equal(s.clock.get('x'), 1)
  assert.ok(!s.has('future'))
  assert.equal(errors[0]!.code, ErrorCodes.CLOCK_DRIFT)
  assert.equal(s.stats.driftRefused, 1)
  assert.ok(s.hlc.last < ahead, 'our clock was not dragged forward')
  wall = T0 + 3_600_000
  s.applyRanges([range(x, 1, 2, [up(x, 2, 'future', { time: ahead })])])
  assert.ok(s.has('future'))
})

test('an invalid update is refused whole: nothing of it is applied and later ones of its range wait for a retransmission', () => {
  const s = new TestGSet({ id: 'a', now })
  const errors: HearsayError[] = []
  s.on('rejected', (e: HearsayError) => errors.push(e))
  const res = s.applyRanges([range(x, 0, 3, [up(x, 1, 'fine'), up(x, 2, '!bad'), up(x, 3, 'after')])])
  assert.equal(res.applied, 1)
  assert.equal(s.clock.get('x'), 1)
  assert.deepEqual(s.toJSON(), ['fine'])
  assert.equal(errors[0]!.code, ErrorCodes.INVALID_UPDATE)
})

test('encodeState is canonical and applyState restores it; clone gets a fresh id', () => {
  const a = new TestGSet({ id: 'a', now })
  const b = new TestGSet({ id: 'b', now })
  a.add('1')
  b.add('2')
  a.applyRanges(b.historySince(a.clock))
  b.applyRanges(a.historySince(b.clock))
  assert.deepEqual(a.encodeState(), b.encodeState())
  const c = a.clone()
  assert.notEqual(c.id, a.id)
  assert.deepEqual(c.encodeState(), a.encodeState())
  const d = new TestGSet({ now })
  d.applyState(a.encodeState())
  assert.deepEqual(d.toJSON(), ['1', '2'])
  assert.throws(() => d.applyState(new Uint8Array([1, 99])), (e) => isHearsayError(e, ErrorCodes.TYPE_MISMATCH))
  assert.throws(() => d.applyState(new Uint8Array([7])), (e) => isHearsayError(e, ErrorCodes.PROTOCOL_VERSION))
})

test('dispose refuses further use with NOT_OPEN', () => {
  const s = new TestGSet({ id: 'a', now })
  s.dispose()
  s.dispose()
  assert.equal(s.isOpen, false)
  assert.throws(() => s.add('x'), (e) => isHearsayError(e, ErrorCodes.NOT_OPEN))
  assert.throws(() => s.createStream(), (e) => isHearsayError(e, ErrorCodes.NOT_OPEN))
})

test('constructor checks the id', () => {
  assert.throws(() => new TestGSet({ id: '' }), TypeError)
  assert.throws(() => new TestGSet({ id: 'x'.repeat(129) }), TypeError)
  assert.equal(typeof new TestGSet().id, 'string')
})

test('overlapping multi-seq updates in one batch are announced as encodable ranges', () => {
  // Two frames in one batch carry runs of x that overlap (1..5, then 3..8): the pieces announced
  // in 'ranges' must still encode (no range may hold overlapping updates) and replay exactly.
  const s = new TestGSet({ id: 'a', now })
  const announced: Range<string>[][] = []
  s.on('ranges', (r: Range<string>[]) => announced.push(r))
  s.applyRanges([
    range(x, 0, 5, [up(x, 1, 'first', { len: 5 })]),
    range(x, 2, 8, [up(x, 3, 'second', { len: 6 })]),
  ])
  assert.equal(s.clock.get('x'), 8)
  const pieces = announced.flat()
  const bytes = s.encodeRanges(pieces)
  const replay = new TestGSet({ id: 'b', now })
  replay.applyRanges(replay.decodeRanges(bytes))
  assert.deepEqual(replay.toJSON(), s.toJSON())
  assert.equal(replay.clock.get('x'), 8)
})
