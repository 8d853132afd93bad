import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MessageChannel, type MessagePort } from 'node:worker_threads'
import { connectPort, ErrorCodes, isHearsayError, type FramePort, type HearsayError, type ReplicaLink } from '@hearsay/core'
import { TestGSet } from './helpers/types.ts'

// connectPort speaks createStream()'s protocol over a MessagePort, with no Node streams. The
// global MessageChannel is the web one in Node too; worker_threads' is used for `unref`.

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 5))
  assert.ok(cond(), `timed out waiting for ${what}`)
}

// Node's MessagePort is an EventTarget with `onmessage` at run time; @types/node leaves it out.
const framePort = (port: MessagePort): FramePort => port as unknown as FramePort

function closed<Op>(link: ReplicaLink<Op>): Promise<HearsayError | undefined> {
  return new Promise((resolve) => link.on('close', (e) => resolve(e)))
}

test('two replicas converge over a MessageChannel, then stay in sync live', async () => {
  const a = new TestGSet({ id: 'a' })
  const b = new TestGSet({ id: 'b' })
  a.add('from-a')
  b.add('from-b')
  const { port1, port2 } = new MessageChannel()
  const la = connectPort(a, framePort(port1), { meta: { name: 'alice' } })
  const lb = connectPort(b, framePort(port2))
  try {
    await until('sync', () => la.synced && lb.synced)
    assert.deepEqual(lb.peerMeta, { name: 'alice' })
    assert.equal(la.peer?.replicaId, 'b')
    assert.deepEqual(a.toJSON(), ['from-a', 'from-b'])
    for (let i = 0; i < 100; i++) (i % 2 ? a : b).add(`live-${i}`)
    await until('live updates', () => a.toJSON().length === 102 && b.toJSON().length === 102)
    assert.deepEqual(a.encodeState(), b.encodeState())
    assert.ok(la.stats.framesOut > 2 && lb.stats.framesIn > 2)
  } finally {
    la.close()
    lb.close()
    port1.close()
  }
})

test('a message that is not bytes, or a bad frame, closes the link with a typed error and changes nothing', async () => {
  for (const bad of ['not bytes', new Uint8Array([3, 0, 0, 0, 99, 1, 2])]) {
    const b = new TestGSet({ id: 'b' })
    b.add('kept')
    const before = b.encodeState()
    const { port1, port2 } = new MessageChannel()
    const lb = connectPort(b, framePort(port2))
    const why = closed(lb)
    port1.postMessage(bad)
    const error = await why
    assert.ok(isHearsayError(error, ErrorCodes.DECODE_ERROR), `got ${error}`)
    assert.ok(lb.closed)
    assert.equal(framePort(port2).onmessage, null, 'the port handler is cleared')
    assert.deepEqual(b.encodeState(), before)
    b.add('after')
    port1.close()
  }
})

test('a read-only link sends the history and ends; the other side takes it in', async () => {
  const a = new TestGSet({ id: 'a' })
  for (let i = 0; i < 10; i++) a.add(`x${i}`)
  const b = new TestGSet({ id: 'b' })
  const { port1, port2 } = new MessageChannel()
  connectPort(a, framePort(port1), { readable: true, writable: false, tail: false })
  const lb = connectPort(b, framePort(port2), { readable: false, writable: true })
  await until('history', () => b.toJSON().length === 10)
  assert.ok(lb.synced)
  assert.deepEqual(b.encodeState(), a.encodeState())
  port1.close()
})
