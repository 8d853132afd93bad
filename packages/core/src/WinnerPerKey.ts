import { Replicated, type ReplicatedEvents } from './Replicated.js'
import type { Update } from './update.js'

/**
 * True when update `a` beats update `b` under last-writer-wins: the greater hybrid time wins;
 * equal times (concurrent writes in the same logical tick) are broken by the greater source id,
 * then by the greater seq (only a misbehaving source reuses a time), so every replica picks
 * the same winner whatever order the updates arrived in.
 */
export function lastWriterWins(a: Update<unknown>, b: Update<unknown>): boolean {
  if (a.time !== b.time) return a.time > b.time
  if (a.source !== b.source) return a.source > b.source
  return a.seq > b.seq
}

/**
 * The base for types that keep one winning update per key (registers, LWW maps, grow-only
 * sets, per-source counters): a type says which key an update writes ({@link keyOf}) and,
 * when it is not last-writer-wins, which of two updates {@link wins}; the base keeps the
 * winners, applies and lists history. {@link won} reports a new winner (for events and derived
 * state). History is the winners: an update that lost its key is dominated by the winner, so
 * leaving it out is safe (law 4 of {@link Replicated}).
 *
 * `wins` must be a strict total order on the updates of one key that every replica computes
 * alike (never from arrival order), or replicas keep different winners.
 *
 * @example
 * ```ts
 * class Register extends WinnerPerKey<number, number | null> {
 *   set(v: number): void { this.commit(v) }
 *   protected keyOf(): string { return '' }
 *   toJSON(): number | null { return this.winnerOf('')?.op ?? null }
 * }
 * registerType(Register, { typeId: 1001, typeName: 'Register' })
 * ```
 */
export abstract class WinnerPerKey<Op, Json = unknown, E extends ReplicatedEvents<Op> = ReplicatedEvents<Op>> extends Replicated<Op, Json, E> {
  readonly #winners = new Map<string, Update<Op>>()

  /** The key an update writes. */
  protected abstract keyOf(update: Update<Op>): string

  /** True when `a` beats `b`, the current winner of its key; by default {@link lastWriterWins}. */
  protected wins(a: Update<Op>, b: Update<Op>): boolean {
    return lastWriterWins(a, b)
  }

  /**
   * Called after `update` became the winner of `key` (`previous` is the old winner). Returns
   * whether visible state changed; by default true. Emit the type's events here.
   */
  protected won(_key: string, _update: Update<Op>, _previous: Update<Op> | undefined): boolean {
    return true
  }

  /** The winning update of `key`, if any. */
  protected winnerOf(key: string): Update<Op> | undefined {
    return this.#winners.get(key)
  }

  /** Key → winning update, in the order keys were first written on this replica. */
  protected get winners(): ReadonlyMap<string, Update<Op>> {
    return this.#winners
  }

  protected applyOp(u: Update<Op>): boolean {
    const key = this.keyOf(u)
    const cur = this.#winners.get(key)
    if (cur !== undefined && !this.wins(u, cur)) return false
    this.#winners.set(key, u)
    return this.won(key, u, cur)
  }

  protected history(): Iterable<Update<Op>> {
    return this.#winners.values()
  }
}
