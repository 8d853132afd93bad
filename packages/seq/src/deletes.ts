// Applying deletes: a delete part's ranges resolved, the characters marked deleted (never half a
// surrogate pair; list elements through moves.ts), and the ranges logged in the source's delete run.
import { DELETED, type Block } from './BlockTree.js'
import { allGone } from './gone.js'
import type { DeletePart, Ref } from './ops.js'
import type { SeqEngine } from './SeqEngine.js'
import { appendDelRange, type SourceLog } from './SourceLog.js'

/** Applies delete part `p` at seq `ps` of `self`, skipping its first `skip` seqs, and logs it. */
export function applyDelete<C>(e: SeqEngine<C>, self: SourceLog<C>, ps: number, p: DeletePart, skip: number): void {
  const run = self.deleteRun(ps + skip, p.len - skip)
  let k = 0
  for (const r of p.ranges) {
    deleteOne(e, self, run, ps, k, r.start, r.len, r.dir, skip)
    k += r.len
  }
}

/**
 * Applies one range of a delete part at seq `ps` (`k` seqs into the part) and logs it in the
 * delete run whose record is at `run`, skipping what lies in the part's first `skip` seqs.
 */
export function deleteOne<C>(e: SeqEngine<C>, self: SourceLog<C>, run: number, ps: number, k: number, startRef: Ref, rlen: number, dir: 1 | -1, skip: number): void {
  e.resolve(startRef, self, ps + k)
  let len = rlen
  let start = e.rs
  if (skip > k) {
    const d = Math.min(skip - k, len)
    start += d * dir
    len -= d
  }
  if (len <= 0) return
  const a = e.ra
  deleteRange(e, a, dir === 1 ? start : start - len + 1, len)
  appendDelRange(self, run, a, start, len, dir)
}

/** Deletes characters (agent, lo .. lo + n - 1). */
export function deleteRange<C>(e: SeqEngine<C>, agent: number, lo: number, n: number): void {
  const hi = lo + n - 1
  if (e.gone !== null && allGone(e.gone[agent], lo, hi + 1)) return
  if (e.building) e.endBuild()
  let s = lo
  let b: Block<C> | null = e.findChar(agent, lo)
  for (;;) {
    const off = s - b.seq
    const take = Math.min(b.len - off, hi - s + 1)
    s += take
    if (e.isList) {
      // Moves and merges may have replaced `b`: look the rest up afresh.
      e.moves!.deleteListChars(e, b, off, take)
      if (s > hi) return
      b = e.findChar(agent, s)
      continue
    }
    // setState returns the live block now holding these characters (merged or not).
    if (b.state !== DELETED) {
      // Never half a surrogate pair: a delete (only a faulty or hostile peer sends one) that
      // cuts a visible pair takes the other half too. Halves are consecutive ids of one
      // block, so every replica does the same whatever it received first, and a replica that
      // deleted the pair already has nothing left to extend.
      let o = off
      let n = take
      if (o > 0 && e.kind.splitsBefore!(b.content, o)) {
        o--
        n++
      }
      if (o + n < b.len && e.kind.splitsAfter!(b.content, o + n - 1)) n++
      b = e.setState(b, o, n, DELETED)
    }
    if (s > hi) return
    // The next seqs are in this block (merged) or in the next fragments of its run, which
    // are chained in seq order: walk on instead of looking each one up again.
    while (b !== null && s >= b.seq + b.len) b = b.next
    if (b === null || s < b.seq) b = e.findChar(agent, s)
  }
}
