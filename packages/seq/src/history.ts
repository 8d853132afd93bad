// History: every source's runs past a clock, packed into as few updates as causality allows
// (an update may only name characters of other sources the receiver already has).
import type { ReadonlyVersionVector, Update } from '@hearsay/core'
import { DELETED, type Block } from './BlockTree.js'
import { DELETE, INSERT, MOVE, type DeleteRange, type Part, type SeqOp } from './ops.js'
import type { SeqEngine } from './SeqEngine.js'
import type { MoveRun, Run, SourceLog } from './SourceLog.js'

/** Every source's runs past `since`, packed into as few updates as causality allows. */
export function* history<C>(e: SeqEngine<C>, since: ReadonlyVersionVector): Iterable<Update<SeqOp<C>>> {
  for (const a of e.agents) {
    const from = since.get(a.name) + 1
    if (a.end < from) continue
    let i = a.runIndexAt(from)
    let parts: Part<C>[] = []
    let start = from
    let seq = from
    let allowed: Map<number, number> | null = null
    const flush = () => {
      if (parts.length === 0) return undefined
      const len = seq - start
      const u: Update<SeqOp<C>> = len === 1 ? { source: a.name, seq: start, time: a.lastTime, op: { parts } } : { source: a.name, seq: start, len, time: a.lastTime, op: { parts } }
      parts = []
      start = seq
      allowed = null
      return u
    }
    for (; i < a.runs.length; i++) {
      const run = a.runs[i]!
      const rs = a.starts[i]!
      const rl = a.rlenAt(i)
      if (rs + rl <= seq) continue
      if (rs > seq) {
        // A gap in the log (only a peer that skipped seqs makes one): updates stay contiguous.
        const u = flush()
        if (u !== undefined) yield u
        start = seq = rs
      }
      const off = seq - rs
      const ext = externalRefs(a, run, off)
      if (parts.length > 0 && ext !== null) {
        let ok = true
        for (const [ag, s] of ext) if ((allowed?.get(ag) ?? 0) < s) ok = false
        if (!ok) yield flush()!
      }
      if (parts.length === 0) allowed = ext
      parts.push(partOf(e, a, run, rs, rl, off))
      seq = rs + rl
    }
    const u = flush()
    if (u !== undefined) yield u
  }
}

// The highest seq per other source that a run (from offset `off`) references.
function externalRefs<C>(a: SourceLog<C>, r: Run<C>, off: number): Map<number, number> | null {
  let m: Map<number, number> | null = null
  const see = (ag: number, s: number) => {
    if (ag < 0 || ag === a.index) return
    m ??= new Map()
    if ((m.get(ag) ?? 0) < s) m.set(ag, s)
  }
  if (typeof r === 'number') {
    const f = a.delRanges(r)
    for (let i = 0, k = 0; i < f.length; i += 4) {
      const n = f[i + 2]!
      if (k + n > off) see(f[i]!, f[i + 3] === 1 ? f[i + 1]! + n - 1 : f[i + 1]!)
      k += n
    }
  } else {
    const run = r as MoveRun<C>
    if (off === 0) see(run.olA, run.olS)
    see(run.orA, run.orS)
    if (run.kind === MOVE) see(run.elemA, run.elemS)
  }
  return m
}

// The part for run `r` (first seq `rs`, `rl` seqs) from offset `off`.
function partOf<C>(e: SeqEngine<C>, a: SourceLog<C>, r: Run<C>, rs: number, rl: number, off: number): Part<C> {
  const ps = rs + off
  if (typeof r === 'number') {
    const f = a.delRanges(r)
    const ranges: DeleteRange[] = []
    let k = 0
    for (let i = 0; i < f.length; i += 4) {
      let n = f[i + 2]!
      let st = f[i + 1]!
      const dir = f[i + 3] as 1 | -1
      const at = rs + k
      k += n
      if (at + n <= ps) continue
      if (at < ps) {
        st += (ps - at) * dir
        n -= ps - at
      }
      ranges.push({ start: e.ref(a.index, Math.max(at, ps), f[i]!, st), len: n, dir: n === 1 ? 1 : dir })
    }
    return { kind: DELETE, len: rl - off, ranges }
  }
  const run = r as MoveRun<C>
  const ref = (ag: number, s: number) => e.ref(a.index, ps, ag, s)
  if (run.kind === INSERT) {
    const segs: Array<C | number> = []
    let b: Block<C> | null = e.findChar(a.index, ps)
    let o = ps - b.seq
    let left = run.rlen - off
    while (left > 0 && b !== null) {
      const n = Math.min(b.len - o, left)
      const last = segs[segs.length - 1]
      if (b.state === DELETED) {
        if (typeof last === 'number') segs[segs.length - 1] = last + n
        else segs.push(n)
      } else {
        const c = o === 0 && n === b.len ? b.content : e.kind.slice(b.content, o, o + n)
        if (last !== undefined && typeof last !== 'number') segs[segs.length - 1] = e.kind.append(e.kind.slice(last, 0, e.kind.length(last)), c)
        else segs.push(c)
      }
      left -= n
      o = 0
      b = b.next
    }
    return {
      kind: INSERT,
      len: run.rlen - off,
      left: off > 0 ? { src: '', n: 1 } : run.olA < 0 ? null : ref(run.olA, run.olS),
      right: run.orA < 0 ? null : ref(run.orA, run.orS),
      segs,
    }
  }
  return {
    kind: MOVE,
    len: 1,
    left: run.olA < 0 ? null : ref(run.olA, run.olS),
    right: run.orA < 0 ? null : ref(run.orA, run.orS),
    elem: ref(run.elemA, run.elemS),
    time: run.time,
  }
}
