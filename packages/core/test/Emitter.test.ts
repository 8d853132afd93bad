import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { Emitter } from '@hearsay/core'

interface Events {
  tick: (n: number) => void
  done: () => void
  error: (err: Error) => void
}

test('listeners run in the order added, with the arguments and this of emit', () => {
  const e = new Emitter<Events>()
  const seen: string[] = []
  e.on('tick', (n) => seen.push(`a${n}`))
  e.on('tick', function (this: unknown, n) {
    assert.equal(this, e)
    seen.push(`b${n}`)
  })
  assert.equal(e.emit('tick', 1), true)
  assert.equal(e.emit('done'), false)
  assert.deepEqual(seen, ['a1', 'b1'])
  assert.equal(e.listenerCount('tick'), 2)
  assert.equal(e.listenerCount('done'), 0)
})

test('a listener removed or added during an emit takes effect from the next emit', () => {
  const e = new Emitter<Events>()
  const seen: string[] = []
  const b = (n: number) => seen.push(`b${n}`)
  const c = (n: number) => seen.push(`c${n}`)
  e.on('tick', (n) => {
    seen.push(`a${n}`)
    e.off('tick', b)
    e.on('tick', c)
  })
  e.on('tick', b)
  e.emit('tick', 1)
  assert.deepEqual(seen, ['a1', 'b1'])
  seen.length = 0
  e.emit('tick', 2)
  assert.deepEqual(seen, ['a2', 'c2'])
})

test('once runs a listener at most once, even when the event is emitted from inside it', () => {
  const e = new Emitter<Events>()
  let calls = 0
  e.once('tick', () => {
    calls++
    e.emit('tick', 0)
  })
  e.emit('tick', 1)
  e.emit('tick', 2)
  assert.equal(calls, 1)
  assert.equal(e.listenerCount('tick'), 0)
})

test('off removes the most recent instance of a listener, and a once listener by its function', () => {
  const e = new Emitter<Events>()
  const seen: number[] = []
  const f = (n: number) => seen.push(n)
  e.on('tick', f).on('tick', f)
  e.off('tick', f)
  e.emit('tick', 1)
  assert.deepEqual(seen, [1])
  e.off('tick', f)
  e.once('tick', f)
  e.off('tick', f)
  e.emit('tick', 2)
  assert.deepEqual(seen, [1])
  assert.equal(e.listenerCount('tick'), 0)
  e.off('done', () => {})
})

test('emitting error with no listener throws the error; with one, it is delivered', () => {
  const e = new Emitter<Events>()
  const boom = new Error('boom')
  assert.throws(() => e.emit('error', boom), (err) => err === boom)
  let got: Error | undefined
  e.on('error', (err) => (got = err))
  assert.equal(e.emit('error', boom), true)
  assert.equal(got, boom)
})

test('a listener that throws stops the emit and the throw reaches the emitter', () => {
  const e = new Emitter<Events>()
  let second = false
  e.on('tick', () => {
    throw new RangeError('bad')
  })
  e.on('tick', () => (second = true))
  assert.throws(() => e.emit('tick', 1), RangeError)
  assert.equal(second, false)
})

test('removeAllListeners, a hook for added listeners, and node:events once() work', async () => {
  const added: string[] = []
  class Watched extends Emitter<Events> {
    protected override listenerAdded(name: keyof Events): void {
      added.push(name)
    }
  }
  const e = new Watched()
  e.on('tick', () => {}).once('done', () => {})
  assert.deepEqual(added, ['tick', 'done'])
  e.removeAllListeners('tick')
  assert.equal(e.listenerCount('tick'), 0)
  assert.equal(e.listenerCount('done'), 1)
  e.removeAllListeners()
  assert.equal(e.listenerCount('done'), 0)
  const got = once(e as never, 'tick')
  e.emit('tick', 7)
  assert.deepEqual(await got, [7])
  assert.equal(e.listenerCount('tick'), 0)
  assert.equal(e.listenerCount('error'), 0)
  assert.throws(() => e.on('tick', 3 as never), TypeError)
})
