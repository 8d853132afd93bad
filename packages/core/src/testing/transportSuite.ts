import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCodes, isHearsayError } from '../errors.js'
import type { Connection, Listener, Transport } from '../transport.js'

/** The limits the suite asks a transport to be built with. */
export interface TransportSuiteLimits {
  /** Largest frame, in bytes, the transport must accept; one byte more must be refused. */
  readonly maxFrame: number
  /** Send-buffer bound, in bytes, past which a connection whose peer stops reading closes with `HEARSAY_BACKPRESSURE`. */
  readonly maxSendBuffer: number
}

/** What a suite factory returns: a fresh, isolated transport plus how to address and tear it down. */
export interface TransportSuiteSetup {
  /** A transport built with exactly the limits the suite asked for. */
  readonly transport: Transport
  /** A fresh address to listen on, unique per call (`mem://suite-7`, `tcp://127.0.0.1:0`, `ws://127.0.0.1:0`). */
  address(): string
  /**
   * Makes `connection` (an accepted, server-side one) stop reading, the way a stuck peer does,
   * so the other end's send buffer fills. Omit it and the backpressure test is skipped.
   */
  stopReading?(connection: Connection): void
  /** Makes a connection {@link stopReading} stopped read again; with it, the drain test runs. */
  resumeReading?(connection: Connection): void
  /**
   * Declares that the transport has no send buffer, with the reason: `bufferedBytes` is always
   * 0, so it is never back-pressured and never owes `drain`. The suite checks that
   * `bufferedBytes` stays 0 and skips the backpressure and drain tests. A transport with a
   * buffer gives {@link stopReading} and {@link resumeReading} instead.
   */
  readonly unbuffered?: string
  /** Called after each test. */
  teardown?(): void | Promise<void>
}

/** Options of {@link transportSuite}. */
export interface TransportSuiteOptions {
  /** Per-test timeout in ms (default 20 000). */
  timeout?: number
  /** Connections opened at once by the many-connections test (default 50). */
  connections?: number
}

/** The limits every run of the suite uses. */
export const TRANSPORT_SUITE_LIMITS: TransportSuiteLimits = { maxFrame: 1024 * 1024, maxSendBuffer: 4 * 1024 * 1024 }

interface Pair {
  listener: Listener
  client: Connection
  server: Connection
  accepted: Connection[]
}

function nextFrame(c: Connection): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const onFrame = (f: Uint8Array) => {
      c.off('close', onClose)
      resolve(f)
    }
    const onClose = (err?: Error) => {
      c.off('frame', onFrame)
      reject(err ?? new Error('closed before a frame arrived'))
    }
    c.once('frame', onFrame)
    c.once('close', onClose)
  })
}

function collect(c: Connection, n: number): Promise<Uint8Array[]> {
  return new Promise((resolve, reject) => {
    const got: Uint8Array[] = []
    const onFrame = (f: Uint8Array) => {
      got.push(f)
      if (got.length === n) {
        c.off('frame', onFrame)
        c.off('close', onClose)
        resolve(got)
      }
    }
    const onClose = (err?: Error) => {
      c.off('frame', onFrame)
      reject(new Error(`closed after ${got.length} of ${n} frames${err ? `: ${err.message}` : ''}`))
    }
    c.on('frame', onFrame)
    c.once('close', onClose)
  })
}

function closed(c: Connection): Promise<Error | undefined> {
  return new Promise((resolve) => {
    c.once('close', (err?: Error) => resolve(err))
  })
}

function pattern(len: number, seed: number): Uint8Array {
  const b = new Uint8Array(len)
  let x = seed * 2654435761 + 1
  for (let i = 0; i < len; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    b[i] = x >>> 24
  }
  return b
}

const tick = () => new Promise<void>((r) => setTimeout(r, 0))

/**
 * The transport conformance suite: every hearsay transport (memory, TCP, WebSocket, simulator
 * links) passes it. Call it at the top level of a test file; it registers a `describe` block.
 *
 * The factory is called once per test with {@link TRANSPORT_SUITE_LIMITS} and returns a fresh
 * transport built with those limits. What is checked: listen and connect, frames the server sends as it accepts (and a refused
 * connect to an address nobody listens on, `HEARSAY_TRANSPORT_ERROR`), frame order both ways,
 * frames up to the cap arrive intact, a frame one byte over the cap is never delivered and
 * closes the connection with `HEARSAY_FRAME_TOO_LARGE` on at least one end, close reaches both
 * ends once and `send` returns false afterwards, a peer that stops reading gets the sender
 * closed with `HEARSAY_BACKPRESSURE` (needs `stopReading`), a send buffer filled while the peer
 * does not read empties after it reads again and `drain` fires then, once, with
 * `bufferedBytes` 0 (needs `stopReading` and `resumeReading`, or an `unbuffered` declaration),
 * many concurrent connections keep
 * their frames apart, and closing a listener closes what it accepted and refuses new
 * connections.
 *
 * @example
 * ```ts
 * import { MemoryTransport, MemoryNetwork } from '@hearsay/core'
 * import { transportSuite } from '@hearsay/core/testing'
 * let n = 0
 * transportSuite('MemoryTransport', (limits) => ({
 *   transport: new MemoryTransport({ ...limits, network: new MemoryNetwork() }),
 *   address: () => `mem://suite-${++n}`,
 *   stopReading: (c) => (c as MemoryConnection).pause(),
 *   resumeReading: (c) => (c as MemoryConnection).resume(),
 * }))
 * ```
 */
export function transportSuite(
  name: string,
  factory: (limits: TransportSuiteLimits) => TransportSuiteSetup | Promise<TransportSuiteSetup>,
  options: TransportSuiteOptions = {},
): void {
  const timeout = options.timeout ?? 20_000
  const many = options.connections ?? 50
  const limits = TRANSPORT_SUITE_LIMITS

  async function withSetup(fn: (s: TransportSuiteSetup, open: () => Promise<Pair>) => Promise<void>): Promise<void> {
    const s = await factory(limits)
    const listeners: Listener[] = []
    const conns: Connection[] = []
    const open = async (): Promise<Pair> => {
      const accepted: Connection[] = []
      let onAccept: ((c: Connection) => void) | undefined
      const first = new Promise<Connection>((resolve) => (onAccept = resolve))
      const listener = await s.transport.listen(s.address(), (c) => {
        accepted.push(c)
        conns.push(c)
        onAccept?.(c)
        onAccept = undefined
      })
      listeners.push(listener)
      const client = await s.transport.connect(listener.url)
      conns.push(client)
      const server = await first
      return { listener, client, server, accepted }
    }
    try {
      await fn(s, open)
    } finally {
      for (const c of conns) c.close()
      await Promise.all(listeners.map((l) => l.close()))
      await s.teardown?.()
    }
  }

  describe(`${name}: transport conformance`, { timeout }, () => {
    it('listens, connects and exchanges a frame both ways', () =>
      withSetup(async (s, open) => {
        assert.equal(s.transport.scheme.replace(/:$/, ''), s.address().split(':')[0])
        const { listener, client, server } = await open()
        assert.equal(typeof listener.url, 'string')
        assert.ok(listener.url.startsWith(s.transport.scheme.replace(/:$/, '') + ':'))
        assert.ok(client.isOpen && server.isOpen)
        assert.equal(typeof client.remoteAddress, 'string')
        const toServer = nextFrame(server)
        assert.equal(client.send(Uint8Array.of(1, 2, 3)), true)
        assert.deepEqual([...(await toServer)], [1, 2, 3])
        const toClient = nextFrame(client)
        assert.equal(server.send(Uint8Array.of(4)), true)
        assert.deepEqual([...(await toClient)], [4])
        const empty = nextFrame(server)
        client.send(new Uint8Array(0))
        assert.equal((await empty).length, 0)
      }))

    it('delivers frames a server sends the moment it accepts (the server speaks first)', () =>
      withSetup(async (s) => {
        // Gossip's handshake starts on the accepting side; frames sent before connect() resolves must not be lost.
        const listener = await s.transport.listen(s.address(), (c) => {
          c.send(Uint8Array.of(1))
          c.send(Uint8Array.of(2))
        })
        try {
          const client = await s.transport.connect(listener.url)
          try {
            const got = await collect(client, 2)
            assert.deepEqual(got.map((f) => [...f]), [[1], [2]])
          } finally {
            client.close()
          }
        } finally {
          await listener.close()
        }
      }))

    it('refuses to connect where nothing listens', () =>
      withSetup(async (s) => {
        const listener = await s.transport.listen(s.address(), (c) => c.close())
        const url = listener.url
        await listener.close()
        await assert.rejects(s.transport.connect(url), (err: unknown) => isHearsayError(err, ErrorCodes.TRANSPORT_ERROR))
      }))

    it('keeps frame order in both directions', () =>
      withSetup(async (_s, open) => {
        const { client, server } = await open()
        const n = 500
        const sizes = Array.from({ length: n }, (_, i) => (i * 7919) % 3000)
        const atServer = collect(server, n)
        const atClient = collect(client, n)
        for (let i = 0; i < n; i++) {
          assert.equal(client.send(pattern(sizes[i]!, i)), true)
          assert.equal(server.send(pattern(sizes[n - 1 - i]!, i + n)), true)
          if (i % 50 === 0) await tick()
        }
        const [a, b] = await Promise.all([atServer, atClient])
        for (let i = 0; i < n; i++) {
          assert.deepEqual(a[i], pattern(sizes[i]!, i), `frame ${i} to the server`)
          assert.deepEqual(b[i], pattern(sizes[n - 1 - i]!, i + n), `frame ${i} to the client`)
        }
      }))

    it('carries frames up to the cap intact', () =>
      withSetup(async (_s, open) => {
        const { client, server } = await open()
        const big = pattern(limits.maxFrame, 99)
        const got = collect(server, 2)
        assert.equal(client.send(big), true)
        assert.equal(client.send(Uint8Array.of(7)), true)
        const [f, g] = await got
        assert.equal(f!.length, limits.maxFrame)
        assert.deepEqual(f, big)
        assert.deepEqual([...g!], [7])
      }))

    it('refuses a frame over the cap without delivering it', () =>
      withSetup(async (s, open) => {
        const { client, server, listener } = await open()
        let delivered = 0
        server.on('frame', (f: Uint8Array) => {
          if (f.length > limits.maxFrame) delivered++
        })
        const reasons = Promise.all([closed(client), closed(server)])
        client.send(pattern(limits.maxFrame + 1, 5))
        const [a, b] = await reasons
        assert.equal(delivered, 0)
        assert.ok(isHearsayError(a, ErrorCodes.FRAME_TOO_LARGE) || isHearsayError(b, ErrorCodes.FRAME_TOO_LARGE), `close reasons: ${a?.message} / ${b?.message}`)
        assert.equal(client.isOpen, false)
        assert.equal(server.isOpen, false)
        // The listener survives a bad peer.
        const again = await s.transport.connect(listener.url)
        again.close()
      }))

    it('closes both ends once, from either side', () =>
      withSetup(async (_s, open) => {
        for (const side of ['client', 'server'] as const) {
          const { client, server } = await open()
          let cc = 0
          let sc = 0
          client.on('close', () => cc++)
          server.on('close', () => sc++)
          const both = Promise.all([closed(client), closed(server)])
          ;(side === 'client' ? client : server).close()
          await both
          await tick()
          await tick()
          assert.equal(cc, 1, `${side} close: client close events`)
          assert.equal(sc, 1, `${side} close: server close events`)
          assert.equal(client.isOpen, false)
          assert.equal(server.isOpen, false)
          assert.equal(client.send(Uint8Array.of(1)), false)
          assert.equal(server.send(Uint8Array.of(1)), false)
          ;(side === 'client' ? client : server).close()
        }
      }))

    it('delivers frames sent just before a graceful close', () =>
      withSetup(async (_s, open) => {
        const { client, server } = await open()
        const got = collect(server, 3)
        client.send(Uint8Array.of(1))
        client.send(Uint8Array.of(2))
        client.send(Uint8Array.of(3))
        client.close()
        const frames = await got
        assert.deepEqual(frames.map((f) => f[0]), [1, 2, 3])
      }))

    it('disconnects a peer that stops reading (backpressure)', async (t) => {
      const probe = await factory(limits)
      const supported = typeof probe.stopReading === 'function'
      const unbuffered = probe.unbuffered
      await probe.teardown?.()
      if (unbuffered !== undefined) {
        t.skip(`no send buffer: ${unbuffered}`)
        return
      }
      if (!supported) {
        t.skip('the factory gives no stopReading')
        return
      }
      await withSetup(async (s, open) => {
        const { client, server } = await open()
        s.stopReading!(server)
        const reason = closed(client)
        const chunk = pattern(64 * 1024, 3)
        let sent = 0
        // Far more than any kernel buffer plus the send buffer; the loop must end by a close.
        const ceiling = 64 * limits.maxSendBuffer
        while (client.isOpen && sent < ceiling) {
          if (!client.send(chunk)) break
          sent += chunk.length
          assert.ok(client.bufferedBytes <= limits.maxSendBuffer + chunk.length, `buffered ${client.bufferedBytes} exceeds the bound`)
          if ((sent / chunk.length) % 16 === 0) await new Promise((r) => setTimeout(r, 1))
        }
        const err = await reason
        assert.ok(isHearsayError(err, ErrorCodes.BACKPRESSURE), `closed with ${err?.message ?? 'no reason'} after ${sent} bytes`)
        assert.equal(client.send(chunk), false)
      })
    })

    it('emits drain once a send buffer filled while the peer did not read has emptied', async (t) => {
      const probe = await factory(limits)
      const { unbuffered, stopReading, resumeReading } = probe
      await probe.teardown?.()
      if (unbuffered !== undefined) {
        await withSetup(async (_s, open) => {
          const { client, server } = await open()
          const got = collect(server, 20)
          for (let i = 0; i < 20; i++) {
            client.send(pattern(64 * 1024, i))
            assert.equal(client.bufferedBytes, 0, 'a transport declared unbuffered reports bufferedBytes 0')
          }
          await got
        })
        t.skip(`no send buffer: ${unbuffered}`)
        return
      }
      assert.ok(typeof stopReading === 'function' && typeof resumeReading === 'function', 'drain is in the Connection contract: give stopReading and resumeReading, or declare the transport unbuffered')
      await withSetup(async (s, open) => {
        const { client, server } = await open()
        let drains = 0
        let bufferedAtDrain = -1
        client.on('drain', () => {
          drains++
          bufferedAtDrain = client.bufferedBytes
        })
        let received = 0
        server.on('frame', () => received++)
        s.stopReading!(server)
        // Fill the sender's own buffer to half its bound (kernel buffers take their share first).
        const chunk = pattern(64 * 1024, 11)
        const target = limits.maxSendBuffer / 2
        const ceiling = 64 * limits.maxSendBuffer
        let frames = 0
        while (client.bufferedBytes + chunk.length <= target && frames * chunk.length < ceiling) {
          assert.equal(client.send(chunk), true, `send ${frames} refused with ${client.bufferedBytes} bytes buffered`)
          frames++
          if (frames % 16 === 0) await new Promise((r) => setTimeout(r, 1))
        }
        assert.ok(client.bufferedBytes > 0, `nothing stayed buffered after ${frames} frames to a peer that does not read`)
        await new Promise((r) => setTimeout(r, 20))
        assert.equal(drains, 0, 'drain fired while the peer was not reading')
        const drained = new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no drain within 10 s of the peer reading again (${client.bufferedBytes} bytes buffered)`)), 10_000)
          client.once('drain', () => {
            clearTimeout(timer)
            resolve()
          })
        })
        s.resumeReading!(server)
        await drained
        assert.equal(bufferedAtDrain, 0, 'drain fired with bytes still buffered')
        for (let i = 0; i < 2000 && received < frames; i++) await new Promise((r) => setTimeout(r, 5))
        assert.equal(received, frames, 'every frame sent before the drain arrived')
        await new Promise((r) => setTimeout(r, 20))
        assert.equal(drains, 1, 'one drain for one emptying of the buffer')
        assert.equal(client.isOpen, true)
      })
    })

    it('keeps many concurrent connections apart', () =>
      withSetup(async (s) => {
        const accepted: Connection[] = []
        const listener = await s.transport.listen(s.address(), (c) => {
          accepted.push(c)
          // Echo every frame back on the connection it came from.
          c.on('frame', (f: Uint8Array) => c.send(f))
        })
        try {
          const clients = await Promise.all(Array.from({ length: many }, () => s.transport.connect(listener.url)))
          const echoes = clients.map((c) => collect(c, 3))
          clients.forEach((c, i) => {
            for (let k = 0; k < 3; k++) c.send(pattern(10 + k, i * 3 + k))
          })
          const got = await Promise.all(echoes)
          got.forEach((frames, i) => frames.forEach((f, k) => assert.deepEqual(f, pattern(10 + k, i * 3 + k), `connection ${i} frame ${k}`)))
          assert.equal(accepted.length, many)
          const all = Promise.all(clients.map(closed))
          for (const c of clients) c.close()
          await all
        } finally {
          await listener.close()
        }
      }))

    it('closes a listener cleanly: accepted connections close, new ones are refused', () =>
      withSetup(async (s) => {
        const accepted: Connection[] = []
        const listener = await s.transport.listen(s.address(), (c) => accepted.push(c))
        const clients = await Promise.all([s.transport.connect(listener.url), s.transport.connect(listener.url)])
        while (accepted.length < 2) await tick()
        const ends = Promise.all([...clients, ...accepted].map(closed))
        await listener.close()
        await ends
        assert.ok(clients.every((c) => !c.isOpen))
        await assert.rejects(s.transport.connect(listener.url), (err: unknown) => isHearsayError(err, ErrorCodes.TRANSPORT_ERROR))
        await listener.close()
      }))
  })
}
