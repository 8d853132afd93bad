import { updateEnd, type Range, type Update } from './update.js'

/**
 * Most updates packed into one ranges frame, by streams and gossip sessions alike; bigger
 * batches are split at update boundaries ({@link splitRanges}).
 */
export const UPDATES_PER_FRAME = 4096

/** Splits ranges into chunks of at most `max` updates, cutting ranges between updates. */
export function splitRanges<Op>(ranges: readonly Range<Op>[], max: number): Range<Op>[][] {
  const chunks: Range<Op>[][] = []
  let cur: Range<Op>[] = []
  let count = 0
  for (const r of ranges) {
    let from = r.from
    let i = 0
    while (r.updates.length - i > max - count) {
      const take = max - count
      const part = r.updates.slice(i, i + take)
      const to = take > 0 ? updateEnd(part[part.length - 1]!) : from
      if (take > 0) cur.push({ source: r.source, from, to, updates: part })
      chunks.push(cur)
      cur = []
      count = 0
      from = to
      i += take
    }
    const rest = i === 0 ? r.updates : r.updates.slice(i)
    cur.push({ source: r.source, from, to: r.to, updates: rest })
    count += rest.length
  }
  if (cur.length > 0) chunks.push(cur)
  return chunks
}

/**
 * Joins pieces of history into as few ranges as possible: per source, in order, a piece that
 * starts where (or before) the previous one ended extends it. Pieces from successive `ranges`
 * events of one replica chain this way, so a tick's writes travel and persist as one range per
 * source. Pieces that leave a gap, or hold a run straddling the end of the previous one, stay
 * separate. The result covers exactly the same seqs.
 */
export function coalesceRanges<Op>(pieces: readonly Range<Op>[]): Range<Op>[] {
  if (pieces.length <= 1) return [...pieces]
  const out: Array<{ source: Range<Op>['source']; from: number; to: number; updates: Update<Op>[] }> = []
  const last = new Map<string, (typeof out)[number]>()
  for (const p of pieces) {
    const prev = last.get(p.source)
    // Joining must not put overlapping updates into one range (the codec requires increasing,
    // disjoint updates): an update of p that straddles prev.to (a multi-seq run) keeps p apart.
    if (prev !== undefined && p.from <= prev.to && p.from >= prev.from && p.updates.every((u) => u.seq > prev.to || updateEnd(u) <= prev.to)) {
      for (const u of p.updates) if (u.seq > prev.to) prev.updates.push(u)
      if (p.to > prev.to) prev.to = p.to
      continue
    }
    const r = { source: p.source, from: p.from, to: p.to, updates: [...p.updates] }
    out.push(r)
    last.set(p.source, r)
  }
  return out
}
