import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Doc } from '@hearsay/model'

test('Row: one object per id, get/set/toJSON/live, frozen values', () => {
  const doc = new Doc({ id: 'a' })
  const row = doc.add({ id: 'r', tags: ['a'] })
  assert.equal(doc.get('r'), row)
  assert.equal(row.get('id'), 'r')
  assert.deepEqual(row.get('tags'), ['a'])
  assert.ok(Object.isFrozen(row.get('tags')))
  const mine = { deep: { n: 1 } }
  row.set('obj', mine)
  mine.deep.n = 2
  assert.deepEqual(row.get('obj'), { deep: { n: 1 } })
  assert.deepEqual(Object.keys(row.toJSON()), ['id', 'obj', 'tags'])
  assert.throws(() => row.set(null as never), TypeError)
  assert.throws(() => row.set({ f: NaN }), /NaN/)
  assert.equal(row.live, true)
  const removed: string[] = []
  row.on('removed', () => removed.push(row.id))
  doc.rm(row)
  assert.equal(row.live, false)
  assert.deepEqual(removed, ['r'])
  assert.equal(row.get('tags'), undefined)
  assert.deepEqual(row.toJSON(), { id: 'r' })
})
