import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Doc, type Row } from '@hearsay/model'
import { syncPair } from './helpers/common.ts'

test('RowSet follows local and remote changes, removes included', () => {
  const a = new Doc({ id: 'a' })
  const b = new Doc({ id: 'b' })
  a.add({ id: 'x', kind: 'fruit', name: 'apple' })
  syncPair(a, b)
  const fruit = b.createSet('kind', 'fruit') // created after the row exists: it is a member at once
  const log: string[] = []
  fruit.on('add', (r: Row) => log.push(`+${r.id}`))
  fruit.on('remove', (r: Row) => log.push(`-${r.id}`))
  fruit.on('changes', (r: Row, c: Record<string, unknown>) => log.push(`~${r.id}:${Object.keys(c).join(',')}`))
  assert.deepEqual(fruit.asArray().map((r) => r.id), ['x'])
  a.add({ id: 'y', kind: 'fruit' })
  a.get('x')!.set('name', 'pear')
  syncPair(a, b)
  a.rm('y')
  syncPair(a, b)
  assert.deepEqual(log, ['+y', '~x:name', '-y'])
  assert.equal(fruit.size, 1)
  assert.ok(fruit.has('x'))
  assert.equal(fruit.get('x'), b.get('x'))
  assert.deepEqual(fruit.toJSON(), [{ id: 'x', kind: 'fruit', name: 'pear' }])
  // Two queries on the same field do not interfere.
  const veg = b.createSet('kind', 'veg')
  b.get('x')!.set('kind', 'veg')
  assert.equal(fruit.size, 0)
  assert.equal(veg.size, 1)
  let n = 0
  veg.forEach(() => n++)
  assert.equal(n, 1)
  assert.equal(veg.remove('nope'), false)
})

test('RowSet matches with === and distinguishes 1 from "1"', () => {
  const doc = new Doc({ id: 'a' })
  const one = doc.createSet('n', 1)
  const oneStr = doc.createSet('n', '1')
  doc.add({ id: 'p', n: 1 })
  doc.add({ id: 'q', n: '1' })
  assert.deepEqual(one.asArray().map((r) => r.id), ['p'])
  assert.deepEqual(oneStr.asArray().map((r) => r.id), ['q'])
  assert.throws(() => doc.createSet('id', 'x'), TypeError)
  assert.throws(() => doc.createSet('__proto__', 'x'), TypeError)
})
