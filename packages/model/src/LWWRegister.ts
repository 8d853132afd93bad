import {
  LWWRegisterTypeId,
  Replicated,
  type ReplicatedEvents,
  assertValue,
  decoding,
  encoding,
  packValue,
  registerType,
  type ReadonlyVersionVector,
  type ReplicatedOptions,
  type Update,
  type Value,
  readValue,
} from '@hearsay/core'
import { isNewer } from './lww.js'
import { freezeDecoded, freezeValue } from './values.js'

/** Options of an {@link LWWRegister}. */
export type LWWRegisterOptions = ReplicatedOptions

/** What a {@link LWWRegister} emits, besides the base events. */
export interface LWWRegisterEvents<T extends Value = Value> extends ReplicatedEvents<Value> {
  /** The winning value changed, local or remote. */
  change: (value: T) => void
}

/**
 * A replicated single value where the last writer wins.
 *
 * Guarantees: concurrent `set`s resolve by `(hybrid time, source)` (a tie goes to the greater
 * source id), so every replica ends with the same value; history keeps only the winning update,
 * so however many writes it saw, a register syncs and stores one update. Values are checked at
 * the call and stored as deep-frozen copies.
 *
 * Events: `change` (value) whenever the winning value changes, local or remote.
 *
 * @example
 * ```ts
 * const r = new LWWRegister<string>({ id: 'a' })
 * r.on('change', (v) => console.log('now', v))
 * r.set('hello')
 * r.get() // 'hello'
 * ```
 */
export class LWWRegister<T extends Value = Value> extends Replicated<Value, T | null, LWWRegisterEvents<T>> {
  static override readonly typeId = LWWRegisterTypeId
  static override readonly typeName = 'LWWRegister'

  #winner: Update<Value> | undefined

  /** @throws TypeError on bad options. */
  constructor(options: LWWRegisterOptions = {}) {
    super(options)
  }

  /**
   * Sets the value; returns this register.
   * @throws TypeError when `value` is not replicable (named in the message).
   */
  set(value: T): this {
    assertValue(value)
    this.commit(freezeValue(value))
    return this
  }

  /** The current value, or undefined before the first write. */
  get(): T | undefined {
    return this.#winner?.op as T | undefined
  }

  /** The winning update, for inspection and tests. */
  get winner(): Update<Value> | undefined {
    return this.#winner
  }

  /** The value, or null before the first write. */
  toJSON(): T | null {
    return this.#winner === undefined ? null : (this.#winner.op as T)
  }

  protected applyOp(u: Update<Value>): boolean {
    if (this.#winner !== undefined && !isNewer(u, this.#winner)) return false
    this.#winner = u
    this.emit('change', u.op as T)
    return true
  }

  protected *history(since: ReadonlyVersionVector): Iterable<Update<Value>> {
    const w = this.#winner
    if (w !== undefined && w.seq > since.get(w.source)) yield w
  }

  protected writeOp(e: encoding.Encoder, op: Value): void {
    encoding.writeVarUint8Array(e, packValue(op))
  }

  protected readOp(d: decoding.Decoder): Value {
    return freezeDecoded(readValue(d))
  }
}

registerType(LWWRegister)
