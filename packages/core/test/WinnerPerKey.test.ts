import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fc from 'fast-check'
import { WinnerPerKey, lastWriterWins, registerType, type Update } from '@hearsay/core'
import { checkConvergence } from '@hearsay/core/testing'

type Score = [key: string, score: number]

/** key → number, last writer wins: the README's example. */
class Scores extends WinnerPerKey<Score, Record<string, number>> {
  changes = 0
  set(key: string, score: number): void {
    this.commit([key, score])
  }
  protected keyOf({ op }: Update<Score>): string {
    if (!Array.isArray(op) || typeof op[0] !== 'string' || typeof op[1] !== 'number') throw new TypeError('a score is [key, number]')
    return op[0]
  }
  protected override won(): boolean {
    this.changes++
    return true
  }
  get historyLength(): number {
    return this.historySince().reduce((n, r) => n + r.updates.length, 0)
  }
  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.winners.values()].map((u) => u.op).sort(([a], [b]) => (a < b ? -1 : 1)))
  }
}
registerType(Scores, { typeId: 9801, typeName: 'Scores' })

/** Highest score per key wins (not last-writer-wins), ties by lastWriterWins. */
class Best extends Scores {
  protected override wins(a: Update<Score>, b: Update<Score>): boolean {
    return a.op[1] !== b.op[1] ? a.op[1] > b.op[1] : lastWriterWins(a, b)
  }
}
registerType(Best, { typeId: 9802, typeName: 'Best' })

const ops = fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 0, max: 9 }))

test('a WinnerPerKey type of a few lines passes the law checker, with the default value codec', async () => {
  await checkConvergence((o) => new Scores(o), ops, { apply: (s, [k, v]) => s.set(k, v) })
  await checkConvergence((o) => new Best(o), ops, { apply: (s, [k, v]) => s.set(k, v) })
})

test('WinnerPerKey keeps one update per key as history, and wins() decides the winner', () => {
  const a = new Scores({ id: 'a' })
  for (let i = 0; i < 10; i++) a.set('k', i)
  a.set('j', 1)
  assert.deepEqual(a.toJSON(), { j: 1, k: 9 })
  assert.equal(a.historyLength, 2)
  assert.equal(a.changes, 11)
  const best = new Best({ id: 'b' })
  best.set('k', 5)
  best.set('k', 3)
  assert.deepEqual(best.toJSON(), { k: 5 })
  const copy = new Best({ id: 'c' })
  copy.applyState(best.encodeState())
  assert.deepEqual(copy.toJSON(), { k: 5 })
})

test('a malformed op from a peer is refused whole by keyOf', () => {
  const a = new Scores({ id: 'a' })
  const b = new Scores({ id: 'b' })
  const refused: unknown[] = []
  b.on('rejected', (e) => refused.push(e.code))
  const bad: Update<Score> = { source: a.id, seq: 1, time: a.hlc.now(), op: 'not a score' as unknown as Score }
  b.applyRanges(b.decodeRanges(a.encodeRanges([{ source: a.id, from: 0, to: 1, updates: [bad] }])))
  assert.deepEqual(refused, ['HEARSAY_INVALID_UPDATE'])
  assert.deepEqual(b.toJSON(), {})
  assert.equal(b.clock.get(a.id), 0)
})

test('the default op codec is deterministic msgpack, deep-frozen on read', () => {
  const a = new Scores({ id: 'a' })
  a.set('k', 1)
  const bytes = a.encodeState()
  assert.deepEqual(new Scores({ id: 'x' }).encodeState().length > 0, true)
  const b = new Scores({ id: 'b' })
  b.applyState(bytes)
  assert.deepEqual(b.encodeState(), bytes)
  const op = b.historySince()[0]!.updates[0]!.op
  assert.ok(Object.isFrozen(op))
})
