import { test } from 'node:test'
import assert from 'node:assert/strict'
import { WebSocket, WebSocketServer } from 'ws'
import { ErrorCodes, isHearsayError, type Connection, type Transport } from '@hearsay/core'
import { transportSuite } from '@hearsay/core/testing'
import { WsConnection, WsTransport } from '@hearsay/adapters'
import { WebSocketTransport, type WebSocketConstructor } from '@hearsay/adapters/web'

// The browser transport connects through the WHATWG WebSocket API; here ws's client class
// stands in for the browser's (same API: binaryType, onmessage, bufferedAmount, close codes).
// It is the client of every suite test; a Node WsTransport is the listener.
const Ws = WebSocket as unknown as WebSocketConstructor

transportSuite('WebSocketTransport (browser API) to a WsTransport listener', (limits) => {
  const server = new WsTransport(limits)
  const client = new WebSocketTransport({ ...limits, WebSocket: Ws })
  const transport: Transport = {
    scheme: 'ws',
    capabilities: client.capabilities,
    listen: (url, on) => server.listen(url, on),
    connect: (url) => client.connect(url),
  }
  return { transport, address: () => 'ws://127.0.0.1:0/hearsay', stopReading: (c) => (c as WsConnection).pause(), resumeReading: (c) => (c as WsConnection).resume() }
})

const closed = (c: Connection) => new Promise<Error | undefined>((resolve) => c.once('close', resolve))

test('WebSocketTransport cannot listen, and refuses text and oversized messages with typed errors', async () => {
  const t = new WebSocketTransport({ WebSocket: Ws, maxFrame: 100 })
  await assert.rejects(t.listen('ws://127.0.0.1:0'), (e: unknown) => isHearsayError(e, ErrorCodes.NOT_SUPPORTED))
  await assert.rejects(t.connect('http://x'), TypeError)
  const ws = new WsTransport()
  const servers: WsConnection[] = []
  const listener = await ws.listen('ws://127.0.0.1:0', (c) => servers.push(c as WsConnection))
  try {
    const big = await t.connect(listener.url)
    const got: Uint8Array[] = []
    big.on('frame', (f) => got.push(f))
    const whyBig = closed(big)
    while (servers.length < 1) await new Promise((r) => setTimeout(r, 5))
    servers[0]!.send(new Uint8Array(101))
    assert.ok(isHearsayError(await whyBig, ErrorCodes.FRAME_TOO_LARGE))
    assert.equal(got.length, 0, 'the oversized frame was not delivered')

  } finally {
    await listener.close()
  }
})

test('WebSocketTransport closes on a text message with HEARSAY_DECODE_ERROR', async () => {
  const t = new WebSocketTransport({ WebSocket: Ws })
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise((r) => wss.once('listening', r))
  wss.on('connection', (sock) => setTimeout(() => sock.send('not a frame'), 20))
  try {
    const port = (wss.address() as { port: number }).port
    const c = await t.connect(`ws://127.0.0.1:${port}`)
    const frames: Uint8Array[] = []
    c.on('frame', (f) => frames.push(f))
    assert.ok(isHearsayError(await closed(c), ErrorCodes.DECODE_ERROR))
    assert.equal(frames.length, 0)
    assert.equal(c.send(new Uint8Array(1)), false, 'send after close returns false')
  } finally {
    for (const s of wss.clients) s.terminate()
    await new Promise((r) => wss.close(r))
  }
})
