import { BaseConnection, DEFAULT_MAX_FRAME, ErrorCodes, HearsayError, randomReplicaId, scheduleTask, type Connection, type Listener, type Transport, type TransportCapabilities } from '@hearsay/core'

/** The part of the WHATWG `BroadcastChannel` the transport uses. */
export interface BroadcastChannelLike {
  postMessage(message: unknown): void
  onmessage: ((event: { data: unknown }) => void) | null
  close(): void
}

/** A constructor of {@link BroadcastChannelLike}: `globalThis.BroadcastChannel` by default. */
export type BroadcastChannelConstructor = new (name: string) => BroadcastChannelLike

/** Options of a {@link BroadcastChannelTransport}. */
export interface BroadcastChannelTransportOptions {
  /** Largest frame sent or accepted, in bytes (default 16 MiB); a bigger one closes the link with `HEARSAY_FRAME_TOO_LARGE`. */
  maxFrame?: number
  /** Milliseconds a connect waits for the listener's answer before `HEARSAY_TRANSPORT_ERROR` (default 2000). */
  connectTimeout?: number
  /** The BroadcastChannel class (default `globalThis.BroadcastChannel`). */
  BroadcastChannel?: BroadcastChannelConstructor
}

// Messages: to a listener's channel `hearsay-bc:<name>`, { syn: connection id }; on a
// connection's channels `hearsay-bc:<id>:c` (to the client) and `:s` (to the server):
// { ack: true } (server accepted), { frame }, { fin: true, reason?: string }.
type Message = { syn: string } | { ack: true } | { frame: Uint8Array } | { fin: true; reason?: string }

function parseBcUrl(url: string): string {
  const m = /^bc:\/\/(.+)$/.exec(url)
  if (m === null) throw new TypeError(`a BroadcastChannel address looks like bc://name, got ${JSON.stringify(url)}`)
  return m[1]!
}

/**
 * One link between two contexts of one origin (tabs, workers, frames) over a pair of
 * `BroadcastChannel`s, in order. A frame over `maxFrame` closes it with
 * `HEARSAY_FRAME_TOO_LARGE` on the side that sends (or receives) it, never delivered (the
 * checks of `send` are `BaseConnection`'s). A `BroadcastChannel` has no send buffer to watch:
 * `postMessage` hands the frame to the browser at once, so `bufferedBytes` is always 0, a
 * send is never back-pressured and never owed a `drain`. Events: `frame`, `close` (once, on
 * both ends).
 */
export class BroadcastChannelConnection extends BaseConnection {
  readonly #in: BroadcastChannelLike
  readonly #out: BroadcastChannelLike
  #finished = false
  #held: Uint8Array[] | undefined

  /** @internal */
  constructor(remoteAddress: string, inbox: BroadcastChannelLike, outbox: BroadcastChannelLike, maxFrame: number, hold: boolean) {
    // No send buffer: nothing to bound.
    super(remoteAddress, { maxFrame, maxSendBuffer: Infinity })
    this.#in = inbox
    this.#out = outbox
    inbox.onmessage = (event) => this.#onMessage(event.data as Message)
    if (hold) {
      // Frames the server sent as it accepted wait one task, until connect()'s caller listens.
      this.#held = []
      scheduleTask(() => this.#release())
    }
  }

  /** Always 0: `postMessage` buffers nothing this side can see. */
  get bufferedBytes(): number {
    return 0
  }

  protected sendFrame(frame: Uint8Array): void {
    this.#out.postMessage({ frame })
  }

  /** The other end sees `close` (with this reason's message when there is one). */
  protected closeLink(reason: Error | undefined): void {
    this.#out.postMessage(reason === undefined ? { fin: true } : { fin: true, reason: reason.message })
    this.#finish(reason)
  }

  #onMessage(m: Message): void {
    if (!this.isOpen || typeof m !== 'object' || m === null) return
    if ('frame' in m) {
      const f = m.frame
      if (!ArrayBuffer.isView(f)) {
        this.close(new HearsayError(ErrorCodes.DECODE_ERROR, `a message from ${this.remoteAddress} is not a frame`))
        return
      }
      if (f.byteLength > this.maxFrame) {
        this.close(new HearsayError(ErrorCodes.FRAME_TOO_LARGE, `message from ${this.remoteAddress} exceeds the frame cap of ${this.maxFrame}`))
        return
      }
      const frame = new Uint8Array(f.buffer, f.byteOffset, f.byteLength)
      if (this.#held !== undefined) this.#held.push(frame)
      else this.emit('frame', frame)
    } else if ('fin' in m) {
      this.#release()
      this.#finish(m.reason === undefined ? undefined : new HearsayError(ErrorCodes.TRANSPORT_ERROR, `peer ${this.remoteAddress} closed: ${m.reason}`))
    }
  }

  #release(): void {
    const held = this.#held
    this.#held = undefined
    for (const f of held ?? []) if (this.isOpen) this.emit('frame', f)
  }

  #finish(reason: Error | undefined): void {
    if (this.#finished) return
    this.#finished = true
    // Closed now (the channels are), `close` emitted asynchronously, as over a socket: the
    // caller of close() sees it after close() returns.
    this.ended()
    this.#held = undefined
    this.#in.onmessage = null
    this.#in.close()
    this.#out.close()
    scheduleTask(() => this.closed(reason))
  }
}

/**
 * Hearsay frames between tabs, workers and frames of one origin over `BroadcastChannel`, with
 * no server: `listen('bc://notes-tab-1')` in one tab, `connect('bc://notes-tab-1')` in another.
 * A connect that no listener answers within `connectTimeout` fails with
 * `HEARSAY_TRANSPORT_ERROR`. Uses no Node module; Node has `BroadcastChannel` too (threads of
 * one process). Passes the transport conformance suite (there is no backpressure to test).
 */
export class BroadcastChannelTransport implements Transport {
  readonly scheme = 'bc'
  readonly capabilities: TransportCapabilities = { ordered: true, remote: false }
  readonly #maxFrame: number
  readonly #connectTimeout: number
  readonly #Channel: BroadcastChannelConstructor | undefined

  /** @throws RangeError on a non-positive `maxFrame`. */
  constructor(options: BroadcastChannelTransportOptions = {}) {
    this.#maxFrame = options.maxFrame ?? DEFAULT_MAX_FRAME
    this.#connectTimeout = options.connectTimeout ?? 2000
    if (!(this.#maxFrame > 0)) throw new RangeError('maxFrame is a positive byte count')
    this.#Channel = options.BroadcastChannel ?? (globalThis as unknown as { BroadcastChannel?: BroadcastChannelConstructor }).BroadcastChannel
  }

  #channel(name: string): BroadcastChannelLike {
    if (this.#Channel === undefined) throw new HearsayError(ErrorCodes.NOT_SUPPORTED, 'this platform has no BroadcastChannel (pass options.BroadcastChannel)')
    // An open channel keeps a Node process alive, as a socket does: close listeners and links.
    return new this.#Channel(`hearsay-bc:${name}`)
  }

  /**
   * Listens as `bc://name`. Two listeners on one name in one origin both answer; give each tab its own.
   * @throws TypeError on a malformed address.
   */
  async listen(url: string, onConnection: (connection: Connection) => void): Promise<Listener> {
    const name = parseBcUrl(url)
    const inbox = this.#channel(name)
    const accepted = new Set<BroadcastChannelConnection>()
    inbox.onmessage = (event) => {
      const m = event.data as Message
      if (typeof m !== 'object' || m === null || !('syn' in m) || typeof m.syn !== 'string') return
      const c = new BroadcastChannelConnection(`bc://${name}#${m.syn}`, this.#channel(`${m.syn}:s`), this.#channel(`${m.syn}:c`), this.#maxFrame, false)
      accepted.add(c)
      c.once('close', () => accepted.delete(c))
      this.#channelSend(`${m.syn}:c`, { ack: true })
      onConnection(c)
    }
    let closing: Promise<void> | undefined
    return {
      url: `bc://${name}`,
      close: () => {
        closing ??= new Promise<void>((resolve) => {
          inbox.onmessage = null
          inbox.close()
          const waits = [...accepted].map((c) => new Promise<void>((r) => c.once('close', () => r())))
          for (const c of accepted) c.close()
          void Promise.all(waits).then(() => resolve())
        })
        return closing
      },
    }
  }

  #channelSend(name: string, m: Message): void {
    const c = this.#channel(name)
    c.postMessage(m)
    c.close()
  }

  /**
   * Connects to the listener at `bc://name`.
   * @throws TypeError on a malformed address; HearsayError `HEARSAY_TRANSPORT_ERROR` when no listener answers in time.
   */
  async connect(url: string): Promise<Connection> {
    const name = parseBcUrl(url)
    const id = randomReplicaId()
    const inbox = this.#channel(`${id}:c`)
    const early: Message[] = []
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        inbox.onmessage = null
        inbox.close()
        reject(new HearsayError(ErrorCodes.TRANSPORT_ERROR, `cannot connect to ${url}: no listener answered within ${this.#connectTimeout} ms`))
      }, this.#connectTimeout)
      inbox.onmessage = (event) => {
        const m = event.data as Message
        if (typeof m === 'object' && m !== null && 'ack' in m) {
          clearTimeout(timer)
          inbox.onmessage = (e) => void early.push(e.data as Message)
          resolve()
        }
      }
      this.#channelSend(name, { syn: id })
    })
    const c = new BroadcastChannelConnection(url, inbox, this.#channel(`${id}:s`), this.#maxFrame, true)
    // What came between the ack and now goes through the connection, in order.
    for (const m of early) (inbox.onmessage as (e: { data: unknown }) => void)({ data: m })
    return c
  }
}
