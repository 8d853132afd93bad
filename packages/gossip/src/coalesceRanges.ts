import { updateEnd, type Range, type Update } from '@hearsay/core'

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
