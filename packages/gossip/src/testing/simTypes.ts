// Two small, correct replicated types for simulator runs that must not depend on
// @hearsay/model: a grow-only set and a compacting last-writer-wins map.
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { Replicated, readBoundedString, readSafeUint, type ReadonlyVersionVector, type ReplicatedOptions, type Update } from '@hearsay/core'

/** A grow-only set of strings (type id 9101). */
export class SimGSet extends Replicated<string, string[]> {
  static override readonly typeId = 9101
  static override readonly typeName = 'SimGSet'
  readonly #items = new Map<string, Update<string>>()

  constructor(options?: ReplicatedOptions) {
    super(options)
  }

  /** Adds `item` (a write only when it is new). @throws TypeError when it is not a string. */
  add(item: string): void {
    if (typeof item !== 'string') throw new TypeError('item is a string')
    if (!this.#items.has(item)) this.commit(item)
  }

  protected applyOp(u: Update<string>): boolean {
    const prev = this.#items.get(u.op)
    if (prev && (prev.source < u.source || (prev.source === u.source && prev.seq <= u.seq))) return false
    this.#items.set(u.op, u)
    return !prev
  }

  protected *history(since: ReadonlyVersionVector): Iterable<Update<string>> {
    for (const u of this.#items.values()) if (u.seq > since.get(u.source)) yield u
  }

  protected override writeOp(e: encoding.Encoder, op: string): void {
    encoding.writeVarString(e, op)
  }

  protected override readOp(d: decoding.Decoder): string {
    return readBoundedString(d, 1 << 12)
  }

  /** The items, sorted. */
  toJSON(): string[] {
    return [...this.#items.keys()].sort()
  }
}

interface KV {
  key: string
  value: number
}

/** A last-writer-wins map of string → number (type id 9102), compacting: only each key's winning write is kept. */
export class SimLWWMap extends Replicated<KV, Record<string, number>> {
  static override readonly typeId = 9102
  static override readonly typeName = 'SimLWWMap'
  readonly #winners = new Map<string, Update<KV>>()

  constructor(options?: ReplicatedOptions) {
    super(options)
  }

  /** Sets `key` to `value`. @throws TypeError/RangeError for a non-string key or a value that is not a safe integer >= 0. */
  set(key: string, value: number): void {
    if (typeof key !== 'string') throw new TypeError('key is a string')
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError('value is a safe integer >= 0')
    this.commit({ key, value })
  }

  protected applyOp(u: Update<KV>): boolean {
    const prev = this.#winners.get(u.op.key)
    if (prev !== undefined && (prev.time > u.time || (prev.time === u.time && prev.source >= u.source))) return false
    this.#winners.set(u.op.key, u)
    return true
  }

  protected *history(since: ReadonlyVersionVector): Iterable<Update<KV>> {
    for (const u of this.#winners.values()) if (u.seq > since.get(u.source)) yield u
  }

  protected override writeOp(e: encoding.Encoder, op: KV): void {
    encoding.writeVarString(e, op.key)
    encoding.writeVarUint(e, op.value)
  }

  protected override readOp(d: decoding.Decoder): KV {
    const key = readBoundedString(d, 1 << 12)
    const value = readSafeUint(d)
    return { key, value }
  }

  /** Every key's winning value, keys sorted. */
  toJSON(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const k of [...this.#winners.keys()].sort()) out[k] = this.#winners.get(k)!.op.value
    return out
  }
}
