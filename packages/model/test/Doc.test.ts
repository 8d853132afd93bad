import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fc from 'fast-check'
import { createReplica, DocTypeId, ErrorCodes, HearsayError, type Range } from '@hearsay/core'
import { checkConvergence, withSeed } from '@hearsay/core/testing'
import { Doc, type DocOp } from '@hearsay/model'
import { fuzzPeerBytes, roundTripFile, syncPair } from './helpers/common.ts'

/** Test-only invariant: rows, queries and seqs agree with the rows' fields; seqs are sorted. */
export function checkDoc(doc: Doc): void {
  const json = doc.toJSON()
  assert.equal(Object.keys(json).length, doc.size)
  for (const row of doc.rows()) {
    assert.ok(row.live)
    assert.deepEqual(row.toJSON(), json[row.id])
  }
  for (const list of ['todo', 'done']) {
    const seq = doc.createSeq('list', list)
    const members = seq.asArray()
    assert.equal(members.length, seq.length)
    const expected = [...doc.rows()].filter((r) => r.get('list') === list)
    assert.equal(members.length, expected.length, `seq ${list} holds exactly the matching rows`)
    for (let i = 1; i < members.length; i++) {
      const a = String(members[i - 1]!.get('_sort') ?? '')
      const b = String(members[i]!.get('_sort') ?? '')
      assert.ok(a < b || (a === b && members[i - 1]!.id < members[i]!.id), 'seq is ordered by (_sort, id)')
    }
  }
}

const rowId = fc.constantFrom('r1', 'r2', 'r3', 'r4')
const op = fc.oneof(
  fc.record({ k: fc.constant('set' as const), id: rowId, fields: fc.dictionary(fc.constantFrom('text', 'n', 'flag'), fc.oneof(fc.integer(), fc.string({ maxLength: 2 })), { maxKeys: 2 }) }),
  fc.record({ k: fc.constant('rm' as const), id: rowId }),
  fc.record({ k: fc.constant('push' as const), id: rowId, list: fc.constantFrom('todo', 'done') }),
  fc.record({ k: fc.constant('unshift' as const), id: rowId, list: fc.constantFrom('todo', 'done') }),
  fc.record({ k: fc.constant('before' as const), id: rowId, ref: fc.nat(5), list: fc.constantFrom('todo', 'done') }),
  fc.record({ k: fc.constant('after' as const), id: rowId, ref: fc.nat(5), list: fc.constantFrom('todo', 'done') }),
)

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function applyOp(doc: Doc, o: any): void {
  switch (o.k) {
    case 'set':
      doc.set(o.id, o.fields)
      return
    case 'rm':
      doc.rm(o.id)
      return
    case 'push':
      doc.createSeq('list', o.list).push(doc.get(o.id) ?? { id: o.id, text: o.id })
      return
    case 'unshift':
      doc.createSeq('list', o.list).unshift(doc.get(o.id) ?? { id: o.id })
      return
    default: {
      const seq = doc.createSeq('list', o.list)
      const ref = seq.at(o.ref % Math.max(1, seq.length))
      if (ref === undefined) return
      const item = doc.get(o.id) ?? { id: o.id }
      if (o.k === 'before') seq.before(item, ref)
      else seq.after(item, ref)
    }
  }
}

test('Doc converges under concurrent row sets, removes and seq moves', async () => {
  await checkConvergence((o) => new Doc(o), op, {
    apply: applyOp,
    invariant: checkDoc,
    value: (d) => ({ rows: d.toJSON(), todo: d.createSeq('list', 'todo').asArray().map((r) => r.id), done: d.createSeq('list', 'done').asArray().map((r) => r.id) }),
  })
})

test('the talk example: todo.push, todo.before, done.push moves a row out of todo', async () => {
  const a = new Doc({ id: 'alice' })
  const b = new Doc({ id: 'bob' })
  const sa = a.createStream()
  const sb = b.createStream()
  sa.pipe(sb).pipe(sa)
  const todo = a.createSeq('list', 'todo')
  const done = a.createSeq('list', 'done')
  const bTodo = b.createSeq('list', 'todo')
  const bDone = b.createSeq('list', 'done')
  const removed: string[] = []
  bTodo.on('remove', (r) => removed.push(r.id))
  const drnk = todo.push({ text: 'beer' })
  const meet = todo.push({ text: 'meet' })
  todo.push({ text: 'code' })
  todo.before(meet, drnk)
  assert.deepEqual(todo.asArray().map((r) => r.get('text')), ['meet', 'beer', 'code'])
  done.push(meet)
  assert.deepEqual(todo.asArray().map((r) => r.get('text')), ['beer', 'code'])
  assert.deepEqual(done.asArray().map((r) => r.get('text')), ['meet'])
  await new Promise((r) => setImmediate(r))
  assert.deepEqual(bTodo.asArray().map((r) => r.get('text')), ['beer', 'code'])
  assert.deepEqual(bDone.asArray().map((r) => r.get('text')), ['meet'])
  assert.deepEqual(removed, [meet.id])
  assert.deepEqual(b.toJSON(), a.toJSON())
  a.dispose()
  b.dispose()
})

test('Doc rows: atomic multi-field set, get, change events, rm and resurrection', () => {
  const doc = new Doc({ id: 'a' })
  const created: string[] = []
  doc.on('create', (r) => created.push(r.id))
  const row = doc.add({ id: 'r', a: 1 })
  const changes: unknown[] = []
  row.on('change', (c) => changes.push(c))
  row.set({ a: 2, b: 'x' })
  row.set('c', [1, 2])
  assert.deepEqual(row.toJSON(), { id: 'r', a: 2, b: 'x', c: [1, 2] })
  assert.equal(doc.get('r'), row)
  assert.deepEqual(changes, [{ a: 2, b: 'x' }, { c: [1, 2] }])
  assert.throws(() => row.set('id', 'other'), TypeError)
  assert.throws(() => row.set('x', undefined as never), TypeError)
  assert.throws(() => row.set({ d: new Date() as never }), /Date/)
  assert.throws(() => doc.add({ id: '__proto__' }), TypeError)
  assert.equal(doc.rm('r'), true)
  assert.equal(doc.get('r'), undefined)
  assert.equal(row.live, false)
  assert.equal(doc.rm('r'), false)
  row.set('z', 1) // a set after the remove brings the row back with just that field
  assert.deepEqual(doc.get('r')?.toJSON(), { id: 'r', z: 1 })
  assert.deepEqual(created, ['r', 'r'])
  const fresh = doc.add({ text: 'no id' })
  assert.match(fresh.id, /^a\.\d+$/)
})

test('Doc rm beats concurrent older field sets that arrive later; a newer set survives it', () => {
  let wall = 1000
  const a = new Doc({ id: 'a', now: () => wall })
  const b = new Doc({ id: 'b', now: () => wall })
  a.add({ id: 'r', x: 1, y: 1 })
  syncPair(a, b)
  b.set('r', { x: 2 }) // older than the remove below
  wall += 1
  a.rm('r')
  syncPair(a, b)
  assert.equal(a.has('r'), false)
  assert.equal(b.has('r'), false)
  wall += 1
  b.set('r', { y: 3 })
  syncPair(a, b)
  assert.deepEqual(a.get('r')?.toJSON(), { id: 'r', y: 3 })
  assert.deepEqual(a.toJSON(), b.toJSON())
  assert.equal(Buffer.compare(a.encodeState(), b.encodeState()), 0)
})

test('Doc history keeps only updates that still win: 10k edits of one row keep 2', () => {
  const doc = new Doc({ id: 'a' })
  const row = doc.add({ id: 'r', n: 0, label: 'x' })
  for (let i = 0; i < 10_000; i++) row.set('n', i)
  assert.equal(doc.historySize, 2)
  const copy = new Doc({ id: 'b' })
  copy.applyState(doc.encodeState())
  assert.deepEqual(copy.toJSON(), doc.toJSON())
})

test('Doc sets are live queries with add/remove events', () => {
  const doc = new Doc({ id: 'a' })
  doc.add({ id: 'x', color: 'red' })
  const red = doc.createSet('color', 'red')
  assert.equal(doc.createSet('color', 'red'), red)
  const ev: string[] = []
  red.on('add', (r) => ev.push(`+${r.id}`))
  red.on('remove', (r) => ev.push(`-${r.id}`))
  assert.ok(red.has('x'))
  const y = red.add({ id: 'y' })
  assert.equal(y.get('color'), 'red')
  doc.get('x')!.set('color', 'blue')
  red.remove(y)
  assert.deepEqual(ev, ['+y', '-x', '-y'])
  assert.equal(red.size, 0)
  assert.throws(() => doc.createSet('color', {} as never), TypeError)
  assert.throws(() => doc.createSeq('color', 'red'), TypeError)
})

test('Doc refuses malformed ops from peers and stays unchanged', async () => {
  const t = new Doc({ id: 't' })
  const rejected: HearsayError[] = []
  t.on('rejected', (e: HearsayError) => rejected.push(e))
  const bad: Range<DocOp> = { source: 'p' as never, from: 0, to: 1, updates: [{ source: 'p' as never, seq: 1, time: 1024, op: { kind: 'set', id: 'r', fields: [['b', 1], ['a', 2]] } }] }
  assert.throws(() => t.decodeRanges(t.encodeRanges([bad])), (e: unknown) => e instanceof HearsayError && e.code === ErrorCodes.DECODE_ERROR)
  const src = new Doc({ id: 's' })
  const seq = src.createSeq('list', 'todo')
  for (let i = 0; i < 30; i++) seq.push({ text: `t${i}` })
  src.rm(seq.at(3)!)
  await withSeed('Doc fuzz', (rng) => {
    fuzzPeerBytes(t, src.encodeRanges(src.historySince(t.clock)), rng)
    checkDoc(t)
  })
  assert.ok(createReplica(DocTypeId) instanceof Doc)
})

test('Doc round-trips through a file, Seq order included', async () => {
  const doc = new Doc({ id: 'a' })
  const todo = doc.createSeq('list', 'todo')
  for (let i = 0; i < 100; i++) todo.unshift({ text: `t${i}` })
  todo.after(todo.at(0)!, todo.at(50)!)
  doc.rm(todo.at(10)!)
  const copy = await roundTripFile(doc, (o) => new Doc(o))
  assert.deepEqual(copy.createSeq('list', 'todo').asArray().map((r) => r.id), todo.asArray().map((r) => r.id))
})
