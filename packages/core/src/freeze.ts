import type { Value } from './encoding.js'

/**
 * A deep-frozen copy of an object value (primitives as they are), taken when a value enters a
 * replica: the caller may go on mutating their object without changing replicated state, and
 * readers cannot mutate what every replica must hold equal.
 */
export function freezeValue<V extends Value>(v: V): V {
  if (typeof v !== 'object' || v === null) return v
  return deepFreeze(v, true) as V
}

/** Freezes a value decoded from a peer in place (it is already a private copy). */
export function freezeDecoded<V extends Value>(v: V): V {
  if (typeof v !== 'object' || v === null) return v
  return deepFreeze(v, false) as V
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
