/** Logical ticks per wall-clock millisecond in a hybrid time. */
export const TICKS_PER_MS = 1024

/** Default bound on how far a remote time may run ahead of the local wall clock (60 s). */
export const DEFAULT_MAX_DRIFT_MS = 60_000

/** Options of a {@link HybridClock}. */
export interface HybridClockOptions {
  /** Wall clock in milliseconds; `Date.now` by default. Inject one for simulations. */
  now?: (() => number) | undefined
  /** Milliseconds a remote time may be ahead of our wall clock before it is refused. */
  maxDrift?: number | undefined
}

/**
 * A hybrid logical clock. A time is one safe integer: `wallMs * 1024 + logical`, so times
 * compare with `<`, stay close to wall time, and never repeat or go backwards on one replica.
 * Last-writer-wins orders writes by `(time, source)`.
 *
 * A remote time more than `maxDrift` ahead of the local wall clock is **refused**, not
 * absorbed: {@link receive} returns false and leaves the clock alone, so one replica with a
 * clock an hour fast can neither drag every peer's clock forward nor win every conflict. The
 * update carrying it is not applied; it is offered again by the next digest exchange and is
 * accepted once our wall clock is within the drift bound of it.
 */
export class HybridClock {
  #last = 0
  readonly #wall: () => number
  readonly maxDrift: number

  constructor(options: HybridClockOptions = {}) {
    this.#wall = options.now ?? Date.now
    this.maxDrift = options.maxDrift ?? DEFAULT_MAX_DRIFT_MS
    if (!(this.maxDrift >= 0)) throw new RangeError('maxDrift is a non-negative number of milliseconds')
  }

  /** A new time, strictly greater than every time this clock has issued or received. */
  now(): number {
    const w = Math.floor(this.#wall()) * TICKS_PER_MS
    this.#last = w > this.#last ? w : this.#last + 1
    return this.#last
  }

  /** The greatest time issued or received so far. */
  get last(): number {
    return this.#last
  }

  /** The greatest remote time acceptable right now (wall clock + drift bound, in ticks). */
  limit(): number {
    return (Math.floor(this.#wall()) + this.maxDrift) * TICKS_PER_MS
  }

  /** True when `remote` is within the drift bound of the local wall clock. */
  accepts(remote: number): boolean {
    return remote <= this.limit()
  }

  /** Advances past a remote time already checked against {@link limit}. */
  observe(remote: number): void {
    if (remote > this.#last) this.#last = remote
  }

  /**
   * Advances the clock past a remote time so later local writes order after it.
   * Returns false, changing nothing, when the time is beyond the drift bound.
   */
  receive(remote: number): boolean {
    if (!this.accepts(remote)) return false
    if (remote > this.#last) this.#last = remote
    return true
  }
}

/** The wall-clock milliseconds of a hybrid time. */
export function hybridTimeToMs(time: number): number {
  return Math.floor(time / TICKS_PER_MS)
}
