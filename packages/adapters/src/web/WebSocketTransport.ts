import { BaseConnection, DEFAULT_MAX_FRAME, DEFAULT_MAX_SEND_BUFFER, ErrorCodes, HearsayError, scheduleTask, type Connection, type Listener, type Transport, type TransportCapabilities } from '@hearsay/core'

/** The part of the WHATWG `WebSocket` the transport uses (the browser's, a worker's, Deno's, ws's). */
export interface WebSocketLike {
  binaryType: string
  readonly bufferedAmount: number
  readonly readyState: number
  send(data: Uint8Array): void
  close(code?: number, reason?: string): void
  onopen: ((event: unknown) => void) | null
  onmessage: ((event: { data: unknown }) => void) | null
  onclose: ((event: { code: number; reason: string }) => void) | null
  onerror: ((event: unknown) => void) | null
}

/** A constructor of {@link WebSocketLike}: `globalThis.WebSocket` by default. */
export type WebSocketConstructor = new (url: string) => WebSocketLike

/** Options of a {@link WebSocketTransport}. */
export interface WebSocketTransportOptions {
  /** Largest frame (message) accepted, in bytes (default 16 MiB); a bigger one closes the link with `HEARSAY_FRAME_TOO_LARGE`. */
  maxFrame?: number
  /** Most bytes queued for a peer that is not reading before the link closes with `HEARSAY_BACKPRESSURE` (default 8 MiB). */
  maxSendBuffer?: number
  /** Milliseconds a connect may take before it fails with `HEARSAY_TRANSPORT_ERROR` (default 10 000). */
  connectTimeout?: number
  /** The WebSocket class (default `globalThis.WebSocket`). */
  WebSocket?: WebSocketConstructor
}

// Browsers may close with 1000 or 3000-4999 only; 4000 says "closed on an error".
const CLOSE_NORMAL = 1000
const CLOSE_ERROR = 4000
const OPEN = 1

// The WHATWG WebSocket has no drain event and no write callback: while something is buffered,
// `bufferedAmount` is polled, first after 4 ms, then at doubling intervals up to 64 ms (a link
// that drains fast is noticed fast; one stuck for long costs 16 wake-ups a second at most). No
// timer runs while nothing is buffered, nor after close.
const DRAIN_POLL_FIRST = 4
const DRAIN_POLL_MAX = 64

/**
 * One link over a WHATWG `WebSocket`: every binary message is one frame, in order. A text
 * message closes it with `HEARSAY_DECODE_ERROR`, one over `maxFrame` with
 * `HEARSAY_FRAME_TOO_LARGE` (never delivered), and a peer that stops reading with
 * `HEARSAY_BACKPRESSURE` once `maxSendBuffer` bytes wait (the checks of `send` are
 * `BaseConnection`'s). `drain` comes from polling `bufferedAmount` while it is above 0.
 * Heartbeats are the server's: a browser answers its pings by itself.
 * Events: `frame`, `close` (once), `drain`.
 */
export class WebSocketConnection extends BaseConnection {
  readonly #ws: WebSocketLike
  #finished = false
  #reason: Error | undefined
  #held: Uint8Array[] | undefined = []
  #closeTimer: ReturnType<typeof setTimeout> | undefined
  #pollTimer: ReturnType<typeof setTimeout> | undefined
  #pollDelay = DRAIN_POLL_FIRST

  /** @internal Wraps an open socket; `early` holds what arrived before the caller could listen. */
  constructor(ws: WebSocketLike, remoteAddress: string, options: { maxFrame: number; maxSendBuffer: number }, early: unknown[]) {
    super(remoteAddress, options)
    this.#ws = ws
    ws.onmessage = (event) => this.#onMessage(event.data)
    ws.onclose = (event) => {
      if (this.#reason === undefined && event.code === CLOSE_ERROR) {
        this.#reason = new HearsayError(ErrorCodes.TRANSPORT_ERROR, `peer ${remoteAddress} closed on an error: ${event.reason}`)
      } else if (this.#reason === undefined && event.code === 1009) {
        this.#reason = new HearsayError(ErrorCodes.FRAME_TOO_LARGE, `peer ${remoteAddress} refused a frame over its cap`)
      }
      this.#finish()
    }
    ws.onerror = () => {
      this.#reason ??= new HearsayError(ErrorCodes.TRANSPORT_ERROR, `websocket to ${remoteAddress} failed`)
    }
    for (const data of early) this.#onMessage(data)
    // Messages that came with `open` wait one task, until connect()'s caller has listened.
    scheduleTask(() => this.#release())
  }

  get bufferedBytes(): number {
    return this.isOpen ? this.#ws.bufferedAmount : 0
  }

  protected sendFrame(frame: Uint8Array): void {
    this.#ws.send(frame)
    if (this.#pollTimer === undefined && this.#ws.bufferedAmount > 0) {
      this.#pollDelay = DRAIN_POLL_FIRST
      this.#poll()
    }
  }

  #poll(): void {
    this.#pollTimer = setTimeout(() => {
      this.#pollTimer = undefined
      if (!this.isOpen) return
      if (this.#ws.bufferedAmount === 0) {
        this.flushed()
        return
      }
      this.#pollDelay = Math.min(this.#pollDelay * 2, DRAIN_POLL_MAX)
      this.#poll()
    }, this.#pollDelay)
  }

  /** A WebSocket close handshake (code 4000 with a reason). `close` fires once, with the reason. */
  protected closeLink(reason: Error | undefined): void {
    if (reason !== undefined) {
      this.#reason = reason
      this.#held = undefined
    }
    try {
      if (reason === undefined) this.#ws.close(CLOSE_NORMAL)
      else this.#ws.close(CLOSE_ERROR, reason.message.slice(0, 100))
    } catch {
      // Already closing.
    }
    // A peer that never answers the close handshake must not keep the link forever.
    this.#closeTimer = setTimeout(() => this.#finish(), reason === undefined ? 10_000 : 1_000)
  }

  #onMessage(data: unknown): void {
    if (!this.isOpen) return
    if (typeof data === 'string') {
      this.close(new HearsayError(ErrorCodes.DECODE_ERROR, `text message from ${this.remoteAddress}; hearsay frames are binary`))
      return
    }
    const frame = data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : undefined
    if (frame === undefined) {
      this.close(new HearsayError(ErrorCodes.DECODE_ERROR, `message of an unknown kind from ${this.remoteAddress}`))
      return
    }
    if (frame.length > this.maxFrame) {
      this.close(new HearsayError(ErrorCodes.FRAME_TOO_LARGE, `message from ${this.remoteAddress} exceeds the frame cap of ${this.maxFrame}`))
      return
    }
    if (this.#held !== undefined) this.#held.push(frame)
    else this.emit('frame', frame)
  }

  #release(): void {
    const held = this.#held
    this.#held = undefined
    for (const f of held ?? []) {
      if (this.#reason !== undefined) return
      this.emit('frame', f)
    }
  }

  #finish(): void {
    if (this.#finished) return
    this.#finished = true
    if (this.#reason === undefined) this.#release()
    if (this.#closeTimer !== undefined) clearTimeout(this.#closeTimer)
    if (this.#pollTimer !== undefined) clearTimeout(this.#pollTimer)
    this.#pollTimer = undefined
    this.#ws.onmessage = this.#ws.onclose = this.#ws.onerror = null
    this.closed(this.#reason)
  }
}

/**
 * Hearsay frames over the platform's own `WebSocket` (browsers, workers): connects to a
 * `ws://` or `wss://` address served by the Node `WsTransport` (a `hearsay peer --listen
 * ws://...`). A browser cannot listen: `listen` fails with `HEARSAY_NOT_SUPPORTED`. Uses no
 * Node module. Passes the transport conformance suite against a `WsTransport` listener.
 *
 * @example
 * ```ts
 * const node = new Node({ networkKey: 'k', store })
 * node.use(new WebSocketTransport())
 * await node.connect('ws://127.0.0.1:7001')
 * ```
 */
export class WebSocketTransport implements Transport {
  readonly scheme = 'ws'
  readonly capabilities: TransportCapabilities = { ordered: true, remote: true }
  readonly #options: { maxFrame: number; maxSendBuffer: number; connectTimeout: number }
  readonly #WebSocket: WebSocketConstructor | undefined

  /** @throws RangeError on non-positive limits. */
  constructor(options: WebSocketTransportOptions = {}) {
    this.#options = {
      maxFrame: options.maxFrame ?? DEFAULT_MAX_FRAME,
      maxSendBuffer: options.maxSendBuffer ?? DEFAULT_MAX_SEND_BUFFER,
      connectTimeout: options.connectTimeout ?? 10_000,
    }
    if (!(this.#options.maxFrame > 0) || !(this.#options.maxSendBuffer > 0)) throw new RangeError('maxFrame and maxSendBuffer are positive byte counts')
    this.#WebSocket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
  }

  /** @throws HearsayError `HEARSAY_NOT_SUPPORTED`: a browser cannot accept connections. */
  async listen(url: string): Promise<Listener> {
    throw new HearsayError(ErrorCodes.NOT_SUPPORTED, `cannot listen on ${url}: a browser WebSocket only connects (listen with WsTransport on Node)`)
  }

  /**
   * Connects to `ws://host:port/path` or `wss://...`.
   * @throws TypeError on a malformed address; HearsayError `HEARSAY_TRANSPORT_ERROR` when the handshake fails or times out.
   */
  async connect(url: string): Promise<Connection> {
    let u: URL
    try {
      u = new URL(url)
    } catch {
      throw new TypeError(`a WebSocket address looks like ws://host:port/path, got ${JSON.stringify(url)}`)
    }
    if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new TypeError(`a WebSocket address looks like ws://host:port/path, got ${JSON.stringify(url)}`)
    const Ws = this.#WebSocket
    if (Ws === undefined) throw new HearsayError(ErrorCodes.NOT_SUPPORTED, 'this platform has no WebSocket (pass options.WebSocket)')
    const ws = new Ws(url)
    ws.binaryType = 'arraybuffer'
    const early: unknown[] = []
    ws.onmessage = (event) => void early.push(event.data)
    await new Promise<void>((resolve, reject) => {
      const fail = (why: string) => {
        clearTimeout(timer)
        ws.onopen = ws.onerror = ws.onclose = ws.onmessage = null
        try {
          ws.close()
        } catch {
          // Never opened.
        }
        reject(new HearsayError(ErrorCodes.TRANSPORT_ERROR, `cannot connect to ${url}: ${why}`))
      }
      const timer = setTimeout(() => fail(`no answer within ${this.#options.connectTimeout} ms`), this.#options.connectTimeout)
      ws.onopen = () => {
        clearTimeout(timer)
        ws.onopen = ws.onerror = ws.onclose = null
        resolve()
      }
      ws.onerror = () => fail('the handshake failed')
      ws.onclose = (e) => fail(`closed during the handshake (code ${e.code})`)
    })
    if (ws.readyState !== OPEN) throw new HearsayError(ErrorCodes.TRANSPORT_ERROR, `cannot connect to ${url}: not open`)
    return new WebSocketConnection(ws, url, this.#options, early)
  }
}
