import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fc from 'fast-check'
import { createReplica, EventLogTypeId, VersionVector } from '@hearsay/core'
import { checkConvergence, withSeed } from '@hearsay/core/testing'
import { EventLog, isNewer } from '@hearsay/model'
import { fuzzPeerBytes, roundTripFile, syncPair } from './helpers/common.ts'

/** Test-only invariant: events strictly ordered by (time, source, seq), each source's seqs increasing. */
export function checkLog(log: EventLog<any>): void {
  const ev = log.events()
  const lastSeq = new Map<string, number>()
  for (let i = 0; i < ev.length; i++) {
    const e = ev[i]!
    if (i > 0) assert.ok(isNewer(e as never, ev[i - 1] as never), 'events are in (time, source, seq) order')
    assert.ok((lastSeq.get(e.source) ?? 0) < e.seq, 'a source’s events keep their order')
    lastSeq.set(e.source, e.seq)
  }
}

test('EventLog converges to one order on every replica', async () => {
  await checkConvergence((o) => new EventLog(o), fc.oneof(fc.integer(), fc.string({ maxLength: 3 })), {
    apply: (l, v) => l.append(v),
    invariant: checkLog,
  })
})

test('EventLog orders causally: a reply never sorts before what it answers', () => {
  let wall = 1000
  const a = new EventLog<string>({ id: 'zzz', now: () => wall + 500 })
  const b = new EventLog<string>({ id: 'aaa', now: () => wall })
  a.append('question')
  syncPair(a, b)
  b.append('answer') // b's wall clock is behind, but the hybrid clock has seen the question
  syncPair(a, b)
  assert.deepEqual(a.values(), ['question', 'answer'])
  assert.deepEqual(b.values(), ['question', 'answer'])
  const seen: string[] = []
  const c = new EventLog<string>({ id: 'c', now: () => wall })
  c.on('event', (e: { value: string }) => seen.push(e.value))
  c.applyState(a.encodeState())
  assert.deepEqual(seen.sort(), ['answer', 'question'])
  assert.deepEqual(c.values(), ['question', 'answer'])
})

test('EventLog.since returns what a vector has not seen, in order', () => {
  const a = new EventLog<number>({ id: 'a' })
  const b = new EventLog<number>({ id: 'b' })
  for (let i = 0; i < 5; i++) a.append(i)
  const mid = a.clock.clone()
  for (let i = 5; i < 8; i++) a.append(i)
  b.append(100)
  syncPair(a, b)
  assert.deepEqual(a.since(mid).map((e) => e.value).filter((v) => v < 100), [5, 6, 7])
  assert.equal(a.since(mid).length, 4)
  assert.deepEqual(a.since(new VersionVector()).length, 9)
  assert.deepEqual(a.since(a.clock), [])
  assert.throws(() => a.append(undefined as never), TypeError)
})

test('EventLog round-trips through a file and refuses fuzzed bytes', async () => {
  const l = new EventLog<any>({ id: 'a' })
  for (let i = 0; i < 300; i++) l.append({ type: 'tick', i })
  await roundTripFile(l, (o) => new EventLog(o))
  await withSeed('EventLog fuzz', (rng) => {
    const t = new EventLog<any>({ id: 't' })
    fuzzPeerBytes(t, l.encodeRanges(l.historySince(t.clock)), rng)
    checkLog(t)
  })
  assert.ok(createReplica(EventLogTypeId) instanceof EventLog)
})
