import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCodes, isHearsayError, type Connection } from '@hearsay/core'
import { transportSuite } from '@hearsay/core/testing'
import { TcpConnection, TcpTransport, WsConnection, WsTransport } from '@hearsay/adapters'

transportSuite('TcpTransport', (limits) => ({
  transport: new TcpTransport(limits),
  address: () => 'tcp://127.0.0.1:0',
  stopReading: (c) => (c as TcpConnection).pause(),
  resumeReading: (c) => (c as TcpConnection).resume(),
}))

transportSuite('WsTransport', (limits) => ({
  transport: new WsTransport(limits),
  address: () => 'ws://127.0.0.1:0/hearsay',
  stopReading: (c) => (c as WsConnection).pause(),
  resumeReading: (c) => (c as WsConnection).resume(),
}))

const closed = (c: Connection) => new Promise<Error | undefined>((resolve) => c.once('close', resolve))

test('WsTransport heartbeats close a link whose peer stops answering', async () => {
  // Only the client pings here: the paused server end must not time out first.
  const ws = new WsTransport({ heartbeatInterval: 40 })
  const quiet = new WsTransport({ heartbeatInterval: 0 })
  let server: WsConnection | undefined
  const listener = await quiet.listen('ws://127.0.0.1:0', (c) => {
    server = c as WsConnection
    // A peer that stops reading also stops answering pings.
    server.pause()
  })
  try {
    const client = await ws.connect(listener.url)
    const reason = await closed(client)
    assert.ok(isHearsayError(reason, ErrorCodes.TIMEOUT), `closed with ${reason?.message}`)
  } finally {
    await listener.close()
  }
})

test('WsTransport heartbeats keep a healthy idle link open', async () => {
  const ws = new WsTransport({ heartbeatInterval: 20 })
  const listener = await ws.listen('ws://127.0.0.1:0', () => {})
  try {
    const client = await ws.connect(listener.url)
    await new Promise((r) => setTimeout(r, 200))
    assert.equal(client.isOpen, true)
    client.close()
    await closed(client)
  } finally {
    await listener.close()
  }
})

test('WsTransport refuses text messages and other paths', async () => {
  const { WebSocket } = await import('ws')
  const t = new WsTransport()
  let server: Connection | undefined
  const listener = await t.listen('ws://127.0.0.1:0/a', (c) => (server = c))
  try {
    await assert.rejects(t.connect(listener.url.replace('/a', '/b')), (e: unknown) => isHearsayError(e, ErrorCodes.TRANSPORT_ERROR))
    const raw = new WebSocket(listener.url)
    await new Promise((r) => raw.once('open', r))
    while (server === undefined) await new Promise((r) => setImmediate(r))
    const reason = closed(server)
    raw.send('hello')
    assert.ok(isHearsayError(await reason, ErrorCodes.DECODE_ERROR))
    raw.terminate()
  } finally {
    await listener.close()
  }
})

test('TcpTransport closes on a malformed length prefix and survives it', async () => {
  const net = await import('node:net')
  const t = new TcpTransport()
  let server: Connection | undefined
  const listener = await t.listen('tcp://127.0.0.1:0', (c) => (server = c))
  try {
    const port = Number(new URL(listener.url).port)
    const sock = net.connect({ host: '127.0.0.1', port })
    await new Promise((r) => sock.once('connect', r))
    while (server === undefined) await new Promise((r) => setImmediate(r))
    const reason = closed(server)
    sock.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))
    assert.ok(isHearsayError(await reason, ErrorCodes.DECODE_ERROR) || isHearsayError(await reason, ErrorCodes.FRAME_TOO_LARGE))
    sock.destroy()
    const again = await t.connect(listener.url)
    again.close()
  } finally {
    await listener.close()
  }
})

test('TcpTransport binds outgoing connections to localAddress (127.0.0.x are all loopback on Linux)', async () => {
  assert.throws(() => new TcpTransport({ localAddress: 'not-an-ip' }), TypeError)
  let server: Connection | undefined
  const listener = await new TcpTransport().listen('tcp://127.0.0.1:0', (c) => (server = c))
  try {
    const c = await new TcpTransport({ localAddress: '127.0.0.7' }).connect(listener.url)
    while (server === undefined) await new Promise((r) => setImmediate(r))
    assert.match(server.remoteAddress, /^tcp:\/\/127\.0\.0\.7:\d+$/)
    c.close()
  } finally {
    await listener.close()
  }
})

test('transports check addresses', async () => {
  await assert.rejects(new TcpTransport().listen('ws://127.0.0.1:0', () => {}), TypeError)
  await assert.rejects(new TcpTransport().connect('tcp://127.0.0.1'), TypeError)
  await assert.rejects(new WsTransport().connect('tcp://127.0.0.1:1'), TypeError)
})

for (const [name, make, address] of [
  ['TcpTransport', () => new TcpTransport(), 'tcp://127.0.0.1:0'],
  ['WsTransport', () => new WsTransport(), 'ws://127.0.0.1:0'],
] as const) {
  test(`${name}: frames the server sends on accept reach the client that listens right after connect`, { timeout: 10_000 }, async () => {
    const t = make()
    const listener = await t.listen(address, (c) => {
      for (let i = 0; i < 5; i++) c.send(Uint8Array.of(i))
    })
    try {
      for (let round = 0; round < 20; round++) {
        const client = await t.connect(listener.url)
        const got: number[] = []
        await new Promise<void>((resolve) =>
          client.on('frame', (f: Uint8Array) => {
            got.push(f[0]!)
            if (got.length === 5) resolve()
          }),
        )
        assert.deepEqual(got, [0, 1, 2, 3, 4])
        client.close()
      }
    } finally {
      await listener.close()
    }
  })
}
