// A source's log: the runs it wrote in seq order (insert and move runs as objects that are also
// their first block in the tree, delete runs as packed records), the lookup of a seq's run, and
// the packing of delete ranges. See PROTOCOL.md, "Memory layout".
import type { ReplicaId } from '@hearsay/core'
import { Block, type Leaf, type RunRef } from './BlockTree.js'
import { INSERT, MOVE } from './ops.js'

/**
 * The origin references of an insert or a move slot: left (olA, olS), right (orA, orS); agent
 * -1 is the document start (left) or end (right). The engine fills one scratch instance per
 * insert and passes it down (see SeqEngine.origins), so placing an insert allocates nothing for
 * its origins; every function that takes one reads it at once and keeps nothing.
 */
export class Origins {
  olA = -1
  olS = 0
  orA = -1
  orS = 0

  /** Sets all four references. */
  set(olA: number, olS: number, orA: number, orS: number): this {
    this.olA = olA
    this.olS = olS
    this.orA = orA
    this.orS = orS
    return this
  }
}

/**
 * An entry of a source's log: consecutive seqs written as one insert or one move (a run object,
 * which is also the run's first block in the tree), or as one delete: a number, the offset of
 * the delete's record in {@link SourceLog.dels}. A delete run is no object: it holds nothing the
 * tree needs, and logs of long traces hold thousands of them.
 */
export type Run<C> = InsRun<C> | number

/**
 * An insert run (and the base of move runs): its origins, and at the same time the run's first
 * fragment in the tree, a block whose `run` is itself. A run typed in one go thus costs one
 * object, not a run and a block (a run's first fragment always starts at the run's first seq:
 * splits keep the left part, and merges of deleted fragments keep the earlier one). Fragments
 * the run is cut into later are plain blocks, chained from it in seq order by `Block.next`.
 */
export class InsRun<C> extends Block<C> {
  /** The source that wrote it (interned index); its blocks read it from here (`Block.agent`). */
  readonly src: number
  /** Length of the run in seqs (`len` is the length of this first fragment). */
  rlen: number
  /** Left origin (agent index, seq); agent -1: document start. */
  olA = -1
  olS = 0
  /** Right origin; agent -1: document end. */
  orA = -1
  orS = 0

  constructor(src: number, seq: number, rlen: number, len: number, content: C, state: number, leaf: Leaf<C>) {
    super(seq, len, content, state, leaf)
    this.src = src
    this.rlen = rlen
  }

  get kind(): number {
    return INSERT
  }

  /** A run is its own first block. */
  get run(): RunRef {
    return this
  }

  override get agent(): number {
    return this.src
  }
}

/** A move run (List): one slot for element (elemA, elemS), written at `time`. */
export class MoveRun<C> extends InsRun<C> {
  override get kind(): number {
    return MOVE
  }

  elemA = -1
  elemS = 0
  // A double from the start (see SourceLog.lastTime).
  time = -0.5
}

/** The LWW position register of a list element that has been moved at least once. */
export interface ElemState {
  wA: number
  wS: number
  wTime: number
  deleted: boolean
}

/** One interned source: its name, its log of runs and its latest update time. */
export class SourceLog<C> {
  /** The log (see {@link Run}), in seq order. */
  runs: Array<Run<C>> = []
  /** The first seq of every run, in step with {@link runs}: lookups search these packed numbers. */
  starts: number[] = []
  /**
   * Records of the delete runs, one after another. The record at offset `o`: the run's length in
   * seqs, the count of words that follow, then its ranges of ids, each after a marker
   * -(agent + 1) when its source differs from the previous range's (from this source's own for
   * the first). A range (start, lw), lw being len * 2, + 1 when it runs backward as backspacing
   * writes it, is one word start * 2^22 + lw (a double, stored unboxed in the array), or when
   * start or lw do not fit, the three words LONG_RANGE, start, lw. Most ranges name the source
   * before them: a range costs one number.
   */
  dels: number[] = []
  /**
   * Time of this source's latest update applied here; the time of history updates. Hybrid times
   * exceed 2^31, so the field starts as a non-integer: V8 then stores it as a double from the
   * first object on, instead of changing the class layout (and deoptimizing) on the first time.
   */
  lastTime = -0.5
  /** Source of the last range of this source's last delete run (see appendDelRange). */
  delAgent = 0
  /** That range unpacked: start, length and direction (valid while the run has a range). */
  delStart = 0
  delLen = 0
  delDir = 1
  /** Moved list elements by seq (List only). */
  moved: Map<number, ElemState> | null = null
  /** Last block found by id, to speed up nearby lookups. */
  cache: Block<C> | null = null
  constructor(readonly index: number, readonly name: ReplicaId) {}

  /** Length in seqs of the run at index `i` of the log. */
  rlenAt(i: number): number {
    const r = this.runs[i]!
    return typeof r === 'number' ? this.dels[r]! : r.rlen
  }

  get end(): number {
    const n = this.runs.length
    return n === 0 ? 0 : this.starts[n - 1]! + this.rlenAt(n - 1) - 1
  }

  /** Appends an insert or move run to the log. */
  addRun(run: InsRun<C>): void {
    this.runs.push(run)
    this.starts.push(run.seq)
  }

  /**
   * The last run, grown by `len`, when seqs `seq..` with origins `o` continue it (the left origin
   * is its last character, the right origin the same); null otherwise.
   */
  continueRun(seq: number, len: number, o: Origins): InsRun<C> | null {
    const last = this.runs[this.runs.length - 1]
    if (
      last !== undefined &&
      typeof last !== 'number' &&
      last.kind === INSERT &&
      last.seq + last.rlen === seq &&
      o.olA === this.index &&
      o.olS === seq - 1 &&
      last.orA === o.orA &&
      last.orS === o.orS
    ) {
      last.rlen += len
      return last
    }
    return null
  }

  /**
   * Logs a new insert run of `rlen` seqs from `seq` with origins `o`; the run is also its first
   * fragment, `n` items of `content` in `state`, in `leaf`.
   */
  newRun(seq: number, rlen: number, o: Origins, n: number, content: C, state: number, leaf: Leaf<C>): InsRun<C> {
    const run = new InsRun<C>(this.index, seq, rlen, n, content, state, leaf)
    run.olA = o.olA
    run.olS = o.olS
    run.orA = o.orA
    run.orS = o.orS
    this.addRun(run)
    return run
  }

  /** The delete run (its record's offset) that seqs `seq..seq + len - 1` extend or start. */
  deleteRun(seq: number, len: number): number {
    const n = this.runs.length
    const last = this.runs[n - 1]
    if (typeof last === 'number' && this.starts[n - 1]! + this.dels[last]! === seq) {
      this.dels[last]! += len
      return last
    }
    return this.addDelRun(seq, len)
  }

  /** Appends delete ranges (flat quadruples) as seqs `seq..` to the log, merging runs and ranges. */
  logDelete(seq: number, len: number, ranges: number[]): void {
    const run = this.deleteRun(seq, len)
    for (let i = 0; i < ranges.length; i += 4) appendDelRange(this, run, ranges[i]!, ranges[i + 1]!, ranges[i + 2]!, ranges[i + 3]!)
  }

  /** Empties the log (the source stays interned). */
  clear(): void {
    this.runs.length = 0
    this.starts.length = 0
    this.dels.length = 0
    this.buckets.length = 0
    this.bucketShift = BUCKET_SHIFT
    this.cache = null
    this.moved = null
  }

  /** Appends a delete run of `len` seqs from `seq`, with no ranges yet; returns its record's offset. */
  addDelRun(seq: number, len: number): number {
    const off = this.dels.length
    this.dels.push(len, 0)
    this.runs.push(off)
    this.starts.push(seq)
    return off
  }

  /** The ranges of the delete run whose record is at `off`, as flat quadruples (agent, start, len, dir). */
  delRanges(off: number): number[] {
    const d = this.dels
    const f: number[] = []
    let ag = this.index
    for (let i = off + 2, end = off + 2 + d[off + 1]!; i < end; ) {
      const x = d[i]!
      let st: number
      let lw: number
      if (x === LONG_RANGE) {
        st = d[i + 1]!
        lw = d[i + 2]!
        i += 3
      } else if (x < 0) {
        ag = -x - 1
        i++
        continue
      } else {
        st = Math.floor(x / RANGE_LW)
        lw = x - st * RANGE_LW
        i++
      }
      f.push(ag, st, Math.floor(lw / 2), lw % 2 === 1 ? -1 : 1)
    }
    return f
  }

  /**
   * For every 2^bucketShift seqs (bucket k: seqs from k << bucketShift), the index of the last
   * run starting at or before the bucket's first seq, built as far as lookups need. Runs only
   * ever grow at the end of the log, so an entry never changes once set. A lookup then searches
   * the few runs between two entries instead of the whole log: ids are looked up at random (a
   * loaded document looks one up for every insert and every delete range), and the full binary
   * search was most of the time of a lookup. The buckets are about four runs wide on average
   * (at least 64 seqs): a log of long runs (pastes) gets wider ones, so the table stays a
   * fraction of the log's own size.
   */
  buckets: number[] = []
  bucketShift = BUCKET_SHIFT

  /** Index in {@link runs} of the run holding `seq` (which must exist). */
  runIndexAt(seq: number): number {
    const starts = this.starts
    let lo = 0
    let hi = starts.length - 1
    if (seq < 2 ** 31 && hi > BUCKET_MIN_RUNS) {
      let k = seq >>> this.bucketShift
      const b = this.buckets
      if (k >= b.length) {
        // More buckets than half the runs: widen them (a rebuild, rare as the log doubles).
        if (k > (hi >> 1) + 64) {
          this.bucketShift = Math.max(BUCKET_SHIFT, Math.ceil(Math.log2((starts[hi]! * 4) / (hi + 1))))
          b.length = 0
          k = seq >>> this.bucketShift
        }
        this.#fillBuckets(k)
      }
      if (k < b.length) {
        lo = b[k]!
        if (k + 1 < b.length) hi = b[k + 1]!
      }
    }
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (starts[mid]! <= seq) lo = mid
      else hi = mid - 1
    }
    return lo
  }

  // Sets bucket entries up to k (see buckets), walking the runs from the last entry set; not
  // past the last run's start, since a run appended later could start in such a bucket.
  #fillBuckets(k: number): void {
    const b = this.buckets
    const starts = this.starts
    const n = starts.length
    const lastStart = starts[n - 1]!
    let r = b.length === 0 ? 0 : b[b.length - 1]!
    // (2 ** shift once: in the loop it was a call to Math.pow per bucket.)
    const width = 2 ** this.bucketShift
    for (let j = b.length; j <= k; j++) {
      const first = j * width
      if (first > lastStart) return
      while (r + 1 < n && starts[r + 1]! <= first) r++
      b.push(r)
    }
  }

  /** The run holding `seq` (a delete run as its record's offset), or undefined. */
  runAt(seq: number): Run<C> | undefined {
    const n = this.runs.length
    if (n === 0 || seq < 1) return undefined
    // Runs cover seqs 1.. without gaps: the run holding seq is the last one starting at or before it.
    const i = seq >= this.starts[n - 1]! ? n - 1 : this.runIndexAt(seq)
    return seq < this.starts[i]! + this.rlenAt(i) ? this.runs[i] : undefined
  }
}

// Least seqs per bucket of SourceLog.buckets (2^6), and the log length from which lookups use them.
const BUCKET_SHIFT = 6
const BUCKET_MIN_RUNS = 32

// A delete range packs into one word start * RANGE_LW + lw (see SourceLog.dels) when lw < RANGE_LW
// and start < RANGE_START_MAX, which keeps the word below 2^53; else it takes LONG_RANGE, start, lw.
const RANGE_LW = 2 ** 22
const RANGE_START_MAX = 2 ** 31
const LONG_RANGE = -0.5


/**
 * Appends one range to the delete run whose record is at `off`, the last entry of `a`'s log,
 * extending the run's last range when it continues it. `a.delAgent` is the source of that range.
 */
export function appendDelRange<C>(a: SourceLog<C>, off: number, ag: number, st: number, ln: number, dir: number): void {
  if (ln === 1) dir = 1
  const d = a.dels
  const words = d[off + 1]!
  if (words > 0) {
    // The run's last range, kept unpacked in a.delStart/delLen/delDir.
    const ll = a.delLen
    const x = extendDir(a.delAgent, a.delStart, ll, a.delDir, ag, st, ln, dir)
    if (x !== 0) {
      // Its words: three (LONG_RANGE, start, lw) or one.
      const n = d.length
      const long = words >= 3 && d[n - 3] === LONG_RANGE
      const ls = a.delStart
      const nw = (ll + ln) * 2 + (x === -1 ? 1 : 0)
      if (long) d[n - 1] = nw
      else if (nw < RANGE_LW) d[n - 1] = ls * RANGE_LW + nw
      else {
        d[n - 1] = LONG_RANGE
        d.push(ls)
        d.push(nw)
        d[off + 1] = words + 2
      }
      a.delLen = ll + ln
      a.delDir = x
      return
    }
  }
  let w = words
  if (ag !== (words > 0 ? a.delAgent : a.index)) {
    d.push(-ag - 1)
    w++
  }
  const lw = ln * 2 + (dir === -1 ? 1 : 0)
  if (lw < RANGE_LW && st < RANGE_START_MAX) {
    d.push(st * RANGE_LW + lw)
    w++
  } else {
    d.push(LONG_RANGE)
    d.push(st)
    d.push(lw)
    w += 3
  }
  d[off + 1] = w
  a.delAgent = ag
  a.delStart = st
  a.delLen = ln
  a.delDir = dir
}

/**
 * Whether range (agent, start, len, dir) continues range (la, ls, ll, ld): the direction of the
 * joined range (1 forward, -1 backward, as backspacing produces), or 0 when it does not.
 */
function extendDir(la: number, ls: number, ll: number, ld: number, agent: number, start: number, len: number, dir: number): number {
  if (la !== agent) return 0
  if (len === 1) dir = 1
  if (ld === 1 && dir === 1 && start === ls + ll) return 1
  // Backward: the previous range covers ls, ls - 1, ..., ls - ll + 1; this one continues below.
  if ((ld === -1 || ll === 1) && (dir === -1 || len === 1) && start === ls - ll) return -1
  return 0
}

/** Appends a range to flat quadruples, extending the last one when it continues it (either direction). */
export function pushRange(flat: number[], agent: number, start: number, len: number, dir: number): void {
  const n = flat.length
  if (n > 0) {
    const d = extendDir(flat[n - 4]!, flat[n - 3]!, flat[n - 2]!, flat[n - 1]!, agent, start, len, dir)
    if (d !== 0) {
      flat[n - 2] = flat[n - 2]! + len
      flat[n - 1] = d
      return
    }
  }
  flat.push(agent, start, len, len === 1 ? 1 : dir)
}
