import type { Logger } from './options.js'

/** What the node knows of one peer's liveness. */
export interface PeerInfo {
  /** Node clock (ms) of the last heartbeat or frame from the peer. */
  lastHeard: number
  suspected: boolean
  /** Node clock (ms) of the last root digest exchange. */
  lastSync: number | undefined
}

/** What a {@link PeerTable} needs from its node. */
export interface PeerTableOptions {
  /** Milliseconds between gossip rounds. */
  readonly interval: number
  /** Fixed heartbeat interval; default interval × max(5, members / 5). */
  readonly heartbeatInterval: number | undefined
  /** Fixed suspicion timeout; default 4 × the heartbeat interval. */
  readonly suspectAfter: number | undefined
  now(): number
  /** Uniform in [0, 1), for heartbeat jitter and peer selection. */
  random(): number
  log(level: keyof Logger, message: string, data?: Record<string, unknown>): void
  suspected(peerId: string): void
  recovered(peerId: string): void
}

/**
 * The failure detector and peer selection: per peer when it was last heard and synced, whether
 * it is suspected (silent for longer than the suspicion timeout, and not connected), when this
 * node's next heartbeat is due, and which peers a round picks.
 */
export class PeerTable {
  readonly #options: PeerTableOptions
  readonly #peers = new Map<string, PeerInfo>()
  #lastBeat = -Infinity
  #jitter = 1

  constructor(options: PeerTableOptions) {
    this.#options = options
  }

  /**
   * Milliseconds between this node's heartbeats. Every member beats once per heartbeat
   * interval; scaling it with the network's size keeps the heartbeats written network-wide per
   * round (and the traffic they cause) constant.
   */
  get heartbeatInterval(): number {
    if (this.#options.heartbeatInterval !== undefined) return this.#options.heartbeatInterval
    return this.#options.interval * Math.max(5, Math.ceil((this.#peers.size + 1) / 5))
  }

  /** Milliseconds of silence after which a peer is suspected. */
  get suspectAfter(): number {
    return this.#options.suspectAfter ?? 4 * this.heartbeatInterval
  }

  /** Every peer known, by id. */
  get peers(): ReadonlyMap<string, Readonly<PeerInfo>> {
    return this.#peers
  }

  /** True when the next heartbeat is due. */
  get beatDue(): boolean {
    return this.#options.now() >= this.#lastBeat + this.heartbeatInterval * this.#jitter
  }

  /**
   * Records a heartbeat; the next is due after 0.5..1.5 × the heartbeat interval (same mean),
   * so nodes started together do not beat in phase and flood the network in bursts. The
   * interval is read when the beat is due, not now: a node that beat at start, knowing no one,
   * and then learned a thousand members waits the interval of a thousand members (fixed at its
   * start, a thousand new peers each beat again within seconds, a storm of N² frames at a hub).
   */
  beaten(): void {
    this.#lastBeat = this.#options.now()
    this.#jitter = 0.5 + this.#options.random()
  }

  /** A member was learned or its heartbeat changed: a new one is recorded as heard now, a known one as heard. */
  member(peerId: string): void {
    const now = this.#options.now()
    const p = this.#peers.get(peerId)
    if (p === undefined) {
      this.#peers.set(peerId, { lastHeard: now, suspected: false, lastSync: undefined })
      return
    }
    this.#heard(peerId, p, now)
  }

  /** The peer was heard from at `at` (node clock); a suspected peer heard recently enough recovers. */
  heard(peerId: string, at: number): void {
    this.#heard(peerId, this.#peer(peerId), at)
  }

  /** A root digest exchange with the peer happened at `lastSync`; its session last heard from it at `lastHeard`. */
  synced(peerId: string, lastSync: number | undefined, lastHeard: number): void {
    const p = this.#peer(peerId)
    p.lastSync = lastSync
    this.#heard(peerId, p, lastHeard)
  }

  /** Suspects every peer that is not connected and was silent for longer than the suspicion timeout. */
  suspect(connected: ReadonlyMap<string, unknown>): void {
    const now = this.#options.now()
    for (const [id, p] of this.#peers) {
      if (!p.suspected && !connected.has(id) && now - p.lastHeard > this.suspectAfter) {
        p.suspected = true
        this.#options.log('info', 'peer suspected', { peer: id })
        this.#options.suspected(id)
      }
    }
  }

  /**
   * The peers a round considers, in the order to try them: those not synced for an interval
   * first, each group shuffled. Suspected peers and `selfId` are left out, and so are peers not
   * connected when `full`.
   */
  candidates(connected: ReadonlyMap<string, unknown>, full: boolean, selfId: string | undefined): string[] {
    const now = this.#options.now()
    const stale: string[] = []
    const fresh: string[] = []
    const consider = (id: string, p: PeerInfo | undefined): void => {
      if (p?.suspected || id === selfId) return
      if (!connected.has(id) && full) return
      const last = p?.lastSync
      ;(last === undefined || now - last >= this.#options.interval ? stale : fresh).push(id)
    }
    for (const [id, p] of this.#peers) consider(id, p)
    for (const id of connected.keys()) if (!this.#peers.has(id)) consider(id, undefined)
    this.shuffle(stale)
    this.shuffle(fresh)
    return [...stale, ...fresh]
  }

  /**
   * Keeps `k` elements of `a` picked uniformly at random, in random order (a partial
   * Fisher-Yates: `k` random numbers, not one per element, so a rumor to `fanout` of a thousand
   * connections costs `fanout` draws).
   */
  sample<T>(a: T[], k: number): void {
    if (k >= a.length) {
      this.shuffle(a)
      return
    }
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(this.#options.random() * (a.length - i))
      ;[a[i], a[j]] = [a[j]!, a[i]!]
    }
    a.length = k
  }

  /** Shuffles `a` in place (Fisher-Yates, with the node's randomness). */
  shuffle<T>(a: T[]): void {
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(this.#options.random() * (i + 1))
      ;[a[i], a[j]] = [a[j]!, a[i]!]
    }
  }

  #heard(peerId: string, p: PeerInfo, at: number): void {
    if (at > p.lastHeard) p.lastHeard = at
    if (p.suspected && this.#options.now() - p.lastHeard <= this.suspectAfter) {
      p.suspected = false
      this.#options.log('info', 'peer recovered', { peer: peerId })
      this.#options.recovered(peerId)
    }
  }

  #peer(peerId: string): PeerInfo {
    let p = this.#peers.get(peerId)
    if (p === undefined) this.#peers.set(peerId, (p = { lastHeard: this.#options.now(), suspected: false, lastSync: undefined }))
    return p
  }
}
