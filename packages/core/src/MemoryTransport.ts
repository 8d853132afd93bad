import { Emitter } from './Emitter.js'
import { scheduleTask } from './scheduleTask.js'
import { HearsayError, ErrorCodes } from './errors.js'
import { DEFAULT_MAX_FRAME } from './framing.js'
import type { Connection, ConnectionEvents, Listener, Transport, TransportCapabilities } from './transport.js'

/** Default bound on the bytes one connection holds queued for its peer (8 MiB). */
export const DEFAULT_MAX_SEND_BUFFER = 8 * 1024 * 1024

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
 * buffer. {@link pause} makes this end stop reading, so the other end's buffer fills up (what a
 * peer that stops reading does to a socket).
 */
export class MemoryConnection extends Emitter<ConnectionEvents> implements Connection {
  readonly remoteAddress: string
  #peer!: MemoryConnection
  #open = true
  #queue: Uint8Array[] = []
  #buffered = 0
  #paused = false
  #scheduled = false
  #closeAfterFlush = false
  readonly #maxFrame: number
  readonly #maxSendBuffer: number

  /** @internal */
  constructor(remoteAddress: string, maxFrame: number, maxSendBuffer: number) {
    super()
    this.remoteAddress = remoteAddress
    this.#maxFrame = maxFrame
    this.#maxSendBuffer = maxSendBuffer
  }

  /** @internal */
  static pair(aAddress: string, bAddress: string, a: { maxFrame: number; maxSendBuffer: number }, b: { maxFrame: number; maxSendBuffer: number }): [MemoryConnection, MemoryConnection] {
    const x = new MemoryConnection(aAddress, a.maxFrame, a.maxSendBuffer)
    const y = new MemoryConnection(bAddress, b.maxFrame, b.maxSendBuffer)
    x.#peer = y
    y.#peer = x
    return [x, y]
  }

  get isOpen(): boolean {
    return this.#open
  }

  get bufferedBytes(): number {
    return this.#buffered
  }

  /** True while this end does not read. */
  get paused(): boolean {
    return this.#paused
  }

  send(frame: Uint8Array): boolean {
    if (!this.#open) return false
    if (frame.length > this.#maxFrame || frame.length > this.#peer.#maxFrame) {
      this.close(new HearsayError(ErrorCodes.FRAME_TOO_LARGE, `frame of ${frame.length} bytes exceeds the cap of ${Math.min(this.#maxFrame, this.#peer.#maxFrame)}`))
      return false
    }
    if (this.#buffered + frame.length > this.#maxSendBuffer) {
      this.close(new HearsayError(ErrorCodes.BACKPRESSURE, `peer ${this.remoteAddress} stopped reading: ${this.#buffered} bytes queued`))
      return false
    }
    this.#queue.push(frame.slice())
    this.#buffered += frame.length
    this.#schedule()
    return true
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
    while (this.#queue.length > 0 && !peer.#paused && peer.#open) {
      const f = this.#queue.shift()!
      this.#buffered -= f.length
      peer.emit('frame', f)
    }
    if (this.#closeAfterFlush && (this.#queue.length === 0 || !peer.#open)) {
      this.#closeAfterFlush = false
      this.#queue = []
      this.#buffered = 0
      peer.#finish(undefined)
    }
    if (this.#queue.length === 0 && this.#buffered === 0 && this.#open) this.emit('drain')
  }

  /**
   * Closes both ends. Without a reason the close is graceful: frames already sent are still
   * delivered (unless the other end is paused), then the other end sees `close`. With a reason
   * queued frames are dropped. `close` fires once on each end.
   */
  close(reason?: Error): void {
    if (!this.#open) return
    this.#open = false
    const peer = this.#peer
    if (reason === undefined && this.#queue.length > 0 && !peer.#paused) {
      this.#closeAfterFlush = true
      this.#schedule()
    } else {
      this.#queue = []
      this.#buffered = 0
      scheduleTask(() => peer.#finish(undefined))
    }
    scheduleTask(() => this.emit('close', reason))
  }

  #finish(reason: Error | undefined): void {
    // Already closed from this side: its own close event has been (or will be) emitted.
    if (!this.#open) return
    this.#open = false
    this.#queue = []
    this.#buffered = 0
    this.emit('close', reason)
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
