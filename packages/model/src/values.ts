import { HearsayError, ErrorCodes, packValue, type Value, type decoding } from '@hearsay/core'

/**
 * A deep copy of `v` with every object's keys in code-unit order, so that values equal as data
 * (`{a, b}` and `{b, a}`) pack to the same bytes: sets identify elements by those bytes.
 */
export function canonicalValue(v: Value): Value {
  if (typeof v !== 'object' || v === null || v instanceof Uint8Array) return v
  if (Array.isArray(v)) return (v as readonly Value[]).map(canonicalValue)
  const o = v as { readonly [key: string]: Value }
  const keys = Object.keys(o).sort()
  const out: { [key: string]: Value } = {}
  for (const k of keys) out[k] = canonicalValue(o[k]!)
  return out
}

/** The identity of a canonical value: its msgpack bytes as a latin1 string (a compact Map key). */
export function valueKey(canonical: Value): string {
  return Buffer.from(packValue(canonical)).toString('latin1')
}

/** A decode error at the decoder's current position. */
export function decodeError(decoder: decoding.Decoder, message: string): HearsayError {
  return new HearsayError(ErrorCodes.DECODE_ERROR, message, { offset: decoder.pos })
}

/** Longest key (map key, row id, field name) accepted, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1 << 16

/**
 * A deep-frozen copy of an object value (primitives as they are), taken when a value enters a
 * replica: the caller may go on mutating their object without changing replicated state, and
 * readers cannot mutate what every replica must hold equal.
 */
export function freezeValue<V extends Value>(v: V): V {
  if (typeof v !== 'object' || v === null) return v
  return deepFreeze(v, true) as V
}

function deepFreeze(v: Value, copy: boolean): Value {
  if (typeof v !== 'object' || v === null) return v
  if (v instanceof Uint8Array) return copy ? v.slice() : v
  if (Array.isArray(v)) {
    const a = copy ? (v as readonly Value[]).slice() : (v as Value[])
    for (let i = 0; i < a.length; i++) (a as Value[])[i] = deepFreeze(a[i]!, copy)
    return Object.freeze(a)
  }
  const o: { [key: string]: Value } = copy ? {} : (v as { [key: string]: Value })
  for (const k in v as object) o[k] = deepFreeze((v as { [key: string]: Value })[k]!, copy)
  return Object.freeze(o)
}

/** Freezes a value decoded from a peer in place (it is already a private copy). */
export function freezeDecoded<V extends Value>(v: V): V {
  if (typeof v !== 'object' || v === null) return v
  return deepFreeze(v, false) as V
}
