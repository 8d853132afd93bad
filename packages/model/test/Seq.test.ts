import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fc from 'fast-check'
import { checkConvergence } from '@hearsay/core/testing'
import { Doc, SORT_FIELD, type Row, type Seq } from '@hearsay/model'
import { syncPair } from './helpers/common.ts'

const texts = (s: Seq) => s.asArray().map((r) => r.get('text'))

/** Test-only invariant: a Seq holds exactly the matching live rows, in (_sort, id) order, and its accessors agree. */
export function checkSeq(seq: Seq): void {
  const rows = seq.asArray()
  assert.equal(rows.length, seq.length)
  assert.equal(seq.first(), rows[0])
  assert.equal(seq.last(), rows[rows.length - 1])
  rows.forEach((r, i) => {
    assert.equal(seq.at(i), r)
    assert.equal(seq.indexOf(r), i)
    assert.ok(r.live && r.get(seq.key) === seq.value)
  })
  const expected = [...seq.doc.rows()].filter((r) => r.get(seq.key) === seq.value).length
  assert.equal(rows.length, expected)
}

test('Seq push, unshift, insert, before, after, at, indexOf, first, last, pop, shift', () => {
  const doc = new Doc({ id: 'a' })
  const s = doc.createSeq('list', 'l')
  const b = s.push({ text: 'b' })
  const a = s.unshift({ text: 'a' })
  const d = s.push({ text: 'd' })
  const c = s.insert({ text: 'c' }, b, d)
  assert.deepEqual(texts(s), ['a', 'b', 'c', 'd'])
  s.before(d, a)
  assert.deepEqual(texts(s), ['d', 'a', 'b', 'c'])
  s.after(d, c)
  assert.deepEqual(texts(s), ['a', 'b', 'c', 'd'])
  s.after(a, a) // no-op
  assert.equal(s.indexOf(c), 2)
  assert.equal(s.indexOf(c.id), 2)
  assert.equal(s.at(-1), d)
  assert.equal(s.first(), a)
  assert.equal(s.last(), d)
  assert.equal(s.pop(), d)
  assert.equal(s.shift(), a)
  assert.deepEqual(texts(s), ['b', 'c'])
  assert.equal(d.get('list'), null)
  assert.throws(() => s.before({ text: 'x' }, d), RangeError)
  assert.throws(() => s.insert('no-such-row'), TypeError)
  checkSeq(s)
})

test('Seq keeps its order under many inserts at one spot, and keys stay short', () => {
  const doc = new Doc({ id: 'a' })
  const s = doc.createSeq('list', 'l')
  const first = s.push({ text: 'first' })
  const last = s.push({ text: 'last' })
  for (let i = 0; i < 200; i++) s.after({ text: `n${i}` }, first)
  for (let i = 0; i < 200; i++) s.push({ text: `p${i}` })
  assert.equal(s.at(0), first)
  assert.equal(s.at(1)!.get('text'), 'n199')
  assert.equal(s.at(200)!.get('text'), 'n0')
  assert.equal(s.at(201), last)
  assert.equal(s.last()!.get('text'), 'p199')
  const longest = Math.max(...s.asArray().map((r) => String(r.get(SORT_FIELD)).length))
  assert.ok(longest < 120, `sort keys stay short (${longest})`)
  checkSeq(s)
})

test('Seq: concurrent inserts at one place keep both rows, in the same order everywhere', () => {
  const a = new Doc({ id: 'alice' })
  const b = new Doc({ id: 'bob' })
  const sa = a.createSeq('list', 'l')
  const sb = b.createSeq('list', 'l')
  const x = sa.push({ id: 'x', text: 'x' })
  sa.push({ id: 'z', text: 'z' })
  syncPair(a, b)
  sa.after({ id: 'a1', text: 'from alice' }, x)
  sb.after({ id: 'b1', text: 'from bob' }, 'x')
  syncPair(a, b)
  assert.deepEqual(texts(sa), texts(sb))
  assert.equal(sa.length, 4)
  assert.equal(sa.first()!.id, 'x')
  assert.equal(sa.last()!.id, 'z')
  // Inserting between the two concurrent rows still lands between them.
  const mid = sa.insert({ id: 'm', text: 'm' }, sa.at(1)!, sa.at(2)!)
  assert.equal(sa.indexOf(mid), 2)
  checkSeq(sa)
})

test('Seq: moving a row into another seq removes it from the first, with events on every replica', () => {
  const a = new Doc({ id: 'a' })
  const b = new Doc({ id: 'b' })
  const todo = a.createSeq('list', 'todo')
  const done = a.createSeq('list', 'done')
  const bTodo = b.createSeq('list', 'todo')
  const bDone = b.createSeq('list', 'done')
  const events: string[] = []
  bTodo.on('add', (r: Row) => events.push(`todo+${r.get('text')}`))
  bTodo.on('remove', (r: Row) => events.push(`todo-${r.get('text')}`))
  bDone.on('add', (r: Row) => events.push(`done+${r.get('text')}`))
  bTodo.on('move', (r: Row) => events.push(`todo~${r.get('text')}`))
  const beer = todo.push({ text: 'beer' })
  const meet = todo.push({ text: 'meet' })
  syncPair(a, b)
  todo.before(meet, beer)
  syncPair(a, b)
  done.push(meet)
  syncPair(a, b)
  assert.deepEqual(texts(bTodo), ['beer'])
  assert.deepEqual(texts(bDone), ['meet'])
  assert.deepEqual(events, ['todo+beer', 'todo+meet', 'todo~meet', 'todo-meet', 'done+meet'])
  checkSeq(bTodo)
  checkSeq(bDone)
})

test('Seq converges under concurrent pushes, moves between seqs and removes', async () => {
  const ids = fc.constantFrom('r1', 'r2', 'r3', 'r4', 'r5')
  const list = fc.constantFrom('a', 'b')
  const op = fc.record({ k: fc.constantFrom('push', 'unshift', 'before', 'after', 'rm', 'remove'), id: ids, list, ref: fc.nat(6) })
  await checkConvergence((o) => new Doc(o), op, {
    apply: (doc, o) => {
      const seq = doc.createSeq('list', o.list)
      const item = doc.get(o.id) ?? { id: o.id, text: o.id }
      const ref = seq.at(o.ref % Math.max(1, seq.length))
      if (o.k === 'push') seq.push(item)
      else if (o.k === 'unshift') seq.unshift(item)
      else if (o.k === 'rm') doc.rm(o.id)
      else if (o.k === 'remove') seq.remove(o.id)
      else if (ref !== undefined) o.k === 'before' ? seq.before(item, ref) : seq.after(item, ref)
    },
    value: (doc) => ['a', 'b'].map((l) => doc.createSeq('list', l).asArray().map((r) => r.id)),
    invariant: (doc) => {
      checkSeq(doc.createSeq('list', 'a'))
      checkSeq(doc.createSeq('list', 'b'))
    },
  })
})
