import {
  LWWRegisterTypeId,
  WinnerPerKey,
  type ReplicatedEvents,
  assertValue,
  freezeValue,
  registerType,
  type ReplicatedOptions,
  type Update,
  type Value,
} from '@hearsay/core'

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
export class LWWRegister<T extends Value = Value> extends WinnerPerKey<Value, T | null, LWWRegisterEvents<T>> {
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
    return this.winnerOf('')?.op as T | undefined
  }

  /** The winning update, for inspection and tests. */
  get winner(): Update<Value> | undefined {
    return this.winnerOf('')
  }

  /** The value, or null before the first write. */
  toJSON(): T | null {
    const w = this.winnerOf('')
    return w === undefined ? null : (w.op as T)
  }

  protected keyOf(): string {
    return ''
  }

  protected override won(_key: string, u: Update<Value>): boolean {
    this.emit('change', u.op as T)
    return true
  }
}

registerType(LWWRegister, { typeId: LWWRegisterTypeId, typeName: 'LWWRegister' })
