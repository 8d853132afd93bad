import { HearsayError, ErrorCodes, bytesToKey, packValue, type Value, type decoding } from '@hearsay/core'

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
  return bytesToKey(packValue(canonical))
}

/** A decode error at the decoder's current position. */
export function decodeError(decoder: decoding.Decoder, message: string): HearsayError {
  return new HearsayError(ErrorCodes.DECODE_ERROR, message, { offset: decoder.pos })
}

/** Longest key (map key, row id, field name) accepted, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1 << 16

export { freezeDecoded, freezeValue } from '@hearsay/core'
