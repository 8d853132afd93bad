import type { AddressInfo } from 'node:net'
import { WebSocket, WebSocketServer, type RawData } from 'ws'
import { BaseConnection, DEFAULT_MAX_FRAME, DEFAULT_MAX_SEND_BUFFER, ErrorCodes, HearsayError, type Connection, type Listener, type Transport, type TransportCapabilities } from '@hearsay/core'


/** Options of a {@link WsTransport}. */
export interface WsTransportOptions {
  /** Largest frame (WebSocket message) accepted, in bytes (default 16 MiB): ws's `maxPayload`. */
  maxFrame?: number
  /** Most bytes queued for a peer that is not reading before the connection closes with `HEARSAY_BACKPRESSURE` (default 8 MiB). */
  maxSendBuffer?: number
  /** Ping interval in ms; a link that answered nothing (no pong, no message) for a whole interval closes with `HEARSAY_TIMEOUT` (default 15 000; 0 turns heartbeats off). */
  heartbeatInterval?: number
  /** Milliseconds a connect may take before it fails with `HEARSAY_TRANSPORT_ERROR` (default 10 000). */
  connectTimeout?: number
}

/** Parses `ws://host:port/path` (`wss://` for connect). @throws TypeError otherwise. */
export function parseWsUrl(url: string): { secure: boolean; host: string; port: number; path: string } {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new TypeError(`a WebSocket address looks like ws://host:port/path, got ${JSON.stringify(url)}`)
  }
  if ((u.protocol !== 'ws:' && u.protocol !== 'wss:') || u.hostname === '') throw new TypeError(`a WebSocket address looks like ws://host:port/path, got ${JSON.stringify(url)}`)
  const secure = u.protocol === 'wss:'
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname
  return { secure, host, port: u.port === '' ? (secure ? 443 : 80) : Number(u.port), path: u.pathname || '/' }
}

// ws reports a message over maxPayload with close code 1009 (message too big).
const CLOSE_TOO_BIG = 1009
const CLOSE_POLICY = 1008

function toView(data: RawData): Uint8Array {
  if (Array.isArray(data)) data = Buffer.concat(data)
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
}

/**
 * One WebSocket link: every binary message is one frame. Frames arrive whole and in order; a
 * message over `maxFrame` is refused by ws while parsing and the link closes with
 * `HEARSAY_FRAME_TOO_LARGE`; a text message closes it with `HEARSAY_DECODE_ERROR`; a peer that
 * stops reading is disconnected with `HEARSAY_BACKPRESSURE` once `maxSendBuffer` bytes wait;
 * a peer that stops answering pings is disconnected with `HEARSAY_TIMEOUT`. The checks of
 * `send` are `BaseConnection`'s (a frame over `maxFrame` is not sent: this end closes with
 * `HEARSAY_FRAME_TOO_LARGE`). `bufferedBytes` is ws's `bufferedAmount`; `drain` fires when a
 * send's callback (ws calls it once the message reached the kernel) finds it 0.
 * Events: `frame` (Uint8Array), `drain`, `close` (reason?: Error), once.
 */
export class WsConnection extends BaseConnection {
  readonly #ws: WebSocket
  #reason: Error | undefined
  // One function for every send: ws calls it once the message was written to the socket.
  readonly #written = () => this.flushed()
  #alive = true
  #heartbeat: NodeJS.Timeout | undefined
  // Frames that arrived before the caller could listen (see `early` in the constructor).
  #held: Uint8Array[] | undefined

  /**
   * @internal Wraps an open WebSocket. `early` holds messages that arrived before it was
   * wrapped: a client's socket can deliver the server's first message in the same tick as
   * `open`, before `connect()` has returned. Those, and anything arriving until the next
   * macrotask, are delivered then, in order, once the caller has attached its listeners.
   */
  constructor(ws: WebSocket, remoteAddress: string, options: Required<Pick<WsTransportOptions, 'maxFrame' | 'maxSendBuffer' | 'heartbeatInterval'>>, early?: Array<[RawData, boolean]>) {
    super(remoteAddress, options)
    this.#ws = ws
    ws.binaryType = 'nodebuffer'
    const onMessage = (data: RawData, isBinary: boolean) => {
      this.#alive = true
      if (!this.isOpen) return
      if (!isBinary) {
        this.close(new HearsayError(ErrorCodes.DECODE_ERROR, `text message from ${remoteAddress}; hearsay frames are binary`))
        return
      }
      if (this.#held !== undefined) this.#held.push(toView(data))
      else this.emit('frame', toView(data))
    }
    if (early !== undefined) {
      this.#held = []
      setImmediate(() => this.#release())
    }
    for (const [data, isBinary] of early ?? []) onMessage(data, isBinary)
    ws.on('message', onMessage)
    ws.on('pong', () => (this.#alive = true))
    ws.on('ping', () => (this.#alive = true))
    ws.on('error', (err: Error & { code?: string }) => {
      if (this.#reason !== undefined) return
      this.#reason =
        err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
          ? new HearsayError(ErrorCodes.FRAME_TOO_LARGE, `message from ${remoteAddress} exceeds the frame cap`, { cause: err })
          : new HearsayError(ErrorCodes.TRANSPORT_ERROR, `websocket to ${remoteAddress} failed: ${err.message}`, { cause: err })
    })
    ws.on('close', (code: number, reason: Buffer) => {
      if (this.#reason === undefined && code === CLOSE_TOO_BIG) {
        this.#reason = new HearsayError(ErrorCodes.FRAME_TOO_LARGE, `peer ${remoteAddress} refused a frame over its cap`)
      } else if (this.#reason === undefined && code === CLOSE_POLICY && reason.length > 0) {
        this.#reason = new HearsayError(ErrorCodes.TRANSPORT_ERROR, `peer ${remoteAddress} closed: ${reason.toString()}`)
      }
      if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat)
      this.#release()
      this.closed(this.#reason)
    })
    if (options.heartbeatInterval > 0) {
      this.#heartbeat = setInterval(() => {
        if (!this.#alive) {
          this.close(new HearsayError(ErrorCodes.TIMEOUT, `${remoteAddress} did not answer a ping within ${options.heartbeatInterval} ms`))
          return
        }
        this.#alive = false
        try {
          ws.ping()
        } catch {
          // The socket is closing; its close event ends the heartbeat.
        }
      }, options.heartbeatInterval)
      this.#heartbeat.unref()
    }
  }

  get bufferedBytes(): number {
    return this.isOpen ? this.#ws.bufferedAmount : 0
  }

  /** Stops reading (the peer's sends back up, and pongs stop). */
  pause(): void {
    this.#ws.pause()
  }

  /** Reads again after {@link pause}. */
  resume(): void {
    this.#ws.resume()
  }

  protected sendFrame(frame: Uint8Array): void {
    this.#ws.send(frame, { binary: true }, this.#written)
  }

  /**
   * Without a reason the close is graceful (a WebSocket close handshake after the queued
   * frames); with one the socket is terminated at once. `close` fires once, with the reason.
   */
  protected closeLink(reason: Error | undefined): void {
    if (reason !== undefined) {
      this.#reason = reason
      this.#ws.terminate()
    } else {
      // The close handshake needs the peer's close frame: read on (messages are dropped now).
      this.#ws.resume()
      this.#ws.close(1000)
      // A peer that never answers the close handshake must not keep the socket forever.
      const timer = setTimeout(() => this.#ws.terminate(), 10_000)
      timer.unref()
      this.#ws.once('close', () => clearTimeout(timer))
    }
  }

  #release(): void {
    const held = this.#held
    this.#held = undefined
    for (const f of held ?? []) {
      if (!this.isOpen && this.#reason !== undefined) return
      this.emit('frame', f)
    }
  }
}

/**
 * Hearsay frames over WebSocket (`ws`), addressed `ws://host:port/path`: a server (`listen`)
 * and a client (`connect`; `wss://` works for connecting). One binary message per frame;
 * `maxPayload` set to the frame cap, per-message deflate off (compression bombs, CPU), ping/pong
 * heartbeats that close dead links, bounded send buffers. `listen` on port 0 picks a free port
 * and reports it in `Listener.url`; closing a listener closes every connection it accepted.
 * Passes the transport conformance suite in `@hearsay/core/testing`.
 *
 * @example
 * ```ts
 * const ws = new WsTransport()
 * const listener = await ws.listen('ws://127.0.0.1:0/hearsay', (conn) => conn.on('frame', (f) => conn.send(f)))
 * const conn = await ws.connect(listener.url)
 * ```
 */
export class WsTransport implements Transport {
  readonly scheme = 'ws'
  readonly capabilities: TransportCapabilities = { ordered: true, remote: true }
  readonly #options: Required<WsTransportOptions>

  /** @throws RangeError on non-positive limits. */
  constructor(options: WsTransportOptions = {}) {
    this.#options = {
      maxFrame: options.maxFrame ?? DEFAULT_MAX_FRAME,
      maxSendBuffer: options.maxSendBuffer ?? DEFAULT_MAX_SEND_BUFFER,
      heartbeatInterval: options.heartbeatInterval ?? 15_000,
      connectTimeout: options.connectTimeout ?? 10_000,
    }
    if (!(this.#options.maxFrame > 0) || !(this.#options.maxSendBuffer > 0)) throw new RangeError('maxFrame and maxSendBuffer are positive byte counts')
  }

  /**
   * Listens on `ws://host:port/path` (port 0: any free port). Upgrade requests for other paths are refused.
   * @throws TypeError on a malformed address; HearsayError `HEARSAY_TRANSPORT_ERROR` when it cannot bind.
   */
  async listen(url: string, onConnection: (connection: Connection) => void): Promise<Listener> {
    const { host, port, path, secure } = parseWsUrl(url)
    if (secure) throw new TypeError('WsTransport listens on ws:// only; put TLS in front of it for wss://')
    const accepted = new Set<WsConnection>()
    const wss = new WebSocketServer({ host, port, path, maxPayload: this.#options.maxFrame, perMessageDeflate: false, clientTracking: false })
    await new Promise<void>((resolve, reject) => {
      wss.once('error', (err) => reject(new HearsayError(ErrorCodes.TRANSPORT_ERROR, `cannot listen on ${url}: ${err.message}`, { cause: err })))
      wss.once('listening', () => resolve())
    })
    wss.on('error', () => {})
    wss.on('connection', (ws, req) => {
      const remote = `ws://${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0}`
      const c = new WsConnection(ws, remote, this.#options)
      accepted.add(c)
      c.once('close', () => accepted.delete(c))
      onConnection(c)
    })
    const address = wss.address() as AddressInfo
    const hostPart = host.includes(':') ? `[${host}]` : host
    let closing: Promise<void> | undefined
    return {
      url: `ws://${hostPart}:${address.port}${path === '/' ? '' : path}`,
      close(): Promise<void> {
        closing ??= new Promise<void>((resolve) => {
          const waits = [...accepted].map((c) => new Promise<void>((r) => c.once('close', () => r())))
          wss.close(() => void Promise.all(waits).then(() => resolve()))
          for (const c of accepted) c.close()
        })
        return closing
      },
    }
  }

  /**
   * Connects to `ws://host:port/path` (or `wss://`).
   * @throws TypeError on a malformed address; HearsayError `HEARSAY_TRANSPORT_ERROR` when the handshake fails.
   */
  async connect(url: string): Promise<Connection> {
    parseWsUrl(url)
    const ws = new WebSocket(url, { maxPayload: this.#options.maxFrame, perMessageDeflate: false, handshakeTimeout: this.#options.connectTimeout })
    // The server may speak first: keep what arrives before the connection is wrapped.
    const early: Array<[RawData, boolean]> = []
    const keep = (data: RawData, isBinary: boolean) => early.push([data, isBinary])
    ws.on('message', keep)
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error) => {
        ws.removeAllListeners()
        ws.on('error', () => {})
        ws.terminate()
        reject(new HearsayError(ErrorCodes.TRANSPORT_ERROR, `cannot connect to ${url}: ${err.message}`, { cause: err }))
      }
      ws.once('open', () => {
        ws.removeListener('error', fail)
        resolve()
      })
      ws.once('error', fail)
    })
    ws.off('message', keep)
    return new WsConnection(ws, url, this.#options, early)
  }
}
