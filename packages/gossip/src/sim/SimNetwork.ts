import { BaseConnection, DEFAULT_MAX_FRAME, ErrorCodes, HearsayError } from '@hearsay/core'
import type { Connection, Listener, Transport, TransportCapabilities } from '@hearsay/core'
import type { Simulation } from './Simulation.js'

/** How a simulated link behaves; every field applies per frame and per direction. */
export interface LinkOptions {
  /** One-way delay in virtual ms (default 20). */
  latency?: number
  /** Extra one-way delay drawn uniformly from [0, jitter] per frame (default 0). */
  jitter?: number
  /** Probability a frame is lost (default 0). */
  loss?: number
  /** Probability a frame is delivered twice (default 0); the copy takes its own delay. */
  duplicate?: number
  /**
   * Probability a frame leaves the in-order lane (default 0): it gets an extra delay drawn
   * from [0, reorderDelay] and may overtake or be overtaken by its neighbours. Frames that
   * stay in the lane arrive in the order they were sent, like on a TCP stream.
   */
  reorder?: number
  /** Largest extra delay of a reordered frame, virtual ms (default 4 × latency + jitter). */
  reorderDelay?: number
}

/** Options of {@link SimNetwork}: the default link plus limits. */
export interface SimNetworkOptions extends LinkOptions {
  /** Bytes one end may have in flight before it closes itself with `HEARSAY_BACKPRESSURE` (default 16 MiB). */
  maxBuffered?: number
  /** Largest frame accepted; a bigger one closes the connection with `HEARSAY_FRAME_TOO_LARGE` (default 16 MiB). */
  maxFrame?: number
  /** Virtual ms before a connect attempt across a partition fails with `HEARSAY_TIMEOUT` (default 3000). */
  connectTimeout?: number
}

/** Traffic counters of the network or of one host. */
export interface TrafficStats {
  /** Frames `send` accepted (within the frame cap and the send buffer), each counted once, whatever happened to it on the way. */
  framesSent: number
  /** Payload bytes of those frames. */
  bytesSent: number
  /** Frames that reached an open end (duplicates counted again). */
  framesDelivered: number
  /** Payload bytes that reached an open end. */
  bytesDelivered: number
  /** Frames lost to `loss`, to a partition, or sent to an end that was gone. */
  framesDropped: number
  /** Extra copies injected by `duplicate`. */
  framesDuplicated: number
  /** Frames taken out of the in-order lane by `reorder`. */
  framesReordered: number
  /** Connections established. */
  connections: number
  /** Connect attempts that failed (no listener, partition, host down). */
  connectFailures: number
}

function zeroStats(): TrafficStats {
  return { framesSent: 0, bytesSent: 0, framesDelivered: 0, bytesDelivered: 0, framesDropped: 0, framesDuplicated: 0, framesReordered: 0, connections: 0, connectFailures: 0 }
}

interface Link {
  latency: number
  jitter: number
  loss: number
  duplicate: number
  reorder: number
  reorderDelay: number
}

function toLink(o: LinkOptions, base?: Link): Link {
  const num = (v: number | undefined, def: number, name: string, max = Infinity): number => {
    if (v === undefined) return def
    if (typeof v !== 'number' || !(v >= 0) || v > max) throw new RangeError(`${name} must be a number in [0, ${max}], got ${v}`)
    return v
  }
  const latency = num(o.latency, base?.latency ?? 20, 'latency')
  const jitter = num(o.jitter, base?.jitter ?? 0, 'jitter')
  return {
    latency,
    jitter,
    loss: num(o.loss, base?.loss ?? 0, 'loss', 1),
    duplicate: num(o.duplicate, base?.duplicate ?? 0, 'duplicate', 1),
    reorder: num(o.reorder, base?.reorder ?? 0, 'reorder', 1),
    reorderDelay: num(o.reorderDelay, o.latency !== undefined || o.jitter !== undefined ? 4 * latency + jitter : (base?.reorderDelay ?? 4 * latency + jitter), 'reorderDelay'),
  }
}

/** One incarnation of a host: what lives and dies with a process. */
class Incarnation {
  alive = true
  readonly ends = new Set<SimConnection>()
  readonly listeners = new Set<string>()
  constructor(readonly host: string, readonly n: number) {}
}

/**
 * A simulated network: named hosts, links with latency, jitter, loss, duplication and
 * reordering, partitions, and hosts that crash. Each host gets a {@link SimTransport}
 * (scheme `sim:`) per incarnation; everything runs on the {@link Simulation}'s virtual time
 * and draws every random choice from its one PRNG, so a seed replays a run exactly.
 *
 * Partitions drop frames silently, as a real network does; an end that receives frames for a
 * connection its side already closed, or that a crashed process held while its host is up
 * again, answers with a reset (the sender's end closes), so half-open connections left by a
 * partition or a crash are found once traffic flows again.
 */
export class SimNetwork {
  /** The simulation the network runs on. */
  readonly sim: Simulation
  readonly #maxBuffered: number
  readonly #maxFrame: number
  readonly #connectTimeout: number
  #defaults: Link
  readonly #links = new Map<string, Link>()
  readonly #group = new Map<string, number>()
  #partitioned = false
  readonly #incarnations = new Map<string, Incarnation>()
  readonly #listeners = new Map<string, { inc: Incarnation; onConnection: (c: Connection) => void; accepted: Set<SimConnection> }>()
  readonly #stats = zeroStats()
  readonly #hostStats = new Map<string, TrafficStats>()
  #port = 40000

  /** @throws RangeError for out-of-range options. */
  constructor(sim: Simulation, options: SimNetworkOptions = {}) {
    this.sim = sim
    this.#defaults = toLink(options)
    this.#maxBuffered = options.maxBuffered ?? 16 * 1024 * 1024
    this.#maxFrame = options.maxFrame ?? DEFAULT_MAX_FRAME
    this.#connectTimeout = options.connectTimeout ?? 3000
  }

  /** Traffic counters over the whole network. */
  get stats(): Readonly<TrafficStats> {
    return this.#stats
  }

  /** Traffic counters of one host (all its incarnations), zero for an unknown host. */
  hostStats(host: string): Readonly<TrafficStats> {
    return this.#hostStats.get(host) ?? zeroStats()
  }

  /** The default link settings (those of every pair without its own). */
  get defaults(): Readonly<Required<LinkOptions>> {
    return { ...this.#defaults }
  }

  /** Changes the default link; fields left out keep their value. @throws RangeError for bad values. */
  setDefaults(link: LinkOptions): void {
    this.#defaults = toLink(link, this.#defaults)
  }

  /** Sets the link between two hosts (both directions), or removes the override with `undefined`. */
  setLink(a: string, b: string, link: LinkOptions | undefined): void {
    const key = pairKey(a, b)
    if (link === undefined) this.#links.delete(key)
    else this.#links.set(key, toLink(link, this.#defaults))
  }

  /** The link settings between two hosts. */
  link(a: string, b: string): Readonly<Required<LinkOptions>> {
    return { ...(this.#links.get(pairKey(a, b)) ?? this.#defaults) }
  }

  /**
   * Splits the network: hosts in different groups cannot reach each other (frames between
   * them are dropped, connects time out). Hosts named in no group form one more group
   * together. Replaces any earlier partition.
   */
  partition(groups: readonly (readonly string[])[]): void {
    this.#group.clear()
    groups.forEach((g, i) => {
      for (const h of g) this.#group.set(h, i + 1)
    })
    this.#partitioned = true
  }

  /** Removes the partition: every host can reach every other again. */
  heal(): void {
    this.#group.clear()
    this.#partitioned = false
  }

  /** True while a partition is in place. */
  get partitioned(): boolean {
    return this.#partitioned
  }

  /** Whether frames from `a` can reach `b` now. */
  canReach(a: string, b: string): boolean {
    if (!this.#partitioned) return true
    return (this.#group.get(a) ?? 0) === (this.#group.get(b) ?? 0)
  }

  /** Whether the host has a live incarnation. */
  isUp(host: string): boolean {
    return this.#incarnations.get(host)?.alive === true
  }

  /**
   * A transport for a new incarnation of `host` (a process starting).
   * @throws Error when the host is already up (crash it first).
   */
  transport(host: string): SimTransport {
    if (typeof host !== 'string' || host === '') throw new TypeError('host is a non-empty string')
    const prev = this.#incarnations.get(host)
    if (prev?.alive) throw new Error(`host ${host} is already up; crash it before starting it again`)
    const inc = new Incarnation(host, (prev?.n ?? 0) + 1)
    this.#incarnations.set(host, inc)
    if (!this.#hostStats.has(host)) this.#hostStats.set(host, zeroStats())
    return new SimTransport(this, inc)
  }

  /**
   * Kills the host's current incarnation, as a process crash does: its listeners vanish, its
   * connections stop (peers see `close` once the news travels, unless a partition is in the
   * way), and the transport it held never answers again. Does nothing if the host is down.
   */
  crash(host: string): void {
    const inc = this.#incarnations.get(host)
    if (inc === undefined || !inc.alive) return
    inc.alive = false
    for (const url of inc.listeners) this.#listeners.delete(url)
    inc.listeners.clear()
    for (const end of [...inc.ends]) end.die()
    inc.ends.clear()
  }

  // ---- internals used by SimTransport / SimConnection ----

  /** @internal */
  linkOf(a: string, b: string): Link {
    return this.#links.get(pairKey(a, b)) ?? this.#defaults
  }

  /** @internal */
  get maxBuffered(): number {
    return this.#maxBuffered
  }

  /** @internal */
  get maxFrame(): number {
    return this.#maxFrame
  }

  /** @internal */
  count(host: string, f: (s: TrafficStats) => void): void {
    f(this.#stats)
    f(this.#hostStats.get(host)!)
  }

  /** @internal one-way delay of a control message (connect, close) between two hosts. */
  delay(a: string, b: string): number {
    const l = this.linkOf(a, b)
    return l.latency + (l.jitter > 0 ? this.sim.random() * l.jitter : 0)
  }

  /** @internal */
  listen(inc: Incarnation, url: string, onConnection: (c: Connection) => void): Promise<Listener> {
    if (!inc.alive) return new Promise(() => {})
    if (this.#listeners.has(url)) {
      return Promise.reject(new HearsayError(ErrorCodes.TRANSPORT_ERROR, `address in use: ${url}`))
    }
    const entry = { inc, onConnection, accepted: new Set<SimConnection>() }
    this.#listeners.set(url, entry)
    inc.listeners.add(url)
    const net = this
    return Promise.resolve({
      url,
      async close(): Promise<void> {
        if (net.#listeners.get(url) === entry) {
          net.#listeners.delete(url)
          inc.listeners.delete(url)
        }
        // Like a server shutting down: what it accepted closes too.
        for (const c of entry.accepted) c.close()
        entry.accepted.clear()
      },
    })
  }

  /** @internal */
  connect(inc: Incarnation, url: string): Promise<Connection> {
    // A dead process gets no answer at all: its code is gone.
    if (!inc.alive) return new Promise(() => {})
    // Reachability and latency are those of the host listening there now (the name in the
    // address when nobody does).
    const target = this.#listeners.get(url)?.inc.host ?? hostOf(url)
    return new Promise<Connection>((resolve, reject) => {
      const fail = (code: typeof ErrorCodes.TRANSPORT_ERROR | typeof ErrorCodes.TIMEOUT, message: string) => {
        if (!inc.alive) return
        this.count(inc.host, (s) => s.connectFailures++)
        reject(new HearsayError(code, message))
      }
      const there = this.delay(inc.host, target)
      if (!this.canReach(inc.host, target)) {
        this.sim.schedule(this.#connectTimeout, () => fail(ErrorCodes.TIMEOUT, `connect to ${url} timed out`))
        return
      }
      this.sim.schedule(there, () => {
        if (!inc.alive) return
        const l = this.#listeners.get(url)
        const back = this.delay(target, inc.host)
        if (l === undefined || !l.inc.alive) {
          this.sim.schedule(back, () => fail(ErrorCodes.TRANSPORT_ERROR, `connection refused: ${url}`))
          return
        }
        if (!this.canReach(target, inc.host)) {
          this.sim.schedule(Math.max(0, this.#connectTimeout - there), () => fail(ErrorCodes.TIMEOUT, `connect to ${url} timed out`))
          return
        }
        const port = ++this.#port
        const client = new SimConnection(this, inc, url)
        const server = new SimConnection(this, l.inc, `sim://${inc.host}:${port}`)
        client.pair(server)
        server.pair(client)
        inc.ends.add(client)
        l.inc.ends.add(server)
        l.accepted.add(server)
        server.once('close', () => l.accepted.delete(server))
        this.count(inc.host, (s) => s.connections++)
        l.onConnection(server)
        this.sim.schedule(0, () => server.ready())
        this.sim.schedule(back, () => {
          if (!inc.alive) return
          if (!client.isOpen) {
            reject(new HearsayError(ErrorCodes.TRANSPORT_ERROR, `connection to ${url} closed during the handshake`))
            return
          }
          resolve(client)
          // The caller attaches its listeners in the continuation of `await connect()`; frames
          // that arrived meanwhile wait until then.
          this.sim.schedule(0, () => client.ready())
        })
      })
    })
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`
}

/** The host part of a `sim://host[:port][/path]` URL. @throws TypeError for another scheme. */
export function hostOf(url: string): string {
  const m = /^sim:\/\/([^:/?#]+)/.exec(url)
  if (m === null) throw new TypeError(`not a sim:// address: ${url}`)
  return m[1]!
}

/**
 * One end of a simulated connection. Frames are whole (the link does the framing); they arrive
 * after the link's latency, or not at all, or twice, or out of order, as the link says; a frame
 * lost on the way still makes `send` return true. The checks of `send` are `BaseConnection`'s:
 * a frame over the network's `maxFrame` closes this end with `HEARSAY_FRAME_TOO_LARGE`, one
 * that would take the bytes in flight past `maxBuffered` with `HEARSAY_BACKPRESSURE`.
 * `bufferedBytes` counts the bytes in flight (sent, not yet arrived at a reading peer, lost
 * frames excepted), and `drain` fires in virtual time when the last of them arrives.
 * Events: `frame` (payload), `drain`, `close` (error?).
 */
export class SimConnection extends BaseConnection {
  readonly #net: SimNetwork
  readonly #inc: Incarnation
  #peer: SimConnection | undefined
  #ready = false
  #backlog: Uint8Array[] = []
  #buffered = 0
  #paused = false
  #held: Array<{ frame: Uint8Array; from: string; drained: (() => void) | undefined }> = []
  // Arrival time of the last in-lane frame sent from this end: later in-lane frames never
  // overtake it.
  #laneTail = 0

  /**
   * @internal created by {@link SimNetwork}. `remoteAddress` is `sim://name` for the dialing
   * end, `sim://<host>:<port>` (an ephemeral port) for the accepted end.
   */
  constructor(net: SimNetwork, inc: Incarnation, remoteAddress: string) {
    super(remoteAddress, { maxFrame: net.maxFrame, maxSendBuffer: net.maxBuffered })
    this.#net = net
    this.#inc = inc
  }

  /** The host this end belongs to. */
  get host(): string {
    return this.#inc.host
  }

  /** Bytes sent from this end that have not reached a reading peer yet. */
  get bufferedBytes(): number {
    return this.#buffered
  }

  /** @internal */
  pair(peer: SimConnection): void {
    this.#peer = peer
  }

  /** @internal the owner has the connection now; deliver what arrived before. */
  ready(): void {
    if (this.#ready) return
    this.#ready = true
    const backlog = this.#backlog
    this.#backlog = []
    for (const f of backlog) {
      if (!this.isOpen) break
      this.emit('frame', f)
    }
  }

  /** Sends one checked frame through the link's faults. */
  protected sendFrame(frame: Uint8Array): boolean {
    if (!this.#inc.alive) return false
    const net = this.#net
    const sim = net.sim
    const me = this.#inc.host
    const peer = this.#peer!
    const them = peer.host
    const len = frame.length
    net.count(me, (s) => {
      s.framesSent++
      s.bytesSent += len
    })
    const link = net.linkOf(me, them)
    if (!net.canReach(me, them) || sim.chance(link.loss)) {
      net.count(me, (s) => s.framesDropped++)
      return true
    }
    const copy = frame.slice()
    const copies = sim.chance(link.duplicate) ? 2 : 1
    if (copies === 2) net.count(me, (s) => s.framesDuplicated++)
    this.#buffered += len
    for (let i = 0; i < copies; i++) {
      let delay = link.latency + (link.jitter > 0 ? sim.random() * link.jitter : 0)
      if (sim.chance(link.reorder)) {
        net.count(me, (s) => s.framesReordered++)
        delay += sim.random() * link.reorderDelay
      } else {
        const at = Math.max(sim.time + delay, this.#laneTail)
        this.#laneTail = at
        delay = at - sim.time
      }
      const drained =
        i === 0
          ? () => {
              this.#buffered -= len
              this.flushed()
            }
          : undefined
      sim.schedule(delay, () => peer.#arrive(copy, me, drained))
    }
    return true
  }

  /** True while this end does not read (see {@link pause}). */
  get paused(): boolean {
    return this.#paused
  }

  /**
   * Stops reading, as a stuck peer does: arriving frames are held and keep counting against
   * the sender's bounded buffer, which closes with `HEARSAY_BACKPRESSURE` when it overflows.
   */
  pause(): void {
    this.#paused = true
  }

  /** Reads again: held frames are delivered in arrival order. */
  resume(): void {
    if (!this.#paused) return
    this.#paused = false
    const held = this.#held
    this.#held = []
    for (const h of held) this.#arrive(h.frame, h.from, h.drained)
  }

  #arrive(frame: Uint8Array, from: string, drained: (() => void) | undefined): void {
    const net = this.#net
    if (this.#paused && this.isOpen && this.#inc.alive) {
      this.#held.push({ frame, from, drained })
      return
    }
    drained?.()
    if (!this.isOpen || !this.#inc.alive) {
      net.count(from, (s) => s.framesDropped++)
      // Like a TCP reset: data for a connection this side closed, or that a crashed process
      // held (once the host is up again), tells the sender the connection is gone. A host
      // that is down answers nothing.
      const peer = this.#peer!
      if (peer.isOpen && net.isUp(this.host) && net.canReach(this.host, from)) {
        net.sim.schedule(net.delay(this.host, from), () => peer.#closedByPeer(new HearsayError(ErrorCodes.TRANSPORT_ERROR, 'connection reset by peer')))
      }
      return
    }
    net.count(this.host, (s) => {
      s.framesDelivered++
      s.bytesDelivered += frame.length
    })
    if (!this.#ready) {
      this.#backlog.push(frame)
      return
    }
    this.emit('frame', frame)
  }

  /** `close` fires here at once, at the peer after the frames already sent. */
  protected closeLink(reason: Error | undefined): void {
    this.#backlog = []
    this.#releaseHeld()
    this.#inc.ends.delete(this)
    if (this.#inc.alive) this.closed(reason)
    this.#notifyPeer()
  }

  /** @internal the process died: stop without telling the dead owner anything. */
  die(): void {
    if (!this.isOpen) return
    this.ended()
    this.#backlog = []
    this.#releaseHeld()
    this.#notifyPeer()
  }

  #notifyPeer(): void {
    const net = this.#net
    const peer = this.#peer!
    const me = this.host
    if (!peer.isOpen || !net.canReach(me, peer.host)) return
    // The close travels behind the frames already sent in the lane, like a FIN.
    const at = Math.max(net.sim.time + net.delay(me, peer.host), this.#laneTail)
    net.sim.scheduleAt(at, () => {
      if (net.canReach(me, peer.host)) peer.#closedByPeer(undefined)
    })
  }

  #releaseHeld(): void {
    for (const h of this.#held) h.drained?.()
    this.#held = []
  }

  #closedByPeer(reason: Error | undefined): void {
    if (!this.isOpen) return
    this.ended()
    this.#releaseHeld()
    this.#inc.ends.delete(this)
    if (this.#ready) {
      if (this.#inc.alive) this.closed(reason)
    } else {
      // Not handed out yet: deliver what arrived, then the close, once the owner has it.
      const backlog = this.#backlog
      this.#backlog = []
      this.#net.sim.schedule(0, () => {
        if (!this.#inc.alive) return
        for (const f of backlog) this.emit('frame', f)
        this.closed(reason)
      })
    }
  }
}

/**
 * The simulator's transport for one incarnation of one host, registered for the `sim:`
 * scheme. Addresses are `sim://<name>`; `listen` binds the name, `connect` reaches it after
 * the link's latency (or fails: refused when nobody listens, timed out across a partition).
 * After the host crashes, this transport never answers again.
 */
export class SimTransport implements Transport {
  /** The URL scheme: addresses are `sim://name`. */
  readonly scheme = 'sim'
  readonly #net: SimNetwork
  readonly #inc: Incarnation

  /** @internal use {@link SimNetwork.transport}. */
  constructor(net: SimNetwork, inc: Incarnation) {
    this.#net = net
    this.#inc = inc
  }

  /** The host this transport belongs to. */
  get host(): string {
    return this.#inc.host
  }

  /** Which incarnation of the host (1 for the first start, 2 after the first restart...). */
  get incarnation(): number {
    return this.#inc.n
  }

  /** False once the host crashed. */
  get alive(): boolean {
    return this.#inc.alive
  }

  /** Never ordered: any link can be made to lose, duplicate or reorder frames at any time ({@link SimNetwork.setLink}). */
  get capabilities(): TransportCapabilities {
    return { ordered: false, remote: false }
  }

  /**
   * Binds `url` (`sim://name`) for incoming connections.
   * @throws TypeError for a non-`sim://` address; rejects with `HEARSAY_TRANSPORT_ERROR` when the address is taken.
   */
  listen(url: string, onConnection: (connection: Connection) => void): Promise<Listener> {
    hostOf(url)
    if (typeof onConnection !== 'function') throw new TypeError('onConnection is a function')
    return this.#net.listen(this.#inc, url, onConnection)
  }

  /**
   * Connects to `url`. Rejects with `HEARSAY_TRANSPORT_ERROR` when nobody listens there and with
   * `HEARSAY_TIMEOUT` when a partition is in the way.
   * @throws TypeError for a non-`sim://` address.
   */
  connect(url: string): Promise<Connection> {
    hostOf(url)
    return this.#net.connect(this.#inc, url)
  }
}
