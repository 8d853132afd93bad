import { ErrorCodes, HearsayError, isHearsayError, type Connection, type Listener, type Transport } from '@hearsay/core'
import type { Logger } from './options.js'
import type { Session } from './Session.js'

/**
 * The URL scheme of an address, lower case (`tcp` for `tcp://host:port`).
 * @throws TypeError when the address is not a URL.
 */
export function schemeOf(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*):/i.exec(url)
  if (m === null) throw new TypeError(`an address is a URL such as mem://name, tcp://host:port or ws://host:port; got ${JSON.stringify(url)}`)
  return m[1]!.toLowerCase()
}

/** What a {@link Dialer} needs from its node. */
export interface DialerOptions {
  /** First reconnect delay in ms; doubles per failure up to `maxBackoff`. */
  readonly backoff: number
  readonly maxBackoff: number
  /** Most connections dialed on the node's own initiative. */
  readonly maxConnections: number
  now(): number
  /** Uniform in [0, 1), for the backoff jitter. */
  random(): number
  log(level: keyof Logger, message: string, data?: Record<string, unknown>): void
  /**
   * Wraps a new connection in a session (through the secure channel); the session reports back
   * through `ready` and `closed`. `listener` is set for accepted connections; `undefined` when
   * the connection was refused (over the bounds on unauthenticated connections) and closed.
   */
  session(connection: Connection, dialed: boolean, url: string | undefined, listener: string | undefined, ordered: boolean): Session | undefined
}

/** How {@link Dialer.ready} judged a session that just authenticated. */
export type ReadyVerdict =
  /** The node dialed itself; the session is closed and the address never dialed again. */
  | 'self'
  /** A duplicate of a connection to the same peer; this one is closed. */
  | 'dropped'
  /** The first live connection to the peer. */
  | 'first'
  /** Another live connection to the peer, kept (the other end will close one). */
  | 'more'

interface Pin {
  peerId: string | undefined
  waiters: Array<{ resolve: (id: string) => void; reject: (e: Error) => void }>
}

/**
 * A node's connections: transports by scheme, listeners and the addresses they listen on, the
 * live sessions, dialing with exponential backoff and jitter, pinned addresses (from `connect`,
 * redialed until `disconnect`) and the choice between two connections to one peer.
 */
export class Dialer {
  readonly #options: DialerOptions
  readonly #transports = new Map<string, Transport>()
  readonly #listeners: Listener[] = []
  readonly #addresses: string[] = []
  readonly #sessions = new Set<Session>()
  readonly #pinned = new Map<string, Pin>()
  readonly #dialing = new Set<string>()
  readonly #backoffs = new Map<string, { failures: number; next: number }>()
  #halted = false
  /** Bytes moved by sessions that closed. */
  readonly closedBytes = { in: 0, out: 0 }

  constructor(options: DialerOptions) {
    this.#options = options
  }

  /** Addresses listened on, in the order the listeners started. */
  get addresses(): readonly string[] {
    return this.#addresses
  }

  /** Every open session, authenticated or not. */
  get sessions(): ReadonlySet<Session> {
    return this.#sessions
  }

  /** True when the node holds as many connections as it dials on its own. */
  get full(): boolean {
    return this.#sessions.size >= this.#options.maxConnections
  }

  /** Registers a transport for its URL scheme, replacing any other for that scheme. */
  use(transport: Transport): void {
    if (transport === null || typeof transport !== 'object' || typeof transport.scheme !== 'string') throw new TypeError('a transport has a scheme, listen() and connect()')
    this.#transports.set(transport.scheme.replace(/:$/, '').toLowerCase(), transport)
  }

  /** @throws HearsayError `HEARSAY_NOT_SUPPORTED` when no transport is registered for the scheme. */
  transportFor(url: string): Transport {
    const t = this.#transports.get(schemeOf(url))
    if (t === undefined) throw new HearsayError(ErrorCodes.NOT_SUPPORTED, `no transport registered for ${schemeOf(url)}:// (use node.use(transport))`)
    return t
  }

  /** Listens on `url`; returns the address peers can use. @throws HearsayError `HEARSAY_NOT_OPEN` when halted meanwhile. */
  async listen(url: string): Promise<string> {
    const t = this.transportFor(url)
    const listener = await t.listen(url, (c) => this.#attach(c, false, undefined, url, t.capabilities.ordered))
    if (this.#halted) {
      await listener.close()
      throw new HearsayError(ErrorCodes.NOT_OPEN, 'node is closed')
    }
    this.#listeners.push(listener)
    this.#addresses.push(listener.url)
    return listener.url
  }

  /** Pins `url` (redialed whenever it is down) and resolves with the peer's id once a session to it is ready. */
  connect(url: string): Promise<string> {
    let pin = this.#pinned.get(url)
    if (pin === undefined) this.#pinned.set(url, (pin = { peerId: undefined, waiters: [] }))
    const live = [...this.#sessions].find((s) => s.url === url && s.state === 'ready')
    if (live !== undefined) return Promise.resolve(live.peerId!)
    const result = new Promise<string>((resolve, reject) => pin.waiters.push({ resolve, reject }))
    if (!this.#dialing.has(url)) void this.dial(url)
    return result
  }

  /** Unpins `url`, rejects whoever waits on it and closes its sessions. */
  disconnect(url: string): void {
    const pin = this.#pinned.get(url)
    this.#pinned.delete(url)
    for (const w of pin?.waiters ?? []) w.reject(new HearsayError(ErrorCodes.NOT_OPEN, `disconnected from ${url}`))
    for (const s of this.#sessions) if (s.url === url) s.close()
  }

  /** Dials `url` once (unless already dialing); a failure counts toward its backoff. */
  async dial(url: string): Promise<void> {
    if (this.#halted || this.#dialing.has(url)) return
    this.#dialing.add(url)
    let conn: Connection
    try {
      conn = await this.transportFor(url).connect(url)
    } catch (err) {
      this.#dialing.delete(url)
      this.#failed(url)
      const e = isHearsayError(err) ? err : new HearsayError(ErrorCodes.TRANSPORT_ERROR, `cannot connect to ${url}: ${(err as Error)?.message ?? err}`, { cause: err })
      this.#options.log('debug', 'connect failed', { url, message: e.message })
      this.#settlePin(url, { error: e })
      return
    }
    this.#dialing.delete(url)
    if (this.#halted) {
      conn.close()
      return
    }
    this.#attach(conn, true, url, undefined, this.transportFor(url).capabilities.ordered)
  }

  /**
   * Dials `url` once for a session of its own (not pinned, not redialed, never closed as a
   * duplicate on this side); `init` sees the session before any frame of it is handled.
   * @throws what the transport throws, as a HearsayError (`HEARSAY_TRANSPORT_ERROR` for others); `HEARSAY_NOT_OPEN` when halted.
   */
  async dialOnce(url: string, init: (s: Session) => void): Promise<Session> {
    const t = this.transportFor(url)
    let conn: Connection
    try {
      conn = await t.connect(url)
    } catch (err) {
      throw isHearsayError(err) ? err : new HearsayError(ErrorCodes.TRANSPORT_ERROR, `cannot connect to ${url}: ${(err as Error)?.message ?? err}`, { cause: err })
    }
    const s = this.#attach(conn, true, url, undefined, t.capabilities.ordered)
    if (s === undefined) throw new HearsayError(ErrorCodes.NOT_OPEN, this.#halted ? 'node is closed' : `connection to ${url} refused`)
    init(s)
    return s
  }

  /** Redials every pinned address that has no session and whose peer is not connected otherwise. */
  redialPins(connected: ReadonlyMap<string, Session>): void {
    for (const [url, pin] of this.#pinned) {
      if ([...this.#sessions].some((s) => s.url === url)) continue
      if (pin.peerId !== undefined && connected.has(pin.peerId)) continue
      if (this.#canDial(url)) void this.dial(url)
    }
  }

  /** The first of a peer's addresses this node can dial now (a transport for it, out of backoff, no session on it). */
  dialable(addresses: readonly string[]): string | undefined {
    for (const a of addresses) {
      let scheme: string
      try {
        scheme = schemeOf(a)
      } catch {
        continue
      }
      if (this.#transports.has(scheme) && this.#canDial(a) && ![...this.#sessions].some((s) => s.url === a)) return a
    }
    return undefined
  }

  /** Ready sessions by peer id (the last one per peer). */
  readyByPeer(): Map<string, Session> {
    const byPeer = new Map<string, Session>()
    for (const s of this.#sessions) if (s.state === 'ready') byPeer.set(s.peerId!, s)
    return byPeer
  }

  /**
   * Judges a session that just authenticated: closes it when the node dialed itself, and of
   * two connections between the same nodes closes the same one on both ends; settles the pin
   * of the address dialed.
   */
  ready(s: Session, selfId: string): ReadyVerdict {
    const peerId = s.peerId!
    if (peerId === selfId) {
      // We dialed ourselves (our own address came back through the membership).
      if (s.url !== undefined) this.#pinned.delete(s.url)
      this.#backoffs.set(s.url ?? '', { failures: 0, next: Infinity })
      s.close()
      return 'self'
    }
    // A budgeted session (Node.sync) ends by itself: it neither replaces nor is replaced by another here.
    const other = s.budget !== undefined ? undefined : [...this.#sessions].find((x) => x !== s && x.state === 'ready' && x.peerId === peerId && x.budget === undefined)
    if (other !== undefined) {
      // Two connections between the same nodes. Dialed from both ends: both sides keep the one
      // dialed by the smaller id. Dialed twice from one end: that end keeps the newer (the older
      // may be a half-open link from before a restart) and the other end waits for its close.
      const dialer = (x: Session) => (x.dialed ? selfId : peerId)
      const drop = dialer(s) !== dialer(other) ? (dialer(s) < dialer(other) ? other : s) : s.dialed ? other : undefined
      if (drop !== undefined) {
        if (drop.url !== undefined) this.#settlePin(drop.url, { id: peerId })
        drop.close()
        if (drop === s) return 'dropped'
      }
    }
    if (s.url !== undefined) {
      this.#backoffs.delete(s.url)
      this.#settlePin(s.url, { id: peerId })
    }
    return other === undefined ? 'first' : 'more'
  }

  /**
   * Forgets a closed session; a dialed one that failed counts toward its address's backoff.
   * @returns true when that was the peer's last live connection.
   */
  closed(s: Session, reason: Error | undefined, selfId: string | undefined): boolean {
    this.#sessions.delete(s)
    this.closedBytes.in += s.stats.bytesIn
    this.closedBytes.out += s.stats.bytesOut
    if (s.url !== undefined && !this.#halted) {
      if (s.peerId === undefined || reason !== undefined) this.#failed(s.url)
      if (reason !== undefined) this.#settlePin(s.url, { error: reason })
    }
    if (s.peerId === undefined || s.peerId === selfId) return false
    const stillConnected = [...this.#sessions].some((x) => x.peerId === s.peerId && x.state === 'ready')
    return !stillConnected && s.readyAt !== undefined
  }

  /** Stops dialing and accepting: connections that arrive from now on are closed. */
  halt(): void {
    this.#halted = true
  }

  /** Closes every session and listener and rejects every `connect` still waiting. */
  async close(): Promise<void> {
    this.#halted = true
    for (const s of [...this.#sessions]) s.close()
    await Promise.all(this.#listeners.splice(0).map((l) => l.close().catch(() => {})))
    for (const p of this.#pinned.values()) for (const w of p.waiters.splice(0)) w.reject(new HearsayError(ErrorCodes.NOT_OPEN, 'node closed'))
  }

  #attach(conn: Connection, dialed: boolean, url: string | undefined, listener: string | undefined, ordered: boolean): Session | undefined {
    if (this.#halted) {
      conn.close()
      return undefined
    }
    const s = this.#options.session(conn, dialed, url, listener, ordered)
    if (s !== undefined) this.#sessions.add(s)
    return s
  }

  #settlePin(url: string, result: { id: string } | { error: Error }): void {
    const pin = this.#pinned.get(url)
    if (pin === undefined) return
    if ('id' in result) pin.peerId = result.id
    for (const w of pin.waiters.splice(0)) {
      if ('id' in result) w.resolve(result.id)
      else w.reject(result.error)
    }
  }

  #failed(url: string): void {
    let d = this.#backoffs.get(url)
    if (d === undefined) this.#backoffs.set(url, (d = { failures: 0, next: 0 }))
    d.failures++
    const delay = Math.min(this.#options.maxBackoff, this.#options.backoff * 2 ** Math.min(d.failures - 1, 30))
    // Full jitter on the upper half keeps peers that failed together from retrying together.
    d.next = this.#options.now() + delay * (0.5 + this.#options.random() / 2)
  }

  #canDial(url: string): boolean {
    if (this.#dialing.has(url)) return false
    const d = this.#backoffs.get(url)
    return d === undefined || this.#options.now() >= d.next
  }
}
