import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { HearsayError, ErrorCodes } from './errors.js'
import { packMsgpack, unpackMsgpack } from './msgpack.js'
import { isReplicaId, MAX_REPLICA_ID_LENGTH, type ReplicaId } from './ids.js'

export { encoding, decoding }

/** Deepest nesting accepted in a user value, locally and from peers. */
export const MAX_VALUE_DEPTH = 64

function decodeError(decoder: decoding.Decoder, message: string): HearsayError {
  return new HearsayError(ErrorCodes.DECODE_ERROR, message, { offset: decoder.pos })
}

/** Reads a var-uint and checks it is a safe integer (lib0 can overshoot by a few bits on the last byte). */
export function readSafeUint(decoder: decoding.Decoder): number {
  const at = decoder.pos
  const n = decoding.readVarUint(decoder)
  if (!Number.isSafeInteger(n)) throw new HearsayError(ErrorCodes.DECODE_ERROR, 'integer out of range', { offset: at })
  return n
}

/** Reads a signed var-int, checking the buffer end first (lib0's reader does not). */
export function readSafeInt(decoder: decoding.Decoder): number {
  if (decoder.pos >= decoder.arr.length) throw decodeError(decoder, 'unexpected end of data')
  const at = decoder.pos
  const n = decoding.readVarInt(decoder)
  if (!Number.isSafeInteger(n)) throw new HearsayError(ErrorCodes.DECODE_ERROR, 'integer out of range', { offset: at })
  return n
}

/**
 * Reads an element count and checks it against the bytes left, given the fewest bytes one
 * element can take, so a hostile count can never make us allocate more than the payload holds.
 */
export function readCount(decoder: decoding.Decoder, minBytesPerItem = 1): number {
  const at = decoder.pos
  const n = readSafeUint(decoder)
  if (n * minBytesPerItem > decoder.arr.length - decoder.pos) {
    throw new HearsayError(ErrorCodes.DECODE_ERROR, `count ${n} exceeds the remaining payload`, { offset: at })
  }
  return n
}

/** Reads a length-prefixed string of at most `maxLength` bytes. */
export function readBoundedString(decoder: decoding.Decoder, maxLength: number): string {
  const at = decoder.pos
  const len = readSafeUint(decoder)
  if (len > maxLength || len > decoder.arr.length - decoder.pos) {
    throw new HearsayError(ErrorCodes.DECODE_ERROR, `string of ${len} bytes is too long or truncated`, { offset: at })
  }
  decoder.pos = at
  return decoding.readVarString(decoder)
}

/**
 * Reads a replica or node id (a string of at most {@link MAX_REPLICA_ID_LENGTH} characters,
 * checked by `isReplicaId`).
 * @throws HearsayError `HEARSAY_DECODE_ERROR` saying `message`, at the id's offset.
 */
export function readReplicaId(decoder: decoding.Decoder, message = 'bad replica id'): ReplicaId {
  const at = decoder.pos
  const id = readBoundedString(decoder, MAX_REPLICA_ID_LENGTH * 3)
  if (!isReplicaId(id)) throw new HearsayError(ErrorCodes.DECODE_ERROR, message, { offset: at })
  return id
}

/** Reads length-prefixed bytes (a view, not a copy), checking the length against what is left. */
export function readBytes(decoder: decoding.Decoder): Uint8Array {
  const at = decoder.pos
  const len = readSafeUint(decoder)
  if (len > decoder.arr.length - decoder.pos) throw new HearsayError(ErrorCodes.DECODE_ERROR, 'byte array truncated', { offset: at })
  return decoding.readUint8Array(decoder, len)
}

/**
 * Runs `read` over `bytes`, turning any failure into a {@link HearsayError} with
 * `HEARSAY_DECODE_ERROR` and the byte offset, and requiring that every byte is consumed.
 */
export function decodeWith<T>(bytes: Uint8Array, read: (decoder: decoding.Decoder) => T): T {
  const decoder = decoding.createDecoder(bytes)
  let value: T
  try {
    value = read(decoder)
  } catch (err) {
    if (err instanceof HearsayError) throw err
    throw new HearsayError(ErrorCodes.DECODE_ERROR, `malformed payload: ${(err as Error)?.message ?? err}`, { offset: decoder.pos, cause: err })
  }
  if (decoder.pos !== bytes.length) throw decodeError(decoder, `${bytes.length - decoder.pos} trailing bytes`)
  return value
}

/** Runs `write` into a fresh encoder and returns the bytes. */
export function encodeWith(write: (encoder: encoding.Encoder) => void): Uint8Array {
  // One encoder is kept between calls: a lib0 encoder starts with a 100-byte buffer, which V8
  // allocates outside the heap, and a replica encoding every local edit (hundreds of thousands
  // of tiny updates) spent more time allocating and collecting those buffers than encoding. A
  // nested call (a `write` that encodes something itself) gets a fresh encoder.
  const e = spare ?? encoding.createEncoder()
  spare = null
  try {
    write(e)
    // A copy, so the kept buffer is never shared with a caller.
    return e.bufs.length === 0 ? e.cbuf.slice(0, e.cpos) : encoding.toUint8Array(e)
  } finally {
    e.cpos = 0
    e.bufs.length = 0
    // Keep the buffer unless a big write grew it (a kept buffer is pinned memory).
    if (e.cbuf.length <= SPARE_MAX) spare = e
  }
}

let spare: encoding.Encoder | null = null
const SPARE_MAX = 1 << 16

/**
 * A value that replicates: what msgpack carries and gives back unchanged.
 * null, booleans, finite numbers (not -0), strings, byte arrays, arrays and plain objects of these.
 */
export type Value = null | boolean | number | string | Uint8Array | readonly Value[] | { readonly [key: string]: Value }

function describe(v: unknown): string {
  if (v === undefined) return 'undefined'
  if (typeof v === 'number') return String(v)
  if (typeof v === 'object' && v !== null) return v.constructor?.name ?? 'object without prototype'
  return typeof v
}

function checkValue(v: unknown, depth: number, path: string): string | undefined {
  switch (typeof v) {
    case 'string':
      // UTF-8 (msgpack, lib0) cannot carry a lone surrogate: it would arrive as U+FFFD and the
      // replicas would diverge.
      if (!(v as string & { isWellFormed(): boolean }).isWellFormed()) return `${path} has a lone surrogate; only well-formed strings replicate`
      return undefined
    case 'boolean':
      return undefined
    case 'number':
      if (!Number.isFinite(v)) return `${path} is ${v}; only finite numbers replicate`
      if (Object.is(v, -0)) return `${path} is -0, which msgpack turns into 0`
      return undefined
    case 'object': {
      if (v === null) return undefined
      if (depth >= MAX_VALUE_DEPTH) return `${path} nests deeper than ${MAX_VALUE_DEPTH} levels`
      if (v instanceof Uint8Array) return undefined
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          if (!(i in v)) return `${path}[${i}] is a hole in a sparse array`
          const r = checkValue(v[i], depth + 1, `${path}[${i}]`)
          if (r) return r
        }
        return undefined
      }
      const proto = Object.getPrototypeOf(v)
      if (proto !== Object.prototype && proto !== null) return `${path} is a ${describe(v)}; only plain objects replicate`
      for (const k in v) {
        if (k === '__proto__') return `${path} has a "__proto__" key`
        if (!(k as string & { isWellFormed(): boolean }).isWellFormed()) return `${path} has a key with a lone surrogate`
        const r = checkValue((v as Record<string, unknown>)[k], depth + 1, `${path}.${k}`)
        if (r) return r
      }
      if (Object.getOwnPropertySymbols(v).length > 0) return `${path} has symbol keys`
      return undefined
    }
    default:
      return `${path} is ${describe(v)}; values are null, booleans, finite numbers, strings, Uint8Arrays, arrays and plain objects`
  }
}

/** True when `v` is a {@link Value}. */
export function isValue(v: unknown): v is Value {
  return checkValue(v, 0, 'value') === undefined
}

/**
 * Checks a value from our own caller.
 * @throws TypeError naming the first part that would not survive replication.
 */
export function assertValue(v: unknown, name = 'value'): asserts v is Value {
  const problem = checkValue(v, 0, name)
  if (problem) throw new TypeError(problem)
}

/** Encodes a value already checked by {@link assertValue} as msgpack (./msgpack.ts). */
export function packValue(v: Value): Uint8Array {
  return packMsgpack(v)
}

/**
 * Decodes a msgpack value from a peer or a file; the decoder itself refuses anything that is not
 * a plain {@link Value} (./msgpack.ts), with the same limits as {@link assertValue}.
 * @throws HearsayError `HEARSAY_DECODE_ERROR` on malformed bytes or a value of another kind.
 */
export function unpackValue(bytes: Uint8Array): Value {
  return unpackMsgpack(bytes, MAX_VALUE_DEPTH)
}

/** Writes a value as length-prefixed msgpack. */
export function writeValue(encoder: encoding.Encoder, v: Value): void {
  encoding.writeVarUint8Array(encoder, packValue(v))
}

/** Reads what {@link writeValue} wrote; errors carry the offset of the value. */
export function readValue(decoder: decoding.Decoder): Value {
  const at = decoder.pos
  const bytes = readBytes(decoder)
  try {
    return unpackValue(bytes)
  } catch (err) {
    throw new HearsayError(ErrorCodes.DECODE_ERROR, (err as Error).message, { offset: at, cause: err })
  }
}
