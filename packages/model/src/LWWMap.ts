import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import {
  utf8Length,
  LWWMapTypeId,
  WinnerPerKey,
  type ReplicatedEvents,
  assertValue,
  readBoundedString,
  readBytes,
  readRanges,
  readSafeUint,
  registerType,
  unpackValue,
  packValue,
  writeRanges,
  HearsayError,
  ErrorCodes,
  type Range,
  type ReplicatedOptions,
  type Update,
  type Value,
} from '@hearsay/core'
import { MAX_KEY_BYTES, freezeDecoded, freezeValue } from './values.js'

/** One write to an {@link LWWMap}: a key and its new value, or `undefined` for a delete (a tombstone). */
export interface LWWMapOp {
  readonly key: string
  readonly value: Value | undefined
}

// Value tags: the low 3 bits of an op's head word. Common primitives skip msgpack entirely.
const T_DELETE = 0
const T_PACKED = 1
const T_UINT = 2
const T_NEGINT = 3
const T_STRING = 4
const T_FALSE = 5
const T_TRUE = 6
const T_NULL = 7

// Within one writeRanges call each key is written as the length of the prefix it shares with
// the previous key plus the rest, so `key12345` after `key9876` costs 6 bytes, not 9.
interface KeyChain {
  prev: string
}

const isWellFormed = (s: string): boolean => (s as string & { isWellFormed(): boolean }).isWellFormed()

/** Options of an {@link LWWMap}. */
export type LWWMapOptions = ReplicatedOptions

/** What an {@link LWWMap} emits, besides the base events. */
export interface LWWMapEvents<V extends Value = Value> extends ReplicatedEvents<LWWMapOp> {
  /** A key's winner changed, local or remote; `value` is undefined when the key was deleted. */
  change: (key: string, value: V | undefined) => void
  /** The same, for one key: listen to `change:<key>`. */
  [perKey: `change:${string}`]: (value: V | undefined) => void
}

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
export class LWWMap<V extends Value = Value> extends WinnerPerKey<LWWMapOp, Record<string, V>, LWWMapEvents<V>> {
  // key → the winning update (a tombstone when its value is undefined): the base's winners.
  readonly #entries = this.winners
  #size = 0
  // Set once anyone listens to a `change:<key>` event; until then set() skips building event names.
  #keyed = false

  /** @throws TypeError on bad options (see {@link ReplicatedOptions}). */
  constructor(options: LWWMapOptions = {}) {
    super(options)
  }

  protected override listenerAdded(name: keyof LWWMapEvents<V>): void {
    if (typeof name === 'string' && name.startsWith('change:')) this.#keyed = true
  }

  /**
   * Sets `key` to `value` and returns this map. The write wins over every write this replica
   * has seen, and over concurrent ones with an earlier `(time, source)`.
   * @throws TypeError when the key is not a well-formed string or the value is not replicable.
   * @throws RangeError when the key is longer than 65 536 UTF-8 bytes.
   * @throws HearsayError `HEARSAY_NOT_OPEN` after `dispose()`.
   */
  set(key: string, value: V): this {
    if (typeof key !== 'string') throw new TypeError(`a key is a string, got ${typeof key}`)
    if (key.length > MAX_KEY_BYTES / 3 && utf8Length(key) > MAX_KEY_BYTES) throw new RangeError(`key is longer than ${MAX_KEY_BYTES} bytes`)
    if (!isWellFormed(key)) throw new TypeError('key has a lone surrogate; only well-formed strings replicate')
    // Strings and finite numbers are the common case: skip the generic walk for them.
    if (typeof value === 'object' && value !== null) {
      assertValue(value)
      value = freezeValue(value)
    } else if (typeof value === 'string' ? !isWellFormed(value) : typeof value !== 'number' || !Number.isFinite(value) || Object.is(value, -0)) {
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

  protected keyOf(u: Update<LWWMapOp>): string {
    return u.op.key
  }

  protected override won(key: string, u: Update<LWWMapOp>, cur: Update<LWWMapOp> | undefined): boolean {
    const value = u.op.value
    if (cur === undefined || cur.op.value === undefined) {
      if (value !== undefined) this.#size++
    } else if (value === undefined) this.#size--
    // emit() allocates its rest arguments even with no listener: skip it when nobody listens.
    if (this.listenerCount('change') > 0) this.emit('change', key, value as V | undefined)
    if (this.#keyed) this.emit(`change:${key}`, value as V | undefined)
    return true
  }

  /** Writes ranges of map ops, keys prefix-compressed within this call (see PROTOCOL.md). */
  override writeRanges(encoder: encoding.Encoder, ranges: readonly Range<LWWMapOp>[]): void {
    const chain: KeyChain = { prev: '' }
    writeRanges(encoder, ranges, { write: (e, op) => writeMapOp(e, op, chain), read: (d) => readMapOp(d, chain) })
  }

  /** Reads what {@link writeRanges} wrote, validating every op. */
  override readRanges(decoder: decoding.Decoder): Range<LWWMapOp>[] {
    const chain: KeyChain = { prev: '' }
    return readRanges(decoder, { write: (e, op) => writeMapOp(e, op, chain), read: (d) => readMapOp(d, chain) })
  }

  protected override writeOp(e: encoding.Encoder, op: LWWMapOp): void {
    writeMapOp(e, op, undefined)
  }

  protected override readOp(d: decoding.Decoder): LWWMapOp {
    return readMapOp(d, undefined)
  }
}

function writeMapOp(e: encoding.Encoder, op: LWWMapOp, chain: KeyChain | undefined): void {
  const key = op.key
  // Local writes check their keys; this catches an op handed to applyRanges by hand.
  if (typeof key !== 'string') throw new TypeError(`an LWWMap key is a string, got ${typeof key}`)
  let shared = 0
  if (chain !== undefined) {
    const prev = chain.prev
    const max = prev.length < key.length ? prev.length : key.length
    while (shared < max && prev.charCodeAt(shared) === key.charCodeAt(shared)) shared++
    // Never split a surrogate pair: the rest is written as UTF-8.
    if (shared > 0 && (key.charCodeAt(shared - 1) & 0xfc00) === 0xd800) shared--
    chain.prev = key
  }
  const v = op.value
  let tag: number
  if (v === undefined) tag = T_DELETE
  else if (typeof v === 'number') tag = Number.isSafeInteger(v) ? (v >= 0 ? T_UINT : T_NEGINT) : T_PACKED
  else if (typeof v === 'string') tag = T_STRING
  else if (v === null) tag = T_NULL
  else if (v === true) tag = T_TRUE
  else if (v === false) tag = T_FALSE
  else tag = T_PACKED
  encoding.writeVarUint(e, shared * 8 + tag)
  encoding.writeVarString(e, shared === 0 ? key : key.slice(shared))
  switch (tag) {
    case T_UINT:
      encoding.writeVarUint(e, v as number)
      break
    case T_NEGINT:
      encoding.writeVarUint(e, -(v as number))
      break
    case T_STRING:
      encoding.writeVarString(e, v as string)
      break
    case T_PACKED:
      encoding.writeVarUint8Array(e, packValue(v as Value))
  }
}

function readMapOp(d: decoding.Decoder, chain: KeyChain | undefined): LWWMapOp {
  const at = d.pos
  const head = readSafeUint(d)
  const tag = head % 8
  const shared = (head - tag) / 8
  const prev = chain === undefined ? '' : chain.prev
  if (shared > prev.length) throw new HearsayError(ErrorCodes.DECODE_ERROR, `key shares ${shared} chars with a previous key of ${prev.length}`, { offset: at })
  const rest = readBoundedString(d, MAX_KEY_BYTES)
  const key = shared === 0 ? rest : prev.slice(0, shared) + rest
  if (key.length > MAX_KEY_BYTES) throw new HearsayError(ErrorCodes.DECODE_ERROR, 'key too long', { offset: at })
  if (chain !== undefined) chain.prev = key
  switch (tag) {
    case T_DELETE:
      return { key, value: undefined }
    case T_UINT:
      return { key, value: readSafeUint(d) }
    case T_NEGINT: {
      const vat = d.pos
      const n = readSafeUint(d)
      if (n === 0) throw new HearsayError(ErrorCodes.DECODE_ERROR, 'negative zero refused', { offset: vat })
      return { key, value: -n }
    }
    case T_STRING:
      return { key, value: readBoundedString(d, d.arr.length) }
    case T_FALSE:
      return { key, value: false }
    case T_TRUE:
      return { key, value: true }
    case T_NULL:
      return { key, value: null }
    default: {
      const vat = d.pos
      const bytes = readBytes(d)
      try {
        return { key, value: freezeDecoded(unpackValue(bytes)) }
      } catch (err) {
        throw new HearsayError(ErrorCodes.DECODE_ERROR, (err as Error).message, { offset: vat, cause: err })
      }
    }
  }
}

registerType(LWWMap, { typeId: LWWMapTypeId, typeName: 'LWWMap' })
