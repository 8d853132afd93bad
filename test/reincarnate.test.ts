// Replicated.reincarnate on every built-in type: a replica that moves to a fresh source mid-way
// (as a gossip node does on a history alarm) keeps editing, and every replica still converges
// to byte-identical states with the old source's updates kept as they were.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Replicated } from '@hearsay/core'
import { Doc, GSet, LWWMap, ORSet, PNCounter } from '@hearsay/model'
import { List, Text } from '@hearsay/seq'

interface Case {
  name: string
  make: (id: string) => Replicated<any>
  edit: (r: any, i: number) => void
}

const cases: Case[] = [
  { name: 'LWWMap', make: (id) => new LWWMap({ id }), edit: (m: LWWMap, i) => m.set(`k${i % 3}`, i) },
  { name: 'ORSet', make: (id) => new ORSet({ id }), edit: (s: ORSet, i) => (i % 3 === 2 ? s.delete(`x${i - 1}`) : s.add(`x${i}`)) },
  { name: 'GSet', make: (id) => new GSet({ id }), edit: (s: GSet, i) => s.add(`g${i}`) },
  { name: 'PNCounter', make: (id) => new PNCounter({ id }), edit: (c: PNCounter, i) => c.increment(i + 1) },
  { name: 'Text', make: (id) => new Text({ id }), edit: (t: Text, i) => t.insert(Math.floor(t.length / 2), `t${i}`) },
  { name: 'List', make: (id) => new List({ id }), edit: (l: List, i) => l.insert(l.length, i) },
  { name: 'Doc', make: (id) => new Doc({ id }), edit: (d: Doc, i) => (i % 2 === 0 ? d.add({ n: i }) : d.set(`r${i}`, { n: i })) },
]

for (const c of cases) {
  test(`${c.name}: edits after reincarnate go under the new source; replicas converge byte-identically`, () => {
    const a = c.make('a.1.aaaaaaaa')
    const b = c.make('b')
    for (let i = 0; i < 4; i++) c.edit(a, i)
    b.applyRanges(a.historySince())
    a.reincarnate('a.2.bbbbbbbb')
    assert.equal(a.id, 'a.2.bbbbbbbb')
    for (let i = 4; i < 8; i++) c.edit(a, i)
    for (let i = 0; i < 3; i++) c.edit(b, 100 + i)
    a.applyRanges(b.historySince(a.clock))
    b.applyRanges(a.historySince(b.clock))
    assert.ok(a.clock.get('a.1.aaaaaaaa') > 0 && a.clock.get('a.2.bbbbbbbb') > 0, JSON.stringify(a.clock.toJSON()))
    assert.deepEqual(a.clock.toJSON(), b.clock.toJSON())
    assert.deepEqual(a.toJSON(), b.toJSON())
    assert.deepEqual(a.encodeState(), b.encodeState())
    const fresh = c.make('c')
    fresh.applyState(a.encodeState())
    assert.deepEqual(fresh.toJSON(), a.toJSON())
    a.dispose()
    assert.throws(() => a.reincarnate('a.3.cccccccc'), /disposed/)
  })
}

test('reincarnate refuses a bad id and is a no-op for the current one', () => {
  const m = new LWWMap({ id: 'a' })
  assert.throws(() => m.reincarnate(''), TypeError)
  assert.throws(() => m.reincarnate('x'.repeat(129)), TypeError)
  m.reincarnate('a')
  m.set('k', 1)
  assert.deepEqual(m.clock.toJSON(), { a: 1 })
})
