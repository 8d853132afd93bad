import * as net from 'node:net'
import { BaseConnection, DEFAULT_MAX_FRAME, DEFAULT_MAX_SEND_BUFFER, ErrorCodes, FrameDecoder, HearsayError, encodeFrame, type Connection, type Listener, type Transport, type TransportCapabilities } from '@hearsay/core'


/** Options of a {@link TcpTransport}. */
export interface TcpTransportOptions {
  /** Largest frame accepted, in bytes (default 16 MiB); checked from the length prefix before buffering. */
  maxFrame?: number
  /** Most bytes queued for a peer that is not reading before the connection closes with `HEARSAY_BACKPRESSURE` (default 8 MiB). */
  maxSendBuffer?: number
  /** TCP keep-alive probe delay in ms, so dead links are noticed by the kernel (default 30 000; 0 turns it off). */
  keepAlive?: number
  /** Close a connection that received nothing for this many ms with `HEARSAY_TIMEOUT` (default 0: never). */
  idleTimeout?: number
  /** Milliseconds a connect may take before it fails with `HEARSAY_TRANSPORT_ERROR` (default 10 000). */
  connectTimeout?: number
  /**
   * Local address outgoing connections are bound to (default: the one the system picks). A
   * load test uses it to spread many peers of one machine over `127.0.0.x` loopback addresses,
   * as they would come from many hosts.
   */
  localAddress?: string
}

/** Parses `tcp://host:port`. @throws TypeError when it is not such an address. */
export function parseTcpUrl(url: string): { host: string; port: number } {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new TypeError(`a TCP address looks like tcp://host:port, got ${JSON.stringify(url)}`)
  }
  if (u.protocol !== 'tcp:' || u.hostname === '' || u.port === '' || (u.pathname !== '' && u.pathname !== '/')) {
    throw new TypeError(`a TCP address looks like tcp://host:port, got ${JSON.stringify(url)}`)
  }
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname
  return { host, port: Number(u.port) }
}

function formatUrl(host: string, port: number): string {
  return `tcp://${host.includes(':') ? `[${host}]` : host}:${port}`
}

/**
 * One TCP link carrying length-prefixed frames (core's `encodeFrame`/`FrameDecoder`: a var-uint
 * length, then the payload). Frames arrive whole and in order; a length over `maxFrame` closes
 * the link with `HEARSAY_FRAME_TOO_LARGE` before any of that frame is buffered; a peer that
 * stops reading is disconnected with `HEARSAY_BACKPRESSURE` once `maxSendBuffer` bytes wait
 * (the checks of `send` are `BaseConnection`'s). `bufferedBytes` is the socket's
 * `writableLength`; `drain` fires when a write's callback finds it 0.
 * Events: `frame` (Uint8Array), `drain`, `close` (reason?: Error), once.
 */
export class TcpConnection extends BaseConnection {
  readonly #socket: net.Socket
  readonly #decoder: FrameDecoder
  #reason: Error | undefined
  // One function for every write: node calls it once the bytes reached the kernel.
  readonly #written = () => this.flushed()

  /** @internal Wraps a connected socket. */
  constructor(socket: net.Socket, remoteAddress: string, options: Required<Pick<TcpTransportOptions, 'maxFrame' | 'maxSendBuffer' | 'keepAlive' | 'idleTimeout'>>) {
    super(remoteAddress, options)
    this.#socket = socket
    this.#decoder = new FrameDecoder(options.maxFrame)
    socket.setNoDelay(true)
    if (options.keepAlive > 0) socket.setKeepAlive(true, options.keepAlive)
    if (options.idleTimeout > 0) {
      socket.setTimeout(options.idleTimeout, () => this.close(new HearsayError(ErrorCodes.TIMEOUT, `no data from ${remoteAddress} for ${options.idleTimeout} ms`)))
    }
    socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    // The peer finished sending: everything it sent has been read, so finish our side too.
    socket.on('end', () => this.close())
    socket.on('error', (err) => {
      this.#reason ??= new HearsayError(ErrorCodes.TRANSPORT_ERROR, `tcp link to ${remoteAddress} failed: ${err.message}`, { cause: err })
    })
    socket.on('close', () => this.closed(this.#reason))
  }

  get bufferedBytes(): number {
    return this.isOpen ? this.#socket.writableLength : 0
  }

  /** Caps the frames accepted from now on (checked from the length prefix, before buffering). */
  limitFrames(maxFrame: number): void {
    this.#decoder.maxFrame = Math.min(maxFrame, this.maxFrame)
  }

  /** Stops reading from the socket (the kernel buffers fill and the peer's sends back up). */
  pause(): void {
    this.#socket.pause()
  }

  /** Reads again after {@link pause}. */
  resume(): void {
    this.#socket.resume()
  }

  protected sendFrame(frame: Uint8Array): void {
    this.#socket.write(encodeFrame(frame), this.#written)
  }

  /**
   * Without a reason the close is graceful: frames already sent are flushed first. With one
   * the socket is destroyed at once. `close` fires once, with the reason, when the socket closed.
   */
  protected closeLink(reason: Error | undefined): void {
    if (reason !== undefined) {
      this.#reason = reason
      this.#socket.destroy()
    } else {
      // Read on (and discard) until the peer's end arrives, or a paused socket never closes.
      this.#socket.resume()
      this.#socket.end()
      // A peer that never finishes its side must not keep the socket forever.
      const timer = setTimeout(() => this.#socket.destroy(), 10_000)
      timer.unref()
      this.#socket.once('close', () => clearTimeout(timer))
    }
  }

  #onData(chunk: Buffer): void {
    if (!this.isOpen) return
    let frames: Uint8Array[]
    try {
      frames = this.#decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
    } catch (err) {
      this.close(err as HearsayError)
      return
    }
    for (const f of frames) {
      // A listener may close us while we deliver a burst.
      if (!this.isOpen) return
      this.emit('frame', f)
    }
  }
}

/**
 * Hearsay frames over TCP (`net`), addressed `tcp://host:port`. Ordered and lossless while the
 * connection is open, frames capped, send buffers bounded, keep-alive on. `listen` on port 0
 * picks a free port and reports it in `Listener.url`. Closing a listener closes every
 * connection it accepted. Passes the transport conformance suite in `@hearsay/core/testing`.
 *
 * @example
 * ```ts
 * const tcp = new TcpTransport()
 * const listener = await tcp.listen('tcp://127.0.0.1:0', (conn) => conn.on('frame', (f) => conn.send(f)))
 * const conn = await tcp.connect(listener.url)
 * conn.send(new Uint8Array([1, 2, 3]))
 * ```
 */
export class TcpTransport implements Transport {
  readonly scheme = 'tcp'
  readonly capabilities: TransportCapabilities = { ordered: true, remote: true }
  readonly #options: Required<Omit<TcpTransportOptions, 'localAddress'>>
  readonly #localAddress: string | undefined

  /** @throws RangeError on non-positive limits. */
  constructor(options: TcpTransportOptions = {}) {
    this.#options = {
      maxFrame: options.maxFrame ?? DEFAULT_MAX_FRAME,
      maxSendBuffer: options.maxSendBuffer ?? DEFAULT_MAX_SEND_BUFFER,
      keepAlive: options.keepAlive ?? 30_000,
      idleTimeout: options.idleTimeout ?? 0,
      connectTimeout: options.connectTimeout ?? 10_000,
    }
    if (options.localAddress !== undefined && (typeof options.localAddress !== 'string' || net.isIP(options.localAddress) === 0)) throw new TypeError('localAddress is an IP address')
    this.#localAddress = options.localAddress
    if (!(this.#options.maxFrame > 0) || !(this.#options.maxSendBuffer > 0)) throw new RangeError('maxFrame and maxSendBuffer are positive byte counts')
  }

  /**
   * Listens on `tcp://host:port` (port 0: any free port).
   * @throws TypeError on a malformed address; HearsayError `HEARSAY_TRANSPORT_ERROR` when the address cannot be bound.
   */
  async listen(url: string, onConnection: (connection: Connection) => void): Promise<Listener> {
    const { host, port } = parseTcpUrl(url)
    const accepted = new Set<TcpConnection>()
    const server = net.createServer((socket) => {
      const c = new TcpConnection(socket, formatUrl(socket.remoteAddress ?? '?', socket.remotePort ?? 0), this.#options)
      accepted.add(c)
      c.once('close', () => accepted.delete(c))
      onConnection(c)
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new HearsayError(ErrorCodes.TRANSPORT_ERROR, `cannot listen on ${url}: ${err.message}`, { cause: err })))
      server.listen(port, host, () => resolve())
    })
    server.on('error', () => {})
    const address = server.address() as net.AddressInfo
    let closing: Promise<void> | undefined
    return {
      url: formatUrl(host, address.port),
      close(): Promise<void> {
        closing ??= new Promise<void>((resolve) => {
          const waits = [...accepted].map((c) => new Promise<void>((r) => c.once('close', () => r())))
          server.close(() => void Promise.all(waits).then(() => resolve()))
          for (const c of accepted) c.close()
        })
        return closing
      },
    }
  }

  /**
   * Connects to `tcp://host:port`.
   * @throws TypeError on a malformed address; HearsayError `HEARSAY_TRANSPORT_ERROR` when nothing answers there.
   */
  async connect(url: string): Promise<Connection> {
    const { host, port } = parseTcpUrl(url)
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host, port, ...(this.#localAddress !== undefined && { localAddress: this.#localAddress }) })
      const timer = setTimeout(() => {
        s.destroy()
        reject(new HearsayError(ErrorCodes.TRANSPORT_ERROR, `connecting to ${url} timed out`))
      }, this.#options.connectTimeout)
      s.once('connect', () => {
        clearTimeout(timer)
        s.removeAllListeners('error')
        resolve(s)
      })
      s.once('error', (err) => {
        clearTimeout(timer)
        reject(new HearsayError(ErrorCodes.TRANSPORT_ERROR, `cannot connect to ${url}: ${err.message}`, { cause: err }))
      })
    })
    return new TcpConnection(socket, formatUrl(host, port), this.#options)
  }
}
