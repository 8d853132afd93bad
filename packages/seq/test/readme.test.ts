// The README examples, run as written.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setImmediate as tick } from 'node:timers/promises'
import { List, Text, applyTextDelta, type Delta } from '@hearsay/seq'

test('README: Text over a live stream', async () => {
  const alice = new Text({ id: 'alice' })
  const bob = new Text({ id: 'bob' })
  const a = alice.createStream()
  const b = bob.createStream()
  a.pipe(b).pipe(a)
  let mirror = ''
  bob.on('change', (delta: Delta<string>) => (mirror = applyTextDelta(mirror, delta)))
  alice.insert(0, 'Hello world')
  for (let i = 0; i < 20 && bob.toString() !== 'Hello world'; i++) await tick()
  assert.equal(bob.toString(), 'Hello world')
  bob.insert(5, ',')
  alice.delete(0, 1)
  alice.insert(0, 'h')
  for (let i = 0; i < 20 && (alice.toString() !== bob.toString() || bob.toString() !== 'hello, world'); i++) await tick()
  assert.equal(alice.toString(), 'hello, world')
  assert.equal(bob.toString(), 'hello, world')
  assert.equal(mirror, 'hello, world')
  alice.dispose()
  bob.dispose()
})

test('README: List with move and cursors', () => {
  const todo = new List<string>({ id: 'phone' })
  todo.push('milk', 'eggs', 'bread')
  todo.move(2, 0)
  assert.deepEqual(todo.toArray(), ['bread', 'milk', 'eggs'])
  const cursor = todo.idAt(1)
  const laptop = new List<string>({ id: 'laptop' })
  laptop.applyState(todo.encodeState())
  laptop.unshift('coffee')
  laptop.move(2, 3)
  todo.applyRanges(laptop.historySince(todo.clock))
  assert.deepEqual(todo.toArray(), ['coffee', 'bread', 'eggs', 'milk'])
  assert.equal(todo.get(todo.indexOf(cursor)), 'milk')
})
