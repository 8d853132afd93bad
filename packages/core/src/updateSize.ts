/**
 * Largest update (its op and dependencies, encoded) a replica writes by default: 4 MiB. It is
 * what the replication path carries in one piece with room to spare: a gossip session sends one
 * update in one frame (cap 16 MiB, the WebSocket `maxPayload`), a peer's send buffer holds 8 MiB
 * and is refilled once it drains below a quarter (so a frame of up to 6 MiB always fits), a
 * LevelStore append is one batch (soft cap 8 MiB) and a bundle is a list of such frames. A write
 * over the limit is refused when it is made, instead of being acknowledged and then never
 * leaving the node.
 */
export const DEFAULT_MAX_UPDATE_BYTES = 4 * 1024 * 1024

/**
 * The update limit that fits a link with the given frame cap and send buffer: the smaller of
 * {@link DEFAULT_MAX_UPDATE_BYTES} and 15/16 of what one frame can carry on it (the frame cap,
 * or the three quarters of the send buffer a session lets one frame take), the rest being left
 * to frame and range headers.
 */
export function maxUpdateBytesFor(maxFrame: number, maxSendBuffer: number): number {
  const carried = Math.min(maxFrame, Math.floor((maxSendBuffer * 3) / 4))
  return Math.max(1, Math.min(DEFAULT_MAX_UPDATE_BYTES, carried - Math.ceil(carried / 16)))
}

// Plain-data nodes the quick bound visits before it gives up (the caller then encodes).
const BOUND_BUDGET = 64

/**
 * A quick upper bound on the bytes `value` encodes to (with lib0 or MessagePack, both of which
 * write a string in at most 3 bytes per UTF-16 unit plus a length, a number in at most 9 or
 * 10 bytes, a byte array as its bytes plus a length, and containers as their parts plus a
 * length and a tag per part), or `Infinity` when the value is anything else (a Map, a Date, a
 * class instance) or too big to walk cheaply. Used to skip exact encoding for small writes.
 */
export function encodedSizeBound(value: unknown): number {
  budget = BOUND_BUDGET
  return walk(value)
}

// Module state rather than a closure per call: this runs on every local write.
let budget = 0

function walk(v: unknown): number {
  if (--budget < 0) return Infinity
  if (typeof v === 'string') return 3 * v.length + 5
  if (typeof v === 'number') return 10
  if (typeof v === 'boolean' || v === undefined || v === null) return 2
  if (typeof v !== 'object') return Infinity
  if (ArrayBuffer.isView(v)) return v.byteLength + 6
  let n = 6
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      n += 2 + walk(v[i])
      if (budget < 0) return Infinity
    }
    return n
  }
  const proto = Object.getPrototypeOf(v)
  if (proto !== Object.prototype && proto !== null) return Infinity
  for (const k in v) {
    n += 3 * k.length + 7 + walk((v as Record<string, unknown>)[k])
    if (budget < 0) return Infinity
  }
  return n
}
