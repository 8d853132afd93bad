import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import {
  PNCounterTypeId,
  WinnerPerKey,
  type ReplicatedEvents,
  readSafeInt,
  registerType,
  type ReplicatedOptions,
  type Update,
} from '@hearsay/core'

/** Options of a {@link PNCounter}. */
export type PNCounterOptions = ReplicatedOptions

/** What a {@link PNCounter} emits, besides the base events. */
export interface PNCounterEvents extends ReplicatedEvents<number> {
  /** The counter's value after an applied update. */
  change: (value: number) => void
}

/**
 * A replicated counter that goes up and down: `increment(n)`, `decrement(n)`, `value`.
 *
 * Each update carries its source's running total (the sum of everything that source ever
 * added), so the latest update of a source supersedes its earlier ones: history keeps **one
 * cumulative update per source**, however many increments it saw. The value is the sum of the
 * sources' totals, equal on every replica that saw the same updates.
 *
 * Integers only: a non-integer, a value beyond `Number.MAX_SAFE_INTEGER`, or a change that would
 * take this source's total or the value out of the safe range is refused with a `RangeError`;
 * a peer's total outside the safe range is refused as `HEARSAY_DECODE_ERROR`.
 *
 * Events: `change` (value) after every applied update.
 *
 * @example
 * ```ts
 * const c = new PNCounter({ id: 'a' })
 * c.increment(5)
 * c.decrement(2)
 * c.value // 3
 * ```
 */
export class PNCounter extends WinnerPerKey<number, number, PNCounterEvents> {
  // source → its latest update, whose op is that source's running total: the base's winners.
  readonly #totals = this.winners
  // Exact whatever the order updates arrive in, even past the safe range (see `value`).
  #sum = 0n

  /** @throws TypeError on bad options. */
  constructor(options: PNCounterOptions = {}) {
    super(options)
  }

  /**
   * Adds `n` (default 1; may be negative); returns this counter. Adding 0 writes nothing.
   * @throws RangeError when `n` is not a safe integer or the result would not be one.
   */
  increment(n = 1): this {
    if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new RangeError(`a counter changes by a safe integer, got ${String(n)}`)
    if (n === 0) return this
    const own = this.#totals.get(this.id)?.op ?? 0
    const total = own + n
    if (!Number.isSafeInteger(total)) throw new RangeError(`this replica's total ${own} + ${n} leaves the safe integer range`)
    const next = this.#sum + BigInt(n)
    if (next > BigInt(Number.MAX_SAFE_INTEGER) || next < -BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`counter value ${this.#sum} + ${n} leaves the safe integer range`)
    this.commit(total)
    return this
  }

  /**
   * Subtracts `n` (default 1); returns this counter.
   * @throws RangeError when `n` is not a safe integer or the result would not be one.
   */
  decrement(n = 1): this {
    if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new RangeError(`a counter changes by a safe integer, got ${String(n)}`)
    return this.increment(-n)
  }

  /**
   * The counter's value: the sum of every source's total. Local changes keep it a safe integer;
   * peers' totals could in principle add up past that range, then this is the nearest number to
   * the exact sum (the same on every replica) and {@link exactValue} has it exactly.
   */
  get value(): number {
    return Number(this.#sum)
  }

  /** The exact sum of every source's total. */
  get exactValue(): bigint {
    return this.#sum
  }

  /** source → that source's running total, sorted by source. */
  totals(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const s of [...this.#totals.keys()].sort()) out[s] = this.#totals.get(s)!.op
    return out
  }

  /** The value. */
  toJSON(): number {
    return Number(this.#sum)
  }

  protected keyOf(u: Update<number>): string {
    return u.source
  }

  // A source's later total replaces its earlier one; a stale one (from a compacted range) loses.
  protected override wins(a: Update<number>, b: Update<number>): boolean {
    return a.seq > b.seq
  }

  protected override won(_key: string, u: Update<number>, prev: Update<number> | undefined): boolean {
    const old = prev?.op ?? 0
    if (u.op === old) return false
    this.#sum += BigInt(u.op) - BigInt(old)
    this.emit('change', Number(this.#sum))
    return true
  }

  protected override writeOp(e: encoding.Encoder, op: number): void {
    // Local writes check their amounts; this catches an op handed to applyRanges by hand.
    if (!Number.isSafeInteger(op)) throw new TypeError(`a PNCounter op is a safe integer, got ${typeof op === 'number' ? op : typeof op}`)
    encoding.writeVarInt(e, op)
  }

  protected override readOp(d: decoding.Decoder): number {
    return readSafeInt(d)
  }
}

registerType(PNCounter, { typeId: PNCounterTypeId, typeName: 'PNCounter' })
