import { coalesceRanges, splitRanges, UPDATES_PER_FRAME } from './ranges.js'
import type { Range } from './update.js'
import { VersionVector, type ReadonlyVersionVector } from './VersionVector.js'

/** What a {@link PeerLink} needs of a replica. */
export interface LinkedReplica<Op, R> {
  historySince(since: ReadonlyVersionVector): Range<Op>[]
  applyRanges(ranges: readonly Range<Op>[], origin?: unknown): R
}

/**
 * The replication core of one link to a peer, shared by `ReplicaStream` (one replica) and
 * gossip sessions (many, by object id): per replica, what the peer is known to hold (its
 * digests, the ranges it sent, the ranges sent to it), and the live outbox.
 *
 * - Ranges from the peer are recorded as held by it before they are applied, so applying them
 *   (which emits them as `ranges` again) does not echo them back.
 * - {@link push} keeps only what the peer does not hold, records it as sent, and batches every
 *   push of one tick: one microtask later the outbox is flushed, joined per source
 *   (`coalesceRanges`) and cut into chunks of at most {@link UPDATES_PER_FRAME} updates, each
 *   handed to `send` with its key, keys in the order they were first pushed.
 * - History is recorded as sent when it is read ({@link history}); the caller frames it when it
 *   likes (a stream at once, a session as its connection drains).
 *
 * Platform-neutral: no streams, no sockets; the caller owns the framing and the wire.
 */
export class PeerLink<Op = unknown, K = string> {
  readonly #send: (key: K, chunk: Range<Op>[]) => void
  readonly #known = new Map<K, VersionVector>()
  #outbox = new Map<K, Range<Op>[]>()
  #scheduled = false

  /** @param send called once per chunk of the outbox when it is flushed. */
  constructor(send: (key: K, chunk: Range<Op>[]) => void) {
    this.#send = send
  }

  /** What the peer is known to hold of `key`, if anything was learned. */
  known(key: K): ReadonlyVersionVector | undefined {
    return this.#known.get(key)
  }

  /** The peer holds at least `vector` of `key` (a digest it sent, or what was sent to it). */
  learn(key: K, vector: ReadonlyVersionVector): void {
    const k = this.#known.get(key)
    if (k === undefined) this.#known.set(key, vector.clone())
    else k.merge(vector)
  }

  /** The peer holds `vector` of `key` and nothing learned before counts (a fresh digest exchange). */
  reset(key: K, vector: ReadonlyVersionVector): void {
    this.#known.set(key, vector.clone())
  }

  /** The peer holds every one of `ranges` up to its end (it sent them, or they were sent to it). */
  record(key: K, ranges: readonly Range<Op>[]): void {
    const k = this.#for(key)
    for (const r of ranges) k.advance(r.source, r.to)
  }

  /** Applies ranges the peer sent, recording them as held by it first so applying does not echo them back. */
  receive<R>(key: K, replica: LinkedReplica<Op, R>, ranges: readonly Range<Op>[], origin: unknown): R {
    this.record(key, ranges)
    return replica.applyRanges(ranges, origin)
  }

  /** The replica's history past `since`, recorded as sent. */
  history(key: K, replica: LinkedReplica<Op, unknown>, since: ReadonlyVersionVector): Range<Op>[] {
    const ranges = replica.historySince(since)
    this.record(key, ranges)
    return ranges
  }

  /** Queues the part of freshly applied `ranges` the peer does not hold, recorded as sent; flushed in a microtask. */
  push(key: K, ranges: readonly Range<Op>[]): void {
    const known = this.#for(key)
    let box = this.#outbox.get(key)
    for (const r of ranges) {
      if (r.to <= known.get(r.source)) continue
      known.advance(r.source, r.to)
      if (box === undefined) this.#outbox.set(key, (box = []))
      box.push(r)
    }
    if (box !== undefined && !this.#scheduled) {
      this.#scheduled = true
      queueMicrotask(() => {
        this.#scheduled = false
        this.flush()
      })
    }
  }

  /** Sends what the outbox holds now (a link that ends flushes before its last frame). */
  flush(): void {
    if (this.#outbox.size === 0) return
    const boxes = this.#outbox
    this.#outbox = new Map()
    for (const [key, ranges] of boxes) for (const chunk of splitRanges(coalesceRanges(ranges), UPDATES_PER_FRAME)) this.#send(key, chunk)
  }

  #for(key: K): VersionVector {
    let k = this.#known.get(key)
    if (k === undefined) this.#known.set(key, (k = new VersionVector()))
    return k
  }
}
