import type { Update } from '@hearsay/core'

/**
 * True when update `a` beats update `b` under last-writer-wins: the greater hybrid time wins;
 * equal times (concurrent writes in the same logical tick) are broken by the greater source id,
 * then by the greater seq (only a misbehaving source reuses a time), so every replica picks
 * the same winner whatever order the updates arrived in.
 */
export function isNewer(a: Update<unknown>, b: Update<unknown>): boolean {
  if (a.time !== b.time) return a.time > b.time
  if (a.source !== b.source) return a.source > b.source
  return a.seq > b.seq
}
