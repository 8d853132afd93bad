import {
  LWWMapTypeId,
  Replicated,
  assertValue,
  decoding,
  encoding,
  readBoundedString,
  readBytes,
  registerType,
  unpackValue,
  packValue,
  HearsayError,
  ErrorCodes,
  type ReadonlyVersionVector,
  type ReplicatedOptions,
  type Update,
  type Value,
} from '@hearsay/core'
import { isNewer } from './lww.js'
import { MAX_KEY_BYTES, freezeDecoded, freezeValue } from './values.js'

/** One write to an {@link LWWMap}: a key and its new value, or `undefined` for a delete (a tombstone). */
export interface LWWMapOp {
  readonly key: string
  readonly value: Value | undefined
}

/** Options of an {@link LWWMap}. */
export type LWWMapOptions = ReplicatedOptions

/**
 * A replicated key → value map where the last writer wins per key: the API of
 * `scuttlebutt/model` (`set`, `get`, `delete`, `has`, `keys`, `entries`, `size`, `toJSON`).
 *
 * Guarantees:
 * - Concurrent writes to a key resolve by `(hybrid time, source)`: the greater time wins, a
 *   tie goes to the greater source id, so every replica picks the same value.
 * - A delete is an update (a tombstone), not a hole: a delete newer than a concurrent set wins.
 * - History keeps only the winning update per key (the tombstone for a deleted key), so a map
 *   that saw 1M writes to 1k keys stores and syncs about 1k updates.
 * - Values are checked at the call ({@link assertValue}): anything msgpack cannot carry
 *   unchanged is refused there with a `TypeError`, never at a peer. Object values are stored as
 *   deep-frozen copies: mutating the object you passed does not change the map.
 *
 * Events: `change` (key, value | undefined) and `change:<key>` (value | undefined) for every
 * applied update that changed the key's winner, local or remote; plus the base events
 * (`update`, `ranges`, `rejected`, `dispose`).
 *
 * @example
 * ```ts
 * const a = new LWWMap<number>({ id: 'a' })
 * a.on('change', (key, value) => console.log(key, value))
 * a.set('apples', 3)
 * a.delete('apples')
 * ```
 */
export class LWWMap<V extends Value = Value> extends Replicated<LWWMapOp, Record<string, V>> {
  static override readonly typeId = LWWMapTypeId
  static override readonly typeName = 'LWWMap'

  // key → the winning update (a tombstone when its value is undefined).
  readonly #entries = new Map<string, Update<LWWMapOp>>()
  #size = 0
  // Set once anyone listens to a `change:<key>` event; until then set() skips building event names.
  #keyed = false

  /** @throws TypeError on bad options (see {@link ReplicatedOptions}). */
  constructor(options: LWWMapOptions = {}) {
    super(options)
    this.on('newListener', (name: string | symbol) => {
      if (typeof name === 'string' && name.startsWith('change:')) this.#keyed = true
    })
  }

  /**
   * Sets `key` to `value` and returns this map. The write wins over every write this replica
   * has seen, and over concurrent ones with an earlier `(time, source)`.
   * @throws TypeError when the key is not a string or the value is not replicable.
   * @throws HearsayError `HEARSAY_NOT_OPEN` after `dispose()`.
   */
  set(key: string, value: V): this {
    if (typeof key !== 'string') throw new TypeError(`a key is a string, got ${typeof key}`)
    if (key.length > MAX_KEY_BYTES / 3 && Buffer.byteLength(key) > MAX_KEY_BYTES) throw new RangeError(`key is longer than ${MAX_KEY_BYTES} bytes`)
    // Strings and finite numbers are the common case: skip the generic walk for them.
    if (typeof value === 'object' && value !== null) {
      assertValue(value)
      value = freezeValue(value)
    } else if (typeof value !== 'string' && (typeof value !== 'number' || !Number.isFinite(value) || Object.is(value, -0))) {
      assertValue(value)
    }
    this.commit({ key, value })
    return this
  }

  /**
   * Deletes `key` (writes a tombstone) when it holds a value; returns whether it did.
   * @throws TypeError when the key is not a string.
   */
  delete(key: string): boolean {
    if (typeof key !== 'string') throw new TypeError(`a key is a string, got ${typeof key}`)
    const cur = this.#entries.get(key)
    if (cur === undefined || cur.op.value === undefined) return false
    this.commit({ key, value: undefined })
    return true
  }

  /** The value of `key`, or undefined when it is absent or deleted. */
  get(key: string): V | undefined {
    return this.#entries.get(key)?.op.value as V | undefined
  }

  /** True when `key` holds a value. */
  has(key: string): boolean {
    const e = this.#entries.get(key)
    return e !== undefined && e.op.value !== undefined
  }

  /** Keys that hold a value, in insertion order of their first write on this replica. */
  *keys(): IterableIterator<string> {
    for (const [k, u] of this.#entries) if (u.op.value !== undefined) yield k
  }

  /** Values, in the order of {@link keys}. */
  *values(): IterableIterator<V> {
    for (const u of this.#entries.values()) if (u.op.value !== undefined) yield u.op.value as V
  }

  /** `[key, value]` pairs, in the order of {@link keys}. */
  *entries(): IterableIterator<[string, V]> {
    for (const [k, u] of this.#entries) if (u.op.value !== undefined) yield [k, u.op.value as V]
  }

  /** Calls `fn(value, key)` for every key that holds a value. */
  forEach(fn: (value: V, key: string) => void): void {
    for (const [k, u] of this.#entries) if (u.op.value !== undefined) fn(u.op.value as V, k)
  }

  /** Number of keys that hold a value. */
  get size(): number {
    return this.#size
  }

  /** Number of updates history keeps: one per key ever written, tombstones included. */
  get historySize(): number {
    return this.#entries.size
  }

  /** The winning update of `key` (tombstones included), for inspection and tests. */
  winner(key: string): Update<LWWMapOp> | undefined {
    return this.#entries.get(key)
  }

  /** The map as a plain object with keys in code-unit order; deleted keys are absent. */
  toJSON(): Record<string, V> {
    const keys: string[] = []
    for (const [k, u] of this.#entries) if (u.op.value !== undefined) keys.push(k)
    keys.sort()
    const out: Record<string, V> = {}
    for (const k of keys) out[k] = this.#entries.get(k)!.op.value as V
    return out
  }

  protected applyOp(u: Update<LWWMapOp>): boolean {
    const key = u.op.key
    const cur = this.#entries.get(key)
    if (cur !== undefined && !isNewer(u, cur)) return false
    this.#entries.set(key, u)
    const value = u.op.value
    if (cur === undefined || cur.op.value === undefined) {
      if (value !== undefined) this.#size++
    } else if (value === undefined) this.#size--
    this.emit('change', key, value)
    if (this.#keyed) this.emit('change:' + key, value)
    return true
  }

  protected *history(since: ReadonlyVersionVector): Iterable<Update<LWWMapOp>> {
    if (since.size === 0) {
      yield* this.#entries.values()
      return
    }
    for (const u of this.#entries.values()) if (u.seq > since.get(u.source)) yield u
  }

  protected writeOp(e: encoding.Encoder, op: LWWMapOp): void {
    encoding.writeVarString(e, op.key)
    // A tombstone is an empty value: msgpack never encodes a value in zero bytes.
    if (op.value === undefined) encoding.writeVarUint(e, 0)
    else encoding.writeVarUint8Array(e, packValue(op.value))
  }

  protected readOp(d: decoding.Decoder): LWWMapOp {
    const key = readBoundedString(d, MAX_KEY_BYTES)
    const at = d.pos
    const bytes = readBytes(d)
    if (bytes.length === 0) return { key, value: undefined }
    try {
      return { key, value: freezeDecoded(unpackValue(bytes)) }
    } catch (err) {
      throw new HearsayError(ErrorCodes.DECODE_ERROR, (err as Error).message, { offset: at, cause: err })
    }
  }
}

registerType(LWWMap)
