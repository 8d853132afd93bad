import { BaseConnection, DEFAULT_MAX_SEND_BUFFER } from './BaseConnection.js'
import { scheduleTask } from './scheduleTask.js'
import { HearsayError, ErrorCodes } from './errors.js'
import { DEFAULT_MAX_FRAME } from './framing.js'
import type { Connection, Listener, Transport, TransportCapabilities } from './transport.js'

/** Options of a {@link MemoryTransport}. */
export interface MemoryTransportOptions {
  /** Largest frame accepted, in bytes (default 16 MiB). */
  maxFrame?: number | undefined
  /** Most bytes queued for a peer that is not reading before the connection closes with `HEARSAY_BACKPRESSURE` (default 8 MiB). */
  maxSendBuffer?: number | undefined
  /** The in-process namespace of `mem://` addresses (default: one shared by the whole process). */
  network?: MemoryNetwork
}

type Accept = (server: MemoryConnection) => void

/**
 * A namespace of `mem://name` addresses. Transports sharing a network reach each other; the
 * default one is shared by the whole process. Give tests their own to keep names apart.
 */
export class MemoryNetwork {
  readonly #listeners = new Map<string, Accept>()

  /** @internal */
  bind(name: string, accept: Accept): void {
    if (this.#listeners.has(name)) throw new HearsayError(ErrorCodes.TRANSPORT_ERROR, `mem://${name} is already listening`)
    this.#listeners.set(name, accept)
  }

  /** @internal */
  unbind(name: string, accept: Accept): void {
    if (this.#listeners.get(name) === accept) this.#listeners.delete(name)
  }

  /** @internal */
  lookup(name: string): Accept | undefined {
    return this.#listeners.get(name)
  }

  /** Addresses currently listening, sorted. */
  addresses(): string[] {
    return [...this.#listeners.keys()].sort().map((n) => `mem://${n}`)
  }
}

const defaultNetwork = new MemoryNetwork()

function parseName(url: string): string {
  const m = /^mem:\/\/(.+)$/.exec(url)
  if (m === null) throw new TypeError(`a memory address looks like mem://name, got ${JSON.stringify(url)}`)
  return m[1]!
}

let dialCounter = 0

/**
 * One end of an in-process link. Frames are copied on `send` and delivered in order in a later
 * macrotask, like a socket; bytes sent and not yet delivered count against the sender's bounded
 * buffer, and `drain` fires once they have all been delivered. {@link pause} makes this end
 * stop reading, so the other end's buffer fills up (what a peer that stops reading does to a
 * socket). The send-side checks are {@link BaseConnection}'s; the frame cap is the smaller of
 * the two ends' caps.
 */
export class MemoryConnection extends BaseConnection {
  #peer!: MemoryConnection
  #queue: Uint8Array[] = []
  #buffered = 0
  #paused = false
  #scheduled = false
  #closeAfterFlush = false

  /** @internal */
  constructor(remoteAddress: string, maxFrame: number, maxSendBuffer: number) {
    super(remoteAddress, { maxFrame, maxSendBuffer })
  }

  /** @internal */
  static pair(aAddress: string, bAddress: string, a: { maxFrame: number; maxSendBuffer: number }, b: { maxFrame: number; maxSendBuffer: number }): [MemoryConnection, MemoryConnection] {
    const cap = Math.min(a.maxFrame, b.maxFrame)
    const x = new MemoryConnection(aAddress, cap, a.maxSendBuffer)
    const y = new MemoryConnection(bAddress, cap, b.maxSendBuffer)
    x.#peer = y
    y.#peer = x
    return [x, y]
  }

  get bufferedBytes(): number {
    return this.#buffered
  }

  /** True while this end does not read. */
  get paused(): boolean {
    return this.#paused
  }

  protected sendFrame(frame: Uint8Array): void {
    this.#queue.push(frame.slice())
    this.#buffered += frame.length
    this.#schedule()
  }

  /** Stops reading: frames for this end stay queued on the other end, counting against its buffer. */
  pause(): void {
    this.#paused = true
  }

  /** Reads again, delivering what was queued. */
  resume(): void {
    if (!this.#paused) return
    this.#paused = false
    this.#peer.#schedule()
  }

  #schedule(): void {
    if (this.#scheduled || this.#peer.#paused) return
    this.#scheduled = true
    scheduleTask(() => this.#deliver())
  }

  #deliver(): void {
    this.#scheduled = false
    const peer = this.#peer
    while (this.#queue.length > 0 && !peer.#paused && peer.isOpen) {
      const f = this.#queue.shift()!
      this.#buffered -= f.length
      peer.emit('frame', f)
    }
    if (this.#closeAfterFlush && (this.#queue.length === 0 || !peer.isOpen)) {
      this.#closeAfterFlush = false
      this.#queue = []
      this.#buffered = 0
      peer.#finish()
    }
    if (this.#queue.length === 0) this.flushed()
  }

  /**
   * Closes both ends. Without a reason the close is graceful: frames already sent are still
   * delivered (unless the other end is paused), then the other end sees `close`. With a reason
   * queued frames are dropped. `close` fires once on each end.
   */
  protected closeLink(reason: Error | undefined): void {
    const peer = this.#peer
    if (reason === undefined && this.#queue.length > 0 && !peer.#paused) {
      this.#closeAfterFlush = true
      this.#schedule()
    } else {
      this.#queue = []
      this.#buffered = 0
      scheduleTask(() => peer.#finish())
    }
    scheduleTask(() => this.closed(reason))
  }

  #finish(): void {
    // Already closed from this side: its own close event has been (or will be) emitted.
    if (!this.isOpen) return
    this.#queue = []
    this.#buffered = 0
    this.closed(undefined)
  }
}

/**
 * Connections inside one process, addressed `mem://name`: the reference transport, and the one
 * hearsay nodes use in tests. Frames are delivered in order and without loss while the
 * connection is open; sends are bounded (a peer that stops reading is disconnected with
 * `HEARSAY_BACKPRESSURE`) and frames capped (`HEARSAY_FRAME_TOO_LARGE`). Passes the transport
 * conformance suite in `@hearsay/core/testing`.
 */
export class MemoryTransport implements Transport {
  readonly scheme = 'mem'
  readonly capabilities: TransportCapabilities = { ordered: true, remote: false }
  readonly maxFrame: number
  readonly maxSendBuffer: number
  readonly network: MemoryNetwork

  constructor(options: MemoryTransportOptions = {}) {
    this.maxFrame = options.maxFrame ?? DEFAULT_MAX_FRAME
    this.maxSendBuffer = options.maxSendBuffer ?? DEFAULT_MAX_SEND_BUFFER
    this.network = options.network ?? defaultNetwork
    if (!(this.maxFrame > 0) || !(this.maxSendBuffer > 0)) throw new RangeError('maxFrame and maxSendBuffer are positive byte counts')
  }

  /**
   * Listens on `mem://name`. Closing the listener closes every connection it accepted.
   * @throws HearsayError `HEARSAY_TRANSPORT_ERROR` when the name is taken.
   */
  async listen(url: string, onConnection: (connection: Connection) => void): Promise<Listener> {
    const name = parseName(url)
    const accepted = new Set<MemoryConnection>()
    const network = this.network
    const limits = { maxFrame: this.maxFrame, maxSendBuffer: this.maxSendBuffer }
    let closed = false
    const accept: Accept = (server) => {
      accepted.add(server)
      server.once('close', () => accepted.delete(server))
      onConnection(server)
    }
    ;(accept as Accept & { limits: typeof limits }).limits = limits
    network.bind(name, accept)
    return {
      url: `mem://${name}`,
      async close(): Promise<void> {
        if (closed) return
        closed = true
        network.unbind(name, accept)
        const waits = [...accepted].map((c) => new Promise<void>((resolve) => (c.isOpen ? c.once('close', () => resolve()) : resolve())))
        for (const c of accepted) c.close()
        await Promise.all(waits)
      },
    }
  }

  /**
   * Connects to `mem://name`.
   * @throws HearsayError `HEARSAY_TRANSPORT_ERROR` when nothing listens there.
   */
  async connect(url: string): Promise<Connection> {
    const name = parseName(url)
    const accept = this.network.lookup(name) as (Accept & { limits?: { maxFrame: number; maxSendBuffer: number } }) | undefined
    if (accept === undefined) throw new HearsayError(ErrorCodes.TRANSPORT_ERROR, `nothing listens on ${url}`)
    const remote = accept.limits ?? { maxFrame: this.maxFrame, maxSendBuffer: this.maxSendBuffer }
    const [client, server] = MemoryConnection.pair(`mem://${name}`, `mem://${name}#${++dialCounter}`, { maxFrame: this.maxFrame, maxSendBuffer: this.maxSendBuffer }, remote)
    accept(server)
    return client
  }
}
