import * as decoding from 'lib0/decoding'
import {
  GSetTypeId,
  WinnerPerKey,
  type ReplicatedEvents,
  assertValue,
  lastWriterWins,
  registerType,
  type ReplicatedOptions,
  type Update,
  type Value,
  readValue,
} from '@hearsay/core'
import { canonicalValue, freezeDecoded, freezeValue, valueKey } from './values.js'

/** Options of a {@link GSet}. */
export type GSetOptions = ReplicatedOptions

/** What a {@link GSet} emits, besides the base events. */
export interface GSetEvents<T extends Value = Value> extends ReplicatedEvents<Value> {
  /** An element appeared, local or remote. */
  add: (value: T) => void
}

/**
 * A replicated grow-only set: elements are added, never removed (use {@link ORSet} to remove).
 *
 * Guarantees: elements are compared as data: `{ a: 1, b: 2 }` and `{ b: 2, a: 1 }` are the same
 * element (object keys are put in code-unit order when an element enters the set, so every
 * replica holds and iterates the same canonical value). Adding an element already present
 * writes nothing. History keeps one add per element (the earliest by `(time, source)`), so
 * concurrent adds of one element cost one update in every later sync.
 *
 * Events: `add` (value) when an element first appears, local or remote.
 *
 * @example
 * ```ts
 * const s = new GSet<string>({ id: 'a' })
 * s.add('x').add('y')
 * s.has('x') // true
 * ```
 */
export class GSet<T extends Value = Value> extends WinnerPerKey<Value, T[], GSetEvents<T>> {
  // element key (canonical msgpack bytes) → the add kept as the element's witness: the base's winners.
  readonly #items = this.winners

  /** @throws TypeError on bad options. */
  constructor(options: GSetOptions = {}) {
    super(options)
  }

  /**
   * Adds `value` unless it is already present; returns this set.
   * @throws TypeError when `value` is not replicable.
   */
  add(value: T): this {
    assertValue(value)
    const c = canonicalValue(value)
    if (!this.#items.has(valueKey(c))) this.commit(freezeValue(c))
    return this
  }

  /** True when `value` (compared as data) is in the set. @throws TypeError when it is not replicable. */
  has(value: T): boolean {
    assertValue(value)
    return this.#items.has(valueKey(canonicalValue(value)))
  }

  /** The elements, in the order this replica first saw them. */
  *values(): IterableIterator<T> {
    for (const u of this.#items.values()) yield u.op as T
  }

  /** Same as {@link values}. */
  [Symbol.iterator](): IterableIterator<T> {
    return this.values()
  }

  /** Number of elements. */
  get size(): number {
    return this.#items.size
  }

  /** The elements sorted by their canonical encoding: equal on replicas with equal state. */
  toJSON(): T[] {
    return [...this.#items.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map((e) => e[1].op as T)
  }

  protected keyOf(u: Update<Value>): string {
    return valueKey(u.op)
  }

  // The earliest add of an element is its witness, so every replica keeps the same one.
  protected override wins(a: Update<Value>, b: Update<Value>): boolean {
    return lastWriterWins(b, a)
  }

  protected override won(_key: string, u: Update<Value>, previous: Update<Value> | undefined): boolean {
    if (previous !== undefined) return false
    this.emit('add', u.op as T)
    return true
  }

  protected override readOp(d: decoding.Decoder): Value {
    // A peer may send keys in any order; hold the canonical form like a local add would.
    return freezeDecoded(canonicalValue(readValue(d)))
  }
}

registerType(GSet, { typeId: GSetTypeId, typeName: 'GSet' })
