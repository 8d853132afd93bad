import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCodes, explainDivergence, type Update } from '@hearsay/core'
import { TestGSet } from './helpers/types.ts'

const pair = () => [new TestGSet({ id: 'a' }), new TestGSet({ id: 'b' })] as const
const updatesOf = (r: TestGSet) => r.historySince()[0]!.updates as Update<string>[]

test('converged replicas: nothing to explain', () => {
  const [a, b] = pair()
  a.add('x')
  b.applyRanges(a.historySince(b.clock))
  const report = explainDivergence(a, b)
  assert.equal(report.converged, true)
  assert.deepEqual(report.lines, [])
})

test('a missing range: which source and seq range one lacks', () => {
  const [a, b] = pair()
  a.add('x')
  b.applyRanges(a.historySince(b.clock))
  a.add('y')
  a.add('z')
  const report = explainDivergence(a, b)
  assert.equal(report.converged, false)
  assert.deepEqual(report.missing, [{ lacking: 'b', source: 'a', from: 1, to: 3 }])
  assert.deepEqual(report.lines, ['b lacks a (1, 3] (2 seqs)'])
})

test('a buffered update: which dot it waits for, after a gap or for a dependency, and who has it', () => {
  const [a, b] = pair()
  a.add('x')
  a.add('y')
  const [, u2] = updatesOf(a)
  b.applyRanges([{ source: a.id, from: 1, to: 2, updates: [u2!] }])
  let report = explainDivergence(a, b)
  assert.deepEqual(report.buffered, [{ replica: 'b', source: 'a', from: 1, to: 2, updates: 1, reason: 'gap', waitsFor: { source: 'a', seq: 1 }, heldBy: ['a'] }])
  assert.ok(report.lines.includes("b holds a (1, 2] (1 update) in its causal buffer, waiting for a:1 (a's earlier updates); a has it"), report.lines.join('\n'))
  // A dependency: c's update needs a:1, which b does not have.
  const c = new TestGSet({ id: 'c' })
  c.applyRanges(a.historySince(c.clock))
  c.addAfter('w', [{ source: a.id, seq: 1 }])
  const b2 = new TestGSet({ id: 'b2' })
  b2.applyRanges(c.historySince(b2.clock).filter((r) => r.source === 'c'))
  report = explainDivergence(c, b2)
  const dep = report.buffered.find((p) => p.replica === 'b2')
  assert.deepEqual(dep, { replica: 'b2', source: 'c', from: 0, to: 1, updates: 1, reason: 'dep', waitsFor: { source: 'a', seq: 1 }, heldBy: ['c'] })
  assert.ok(report.lines.some((l) => l === 'b2 holds c (0, 1] (1 update) in its causal buffer, waiting for a:1 (a dependency); c has it'), report.lines.join('\n'))
})

test('a refused update: which one, the code and why', () => {
  const [a, b] = pair()
  const bad: Update<string> = { source: a.id, seq: 1, time: a.hlc.now(), op: '!bad' }
  b.applyRanges([{ source: a.id, from: 0, to: 1, updates: [bad] }])
  const report = explainDivergence(a, b)
  assert.equal(report.refused.length, 1)
  assert.equal(report.refused[0]!.code, ErrorCodes.INVALID_UPDATE)
  assert.deepEqual(report.refused[0]!.dot, { source: 'a', seq: 1 })
  assert.match(report.lines.join('\n'), /^b refused a:1: HEARSAY_INVALID_UPDATE: update a:1 refused: invalid item !bad$/m)
})

test('equal vectors over different content: which dots differ', () => {
  const [a, b] = pair()
  a.add('x')
  a.add('y')
  const [, u2] = updatesOf(a)
  // b is told (0, 2] holds only a:2, as a compacted history would: its vector equals a's.
  b.applyRanges([{ source: a.id, from: 0, to: 2, updates: [u2!] }])
  assert.equal(a.clock.compare(b.clock), 'equal')
  const report = explainDivergence(a, b)
  assert.equal(report.converged, false)
  assert.deepEqual(report.missing, [])
  assert.equal(report.contentDiffers, true)
  assert.deepEqual(report.differences, [{ dot: { source: 'a', seq: 1 }, keptBy: ['a'] }])
  assert.match(report.lines.join('\n'), /^equal vectors hide different content: the states encode to different bytes \(\d+ vs \d+\); a:1 kept only by a$/m)
})

test('explainDivergence changes neither replica', () => {
  const [a, b] = pair()
  a.add('x')
  const before = [a.encodeState(), b.encodeState()]
  explainDivergence(a, b)
  assert.deepEqual([a.encodeState(), b.encodeState()], before)
})
