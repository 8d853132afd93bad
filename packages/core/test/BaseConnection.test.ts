import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCodes, MemoryConnection, isHearsayError } from '@hearsay/core'

// MemoryConnection is the reference BaseConnection: its checks are the base's.
const pair = (maxFrame = 1024, maxSendBuffer = 4096) => MemoryConnection.pair('mem://a', 'mem://b', { maxFrame, maxSendBuffer }, { maxFrame, maxSendBuffer })

test('drain fires once the bytes a send left buffered are all delivered', async () => {
  const [a, b] = pair()
  let got = 0
  b.on('frame', () => got++)
  assert.equal(a.send(new Uint8Array(100)), true)
  assert.equal(a.bufferedBytes, 100)
  await a.nextEvent('drain')
  assert.equal(a.bufferedBytes, 0)
  assert.equal(got, 1)
  a.close()
})

test('a frame over the cap, or past the send buffer, closes with its code and sends nothing', async () => {
  const [a, b] = pair(64, 100)
  let got = 0
  b.on('frame', () => got++)
  const closed = a.nextEvent('close')
  assert.equal(a.send(new Uint8Array(65)), false)
  const [reason] = await closed
  assert.ok(isHearsayError(reason, ErrorCodes.FRAME_TOO_LARGE))
  assert.equal(a.send(new Uint8Array(1)), false)
  const [c, d] = pair(64, 100)
  d.pause()
  assert.equal(c.send(new Uint8Array(60)), true)
  const full = c.nextEvent('close')
  assert.equal(c.send(new Uint8Array(60)), false)
  const [why] = await full
  assert.ok(isHearsayError(why, ErrorCodes.BACKPRESSURE))
  assert.equal(got, 0)
  const [e] = pair()
  assert.throws(() => e.send('x' as never), TypeError)
  e.close()
})
