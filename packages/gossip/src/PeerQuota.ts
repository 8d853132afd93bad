
/** A rate: `burst` at once, then `perSecond`. */
export interface Rate {
  readonly burst: number
  readonly perSecond: number
}

/** Default cap on the objects one peer may create on this node: 10,000 at once, then 1,000 a second. */
export const DEFAULT_NEW_OBJECTS_RATE: Rate = { burst: 10_000, perSecond: 1_000 }

/** Peers whose buckets are kept; the least recently used is forgotten beyond this. */
const MAX_PEERS_TRACKED = 4096

/**
 * Token buckets per peer id (not per connection, so reconnecting does not refill one): how
 * many new objects a peer that holds the network key may still make this node create. A peer
 * past its budget is not cut off; the objects it brings wait until the bucket refills, and
 * anti-entropy offers them again, so nothing a well-behaved peer sends is lost.
 */
export class PeerQuota {
  readonly #rate: Rate
  readonly #now: () => number
  readonly #buckets = new Map<string, { tokens: number; at: number }>()

  /** @throws RangeError on a rate that is not two positive numbers. */
  constructor(rate: Rate, now: () => number) {
    if (!(rate.burst >= 1) || !(rate.perSecond > 0)) throw new RangeError('a rate is { burst >= 1, perSecond > 0 }')
    this.#rate = rate
    this.#now = now
  }

  /** The rate this quota allows each peer. */
  get rate(): Rate {
    return this.#rate
  }

  /** Takes one token from `peerId`'s bucket; false when it is empty. */
  take(peerId: string): boolean {
    const b = this.#refill(peerId)
    if (b.tokens < 1) return false
    b.tokens -= 1
    return true
  }

  /**
   * Spends `n` tokens of `peerId`'s bucket, which may go into debt (for what already arrived).
   * @returns milliseconds until the bucket is out of debt; 0 when it is not in debt.
   */
  spend(peerId: string, n: number): number {
    const b = this.#refill(peerId)
    b.tokens -= n
    return b.tokens >= 0 ? 0 : Math.ceil((-b.tokens / this.#rate.perSecond) * 1000)
  }

  /** The bucket of `peerId`, refilled for the time since it was last used. */
  #refill(peerId: string): { tokens: number; at: number } {
    const now = this.#now()
    let b = this.#buckets.get(peerId)
    if (b === undefined) {
      b = { tokens: this.#rate.burst, at: now }
      if (this.#buckets.size >= MAX_PEERS_TRACKED) this.#buckets.delete(this.#buckets.keys().next().value!)
    } else {
      this.#buckets.delete(peerId)
      b.tokens = Math.min(this.#rate.burst, b.tokens + (Math.max(0, now - b.at) / 1000) * this.#rate.perSecond)
      b.at = now
    }
    this.#buckets.set(peerId, b)
    return b
  }
}
