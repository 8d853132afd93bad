// The sequence engine behind List and Text: identifiers (interned sources and their logs of
// runs), integration of inserts with the YjsMod/FugueMax rule, deletes, list moves, and the
// history that packs each source's runs into few updates. See PROTOCOL.md.
import type { ReadonlyVersionVector, ReplicaId, Update } from '@hearsay/core'
import { Block, BlockTree, DELETED, Frag, HIDDEN, chainNext, setChainNext, type Leaf, type RunRef } from './BlockTree.js'
import { DELETE, INSERT, MOVE, PartReader, ReadSeqOp, type DeletePart, type DeleteRange, type InsertPart, type MovePart, type Part, type Ref, type SeqOp } from './ops.js'

/** How the engine handles the content of blocks (strings for Text, arrays for List). */
export interface ContentKind<C> {
  empty(): C
  length(c: C): number
  slice(c: C, start: number, end: number): C
  /** `a` followed by `b`; may reuse `a`. */
  append(a: C, b: C): C
  /** Makes content grown by many appends compact in memory (flattens string ropes). */
  compact(c: C): void
  /** Text: whether a boundary right after item `off` would split a surrogate pair. */
  splitsAfter?(c: C, off: number): boolean
  /** Text: whether a boundary right before item `off` would split a surrogate pair. */
  splitsBefore?(c: C, off: number): boolean
  /** Text: whether content holds no lone surrogate. */
  wellFormed?(c: C): boolean
}

/**
 * An entry of a source's log: consecutive seqs written as one insert or one move (a run object,
 * which is also the run's first block in the tree), or as one delete: a number, the offset of
 * the delete's record in {@link Agent.dels}. A delete run is no object: it holds nothing the
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
  // A double from the start (see Agent.lastTime).
  time = -0.5
}

/** The LWW position register of a list element that has been moved at least once. */
interface ElemState {
  wA: number
  wS: number
  wTime: number
  deleted: boolean
}

/** One interned source: its name, its log of runs and its latest update time. */
export class Agent<C> {
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

/** A visible edit, in the order it happened (for `change` deltas). */
export interface Edit<C> {
  at: number
  insert?: C
  delete?: number
}

interface Validation<C> {
  self: Agent<C>
  /** Kind of every part of the update checked so far (a Uint8Array when `parts` is set). */
  kinds: ArrayLike<number>
  /**
   * Start seqs of the parts checked so far, in an Agent used only for its lookup by seq (see
   * Agent.runIndexAt: references name earlier parts at random, and a binary search of the
   * starts was a tenth of loading a two-source document); null for a one-part update.
   */
  parts: Agent<C> | null
  /** Seqs the update spans. */
  total: number
  seq: number
  covered: number
}

/** Thrown for references a peer's op makes to things that do not exist. */
export class InvalidOp extends Error {}

const RIGHT_END = Number.MAX_SAFE_INTEGER

// The kinds of a one-part update, by kind (no array per update).
const ONE_KIND: ReadonlyArray<ArrayLike<number>> = [Object.freeze([INSERT]), Object.freeze([DELETE]), Object.freeze([MOVE])]



/** The sequence state and every operation on it. Public methods of List/Text check arguments first. */
export class SeqEngine<C> {
  readonly tree = new BlockTree<C>()
  readonly agents: Agent<C>[] = []
  readonly byName = new Map<string, Agent<C>>()
  /** Edits since the last `takeEdits`, when tracking is on. */
  edits: Edit<C>[] | null = null

  constructor(
    readonly kind: ContentKind<C>,
    readonly isList: boolean,
  ) {}

  agent(name: string): Agent<C> {
    let a = this.byName.get(name)
    if (a === undefined) {
      a = new Agent<C>(this.agents.length, name as ReplicaId)
      this.agents.push(a)
      this.byName.set(name, a)
    }
    return a
  }

  get length(): number {
    return this.tree.visible
  }

  // ---- lookup -------------------------------------------------------------------------------

  /** The block holding character (agent, seq); throws InvalidOp when it is not a character. */
  findChar(agent: number, seq: number): Block<C> {
    const a = this.agents[agent]!
    const c = a.cache
    if (c !== null && seq >= c.seq && seq < c.seq + c.len) return c
    let b: Block<C> | null
    let run = c === null ? null : (c.run as unknown as InsRun<C>)
    // Later in the cached block's own run: walk on from it (no binary search).
    if (c !== null && c.next !== null && seq >= c.seq + c.len && seq < run!.seq + run!.rlen) b = c.next
    else {
      const r = a.runAt(seq)
      if (r === undefined || typeof r === 'number') throw new InvalidOp(`no character ${a.name}:${seq}`)
      run = r
      b = run
    }
    for (let steps = 0; b !== null && seq >= b.seq + b.len; steps++) {
      if (steps === FRAG_WALK) {
        b = this.#fragAt(run!, seq)
        break
      }
      b = b.next
    }
    if (b === null || seq < b.seq) throw new InvalidOp(`no character ${a.name}:${seq}`)
    a.cache = b
    return b
  }

  // Runs cut into many fragments (a pasted block edited all over, as in code traces) get an
  // index of their fragments in seq order once a lookup walks far along their chain: finding a
  // character in them is then a binary search. split, #absorb and integrate keep it in step.
  readonly #frags = new Map<InsRun<C>, Block<C>[]>()

  // The fragment of `run` that would hold `seq` (the last one starting at or before it).
  #fragAt(run: InsRun<C>, seq: number): Block<C> | null {
    let idx = this.#frags.get(run)
    if (idx === undefined) {
      idx = []
      for (let b: Block<C> | null = run; b !== null; b = b.next) idx.push(b)
      this.#frags.set(run, idx)
    }
    const i = fragIndex(idx, seq)
    return i < 0 ? null : idx[i]!
  }

  // Fragment `b` now follows `prev` in its run's chain.
  #fragLinked(prev: Block<C>, b: Block<C>): void {
    const idx = this.#frags.get(prev.run as InsRun<C>)
    if (idx !== undefined) idx.splice(fragIndex(idx, prev.seq) + 1, 0, b)
  }

  /** Whether (agent, seq) is an existing character (or list slot). */
  isChar(agent: number, seq: number, allowSlot = true): boolean {
    const run = this.agents[agent]?.runAt(seq)
    return run !== undefined && typeof run !== 'number' && (allowSlot || run.kind === INSERT)
  }

  /** Document position (tombstones included) of a character; -1 for none (start). */
  #rawPos(agent: number, seq: number): number {
    if (agent < 0) return -1
    if (this.#building) this.#endBuild()
    const b = this.findChar(agent, seq)
    return this.tree.totBefore(b) + (seq - b.seq)
  }

  // ---- structure helpers --------------------------------------------------------------------

  /** Splits `b` at `off` (0 < off < len); returns the new right block, placed after `b`. */
  split(b: Block<C>, off: number): Block<C> {
    const right = new Frag<C>(b.seq + off, b.len - off, this.kind.slice(b.content, off, b.len), b.state, b.leaf, b.run)
    b.content = this.kind.slice(b.content, 0, off)
    b.len = off
    right.next = b.next
    b.next = right
    if (this.#frags.size !== 0) this.#fragLinked(b, right)
    // In build mode `right` took b's chain link with b.leaf above.
    if (this.#building) setChainNext(b, right)
    else this.splitAt = this.tree.placeSplit(b, right)
    return right
  }

  /** Index in its leaf of the block the last {@link split} returned, as placed then. */
  splitAt = 0

  /** Sets the state of characters [off, off + n) of `b`, splitting as needed; returns the block covering them. */
  #setState(b: Block<C>, off: number, n: number, state: number): Block<C> {
    if (b.state === state) return b
    if (off > 0) {
      b = this.split(b, off)
    }
    if (n < b.len) this.split(b, n)
    if (this.edits !== null) {
      if (b.state === 0) this.edits.push({ at: this.tree.visBefore(b), delete: b.len })
    }
    this.tree.setState(b, state)
    if (state === DELETED) b.content = this.kind.empty()
    if (this.edits !== null && state === 0) this.edits.push({ at: this.tree.visBefore(b), insert: b.content })
    if (state === DELETED) return this.#mergeDeleted(b)
    return b
  }

  // Deleted neighbours of one run with consecutive seqs become one block again, so a run that
  // was typed and then erased piece by piece costs one block, not one per deletion.
  #mergeDeleted(b: Block<C>): Block<C> {
    const bs = b.leaf.blocks
    let i = bs.indexOf(b)
    const n = bs[i + 1]
    if (n !== undefined && n.run === b.run && n.state === DELETED && b.seq + b.len === n.seq) {
      this.#absorb(b, n)
      bs.splice(i + 1, 1)
    }
    const p = bs[i - 1]
    if (p !== undefined && p.run === b.run && p.state === DELETED && p.seq + p.len === b.seq) {
      this.#absorb(p, b)
      bs.splice(i, 1)
      i--
      return p
    }
    return b
  }

  #absorb(into: Block<C>, gone: Block<C>): void {
    into.len += gone.len
    into.next = gone.next
    if (this.#frags.size !== 0) {
      const idx = this.#frags.get(gone.run as InsRun<C>)
      if (idx !== undefined) idx.splice(fragIndex(idx, gone.seq), 1)
    }
    const a = this.agents[gone.agent]!
    if (a.cache === gone) a.cache = into
    if (this.#growing === gone) this.#growing = null
  }

  /** The block local typing is extending; its content is compacted once typing moves on. */
  #growing: Block<C> | null = null

  #grow(b: Block<C>): void {
    const g = this.#growing
    if (g === b) return
    if (g !== null && g.state !== DELETED) this.kind.compact(g.content)
    this.#growing = b
  }

  #recordInsert(b: Block<C>): void {
    if (this.edits !== null && b.state === 0) this.edits.push({ at: this.tree.visBefore(b), insert: b.content })
  }

  // ---- log -----------------------------------------------------------------------------------

  /**
   * The last run of `a`, grown by `len`, when seqs `seq..` with these origins continue it (the
   * left origin is its last character, the right origin the same); null otherwise.
   */
  #continueRun(a: Agent<C>, seq: number, len: number, olA: number, olS: number, orA: number, orS: number): InsRun<C> | null {
    const last = a.runs[a.runs.length - 1]
    if (
      last !== undefined &&
      typeof last !== 'number' &&
      last.kind === INSERT &&
      last.seq + last.rlen === seq &&
      olA === a.index &&
      olS === seq - 1 &&
      last.orA === orA &&
      last.orS === orS
    ) {
      last.rlen += len
      return last
    }
    return null
  }

  /** Logs a new insert run of `rlen` seqs for `a`; it is also its first fragment (`n` items of `content`). */
  #newRun(a: Agent<C>, seq: number, rlen: number, olA: number, olS: number, orA: number, orS: number, n: number, content: C, state: number): InsRun<C> {
    const run = new InsRun<C>(a.index, seq, rlen, n, content, state, this.tree.first)
    run.olA = olA
    run.olS = olS
    run.orA = orA
    run.orS = orS
    a.addRun(run)
    return run
  }

  /** Appends delete ranges (flat quadruples) as seqs `seq..` to `a`'s log, merging runs and ranges. */
  #logDelete(a: Agent<C>, seq: number, len: number, ranges: number[]): void {
    const run = this.#deleteRun(a, seq, len)
    for (let i = 0; i < ranges.length; i += 4) appendDelRange(a, run, ranges[i]!, ranges[i + 1]!, ranges[i + 2]!, ranges[i + 3]!)
  }

  /** The delete run (its record's offset) that seqs `seq..seq + len - 1` of `a` extend or start. */
  #deleteRun(a: Agent<C>, seq: number, len: number): number {
    const n = a.runs.length
    const last = a.runs[n - 1]
    if (typeof last === 'number' && a.starts[n - 1]! + a.dels[last]! === seq) {
      a.dels[last]! += len
      return last
    }
    return a.addDelRun(seq, len)
  }

  // ---- local edits ----------------------------------------------------------------------------

  /**
   * Inserts `content` at visible `index` as seq `seq..` of agent `me`, and returns the part to
   * commit. The caller checked the arguments.
   */
  localInsert(me: Agent<C>, seq: number, index: number, content: C): InsertPart<C> {
    const n = this.kind.length(content)
    const tree = this.tree
    let left: Block<C> | null = null
    let off = -1
    let orA = -1
    let orS = 0
    if (index > 0) {
      const cur = tree.findVisible(index - 1)
      left = cur.leaf.blocks[cur.i]!
      off = cur.off
      if (this.kind.splitsAfter?.(left.content, off)) throw new RangeError(`index ${index} is inside a surrogate pair`)
      if (off < left.len - 1) {
        orA = left.agent
        orS = left.seq + off + 1
      } else {
        const nb = cur.i + 1 < cur.leaf.blocks.length ? cur.leaf.blocks[cur.i + 1]! : tree.nextBlock(left)
        if (nb !== null) {
          orA = nb.agent
          orS = nb.seq
        }
      }
    } else {
      const fb = tree.firstBlock()
      if (fb !== null) {
        orA = fb.agent
        orS = fb.seq
      }
    }
    const olA = left === null ? -1 : left.agent
    const olS = left === null ? 0 : left.seq + off
    const merged = this.#continueRun(me, seq, n, olA, olS, orA, orS) !== null
    // Merged into my last run: `left` holds my previous character, so it is the run's tail.
    if (merged && left !== null) {
      this.#grow(left)
      left.content = this.kind.append(left.content, content)
      left.len += n
      tree.addLen(left.leaf, n, n)
      if (this.edits !== null) this.edits.push({ at: index, insert: content })
    } else {
      if (left !== null && off < left.len - 1) this.split(left, off + 1)
      const b = this.#newRun(me, seq, n, olA, olS, orA, orS, n, content, 0)
      tree.insertAfter(left, b)
      this.#grow(b)
      if (this.edits !== null) this.edits.push({ at: index, insert: content })
    }
    return {
      kind: INSERT,
      len: n,
      left: olA < 0 ? null : this.#ref(me.index, seq, olA, olS),
      right: orA < 0 ? null : this.#ref(me.index, seq, orA, orS),
      segs: [content],
    }
  }

  #ref(self: number, partSeq: number, agent: number, seq: number): Ref {
    return agent !== self ? { src: this.agents[agent]!.name, n: seq } : partSeq - seq
  }

  /** The ids of `count` visible characters from `index`, as flat ranges (no change made). */
  visibleRanges(index: number, count: number): number[] {
    const flat: number[] = []
    const cur = this.tree.findVisible(index)
    let b: Block<C> | null = cur.leaf.blocks[cur.i]!
    let off = cur.off
    if (this.kind.splitsBefore?.(b.content, off)) throw new RangeError(`index ${index} is inside a surrogate pair`)
    let left = count
    while (left > 0 && b !== null) {
      if (b.state === 0) {
        const take = Math.min(b.len - off, left)
        pushRange(flat, b.agent, b.seq + off, take, 1)
        // The delete that follows looks these ids up again: let the lookup cache answer.
        this.agents[b.agent]!.cache = b
        left -= take
        if (left === 0 && this.kind.splitsAfter?.(b.content, off + take - 1)) throw new RangeError(`index ${index + count} is inside a surrogate pair`)
      }
      off = 0
      b = this.tree.nextBlock(b)
    }
    return flat
  }

  /** Deletes characters by id ranges as seqs `seq..` of `me`; returns the part. */
  localDelete(me: Agent<C>, seq: number, flat: number[]): DeletePart {
    let len = 0
    const ranges: DeleteRange[] = []
    for (let i = 0; i < flat.length; i += 4) {
      const n = flat[i + 2]!
      const dir = flat[i + 3] as 1 | -1
      this.#deleteRange(flat[i]!, dir === 1 ? flat[i + 1]! : flat[i + 1]! - n + 1, n)
      ranges.push({ start: this.#ref(me.index, seq + len, flat[i]!, flat[i + 1]!), len: n, dir })
      len += n
    }
    this.#logDelete(me, seq, len, flat)
    return { kind: DELETE, len, ranges }
  }

  // ---- applying parts -------------------------------------------------------------------------

  /** Resolves a ref of a part at `partSeq` written by `self` to (agent, seq); throws InvalidOp for unknown sources. */
  // Out-parameters of #resolve (no array per reference on the load path).
  #ra = 0
  #rs = 0

  /** Resolves a ref of a part at `partSeq` written by `self` into #ra/#rs; throws InvalidOp for unknown sources. */
  #resolve(r: Ref, self: Agent<C>, partSeq: number): void {
    if (typeof r === 'number') {
      const seq = partSeq - r
      if (seq < 1 || seq >= partSeq) throw new InvalidOp('reference to a later or missing seq of its own source')
      this.#ra = self.index
      this.#rs = seq
      return
    }
    if (r.src === '' || r.src === self.name) {
      const seq = r.src === '' ? partSeq - r.n : r.n
      if (seq < 1 || seq >= partSeq) throw new InvalidOp('reference to a later or missing seq of its own source')
      this.#ra = self.index
      this.#rs = seq
      return
    }
    const a = this.byName.get(r.src)
    if (a === undefined) throw new InvalidOp(`reference to unknown source ${r.src}`)
    this.#ra = a.index
    this.#rs = r.n
  }

  /**
   * Checks that an op from `source` spanning seqs `seq..` only references existing characters,
   * without changing anything. Parts at or below `covered` are skipped.
   */
  validate(op: SeqOp<C>, source: string, seq: number, covered: number, len: number): void {
    // An op read from bytes knows its length and whether it moves anything without building parts.
    const read = op instanceof ReadSeqOp && !op.built ? op : null
    let total = 0
    let moves = false
    if (read !== null) {
      total = read.length
      moves = read.hasMove
    } else {
      for (const p of op.parts) {
        total += p.len
        if (p.kind === MOVE) moves = true
      }
    }
    if (total !== len) throw new InvalidOp(`parts cover ${total} seqs but the update spans ${len}`)
    // Into an empty sequence (loading a document), the references are checked while the op is
    // applied instead of in a separate pass: every lookup apply makes throws InvalidOp for a
    // missing character, and on failure apply empties the sequence again, so nothing is half
    // applied. The content of inserts is still checked here, before anything changes. Moves
    // have checks apply does not make, so an op with moves takes the full pass.
    if (covered === 0 && !moves && this.tree.total === 0) {
      if (read !== null) for (const c of read.contents) this.#checkValue(c)
      else for (const p of op.parts) if (p.kind === INSERT) this.#checkContent(p)
      this.#deferred = op
      return
    }
    this.#deferred = null
    const self = this.byName.get(source) ?? new Agent<C>(-2, source as ReplicaId)
    if (read !== null) {
      this.#validateRead(read, self, seq, covered)
      return
    }
    const parts = op.parts
    const v = this.#validation(self, parts.length, parts[0]!.kind, total, seq, covered)
    let ps = seq
    for (let pi = 0; pi < parts.length; pi++) {
      const p = parts[pi]!
      if (v.parts !== null) {
        ;(v.kinds as Uint8Array)[pi] = p.kind
        v.parts.starts.push(ps)
      }
      const end = ps + p.len - 1
      if (end > covered) {
        if (p.kind === INSERT) {
          this.#checkContent(p)
          this.#checkInsert(v, ps, p.left, p.right)
        } else if (p.kind === DELETE) {
          let k = 0
          for (const r of p.ranges) {
            this.#checkRange(v, ps + k, r.start, r.len, r.dir)
            k += r.len
          }
        } else this.#checkMove(v, ps, p.left, p.right, p.elem)
      }
      ps = end + 1
    }
  }

  // validate for an op read from bytes: the same checks, reading its parts in place.
  #validateRead(op: ReadSeqOp<C>, self: Agent<C>, seq: number, covered: number): void {
    for (const c of op.contents) this.#checkValue(c)
    const n = op.count
    const v = this.#validation(self, n, op.firstKind, op.length, seq, covered)
    const r = new PartReader(op.bytes, op.table, true)
    let ps = seq
    for (let pi = 0; pi < n; pi++) {
      r.next()
      if (v.parts !== null) {
        ;(v.kinds as Uint8Array)[pi] = r.kind
        v.parts.starts.push(ps)
      }
      const end = ps + r.len - 1
      if (end > covered) {
        if (r.kind === INSERT) this.#checkInsert(v, ps, r.left, r.right)
        else if (r.kind === DELETE) {
          for (let j = 0, k = 0; j < r.nranges; j++) {
            this.#checkRange(v, ps + k, r.starts[j]!, r.lens[j]!, r.dirs[j]!)
            k += r.lens[j]!
          }
        } else this.#checkMove(v, ps, r.left, r.right, r.elem)
      }
      ps = end + 1
    }
  }

  // The state of validating an update of `n` parts; the parts' kinds and start seqs are filled in
  // as the parts are checked (a reference only ever names an earlier part), so an update read
  // from bytes is read once here, not once more to list them.
  #validation(self: Agent<C>, n: number, firstKind: number, total: number, seq: number, covered: number): Validation<C> {
    if (n === 1) return { self, kinds: ONE_KIND[firstKind]!, parts: null, total, seq, covered }
    return { self, kinds: new Uint8Array(n), parts: new Agent<C>(-1, self.name), total, seq, covered }
  }

  // Checks the references of an insert part at seq `ps`.
  #checkInsert(v: Validation<C>, ps: number, left: Ref | null, right: Ref | null): void {
    this.#checkRef(v, left, ps, true)
    // The left reference as resolved by the check (for the surrogate test below).
    const la = this.#ra
    const ls = this.#rs
    this.#checkRef(v, right, ps, true)
    // Never between the halves of a surrogate pair the replica holds (a deleted pair has no content left to split).
    if (!this.isList && left !== null && ps > v.covered && !(la === v.self.index && ls > v.covered)) {
      const b = this.findChar(la, ls)
      if (b.state !== DELETED && this.kind.splitsAfter!(b.content, ls - b.seq)) throw new InvalidOp('insert inside a surrogate pair')
    }
  }

  // Checks one range of a delete part, the range's first seq being `at`.
  #checkRange(v: Validation<C>, at: number, start: Ref, len: number, dir: 1 | -1): void {
    this.#resolve(start, v.self, at)
    const a = this.#ra
    const s = this.#rs
    const lo = dir === 1 ? s : s - len + 1
    const hi = dir === 1 ? s + len - 1 : s
    if (lo < 1) throw new InvalidOp('delete range below seq 1')
    if (a === v.self.index && hi >= at) throw new InvalidOp('delete of a later seq of its own source')
    // Step a run (or a part of this update) at a time: each is all characters or none.
    for (let x = lo; x <= hi; ) {
      const e = this.#charRunEnd(v, a, x)
      if (e < 0) throw new InvalidOp(`delete of missing character ${this.agents[a]?.name ?? v.self.name}:${x}`)
      x = e < hi ? e + 1 : hi + 1
    }
  }

  // Checks a move part.
  #checkMove(v: Validation<C>, ps: number, left: Ref | null, right: Ref | null, elem: Ref): void {
    if (!this.isList) throw new InvalidOp('move in a text')
    this.#checkRef(v, left, ps, true)
    this.#checkRef(v, right, ps, true)
    this.#checkRef(v, elem, ps, false)
  }

  // The type and well-formedness (Text) of one content segment (a ReadSeqOp's codec already
  // matched the segments' lengths to their counts).
  #checkValue(c: C): void {
    if (this.isList) {
      if (!Array.isArray(c)) throw new InvalidOp('list content is not an array')
    } else {
      if (typeof c !== 'string') throw new InvalidOp('text content is not a string')
      if (!this.kind.wellFormed!(c)) throw new InvalidOp('text content holds a lone surrogate')
    }
  }

  // One pass over an insert's segments: their type, well-formedness (Text) and total length.
  #checkContent(p: InsertPart<C>): void {
    const segs = p.segs
    const isList = this.isList
    let n = 0
    for (let j = 0; j < segs.length; j++) {
      const sg = segs[j]
      if (typeof sg === 'number') n += sg
      else if (isList) {
        if (!Array.isArray(sg)) throw new InvalidOp('list content is not an array')
        n += sg.length
      } else {
        if (typeof sg !== 'string') throw new InvalidOp('text content is not a string')
        if (!this.kind.wellFormed!(sg as C)) throw new InvalidOp('text content holds a lone surrogate')
        n += sg.length
      }
    }
    if (n !== p.len || p.len < 1) throw new InvalidOp(`insert of ${p.len} carries ${n} items`)
  }

  // The op validate left to be checked while it is applied (see validate), and whether apply
  // is checking now.
  #deferred: SeqOp<C> | null = null
  #checking = false

  // From a checking apply (a document loaded into an empty sequence) to the end of its batch
  // (see endBatch): per source, a bitmap of the seqs that arrived as deleted characters (deleted
  // segments of inserts). A loaded state carries every deleted character that way and also every
  // delete that erased it, so most deletes of a load name characters already gone: the bitmap
  // answers them without looking each range's characters up. A bit is set only for a character
  // placed deleted, and a deleted character stays deleted, so a range whose bits are all set is a
  // range of existing, deleted characters, and applying it would change nothing.
  #gone: Array<Uint32Array | undefined> | null = null

  // Index of the part of the update being validated that holds seq `s` (v.seq <= s, and a
  // reference to the current part or a later one is refused by the caller).
  #partIndex(v: Validation<C>, s: number): number {
    return v.parts === null ? 0 : v.parts.runIndexAt(s)
  }

  // Whether (agent, s) is a character: in the replica, or in an earlier part of the update being validated.
  #exists(v: Validation<C>, agent: number, s: number, allowSlot: boolean): boolean {
    if (agent === v.self.index && s > v.covered) {
      if (s < v.seq) return false
      const k = v.kinds[this.#partIndex(v, s)]!
      return k === INSERT || (allowSlot && k === MOVE)
    }
    return agent >= 0 && this.isChar(agent, s, allowSlot)
  }

  // Last seq of the run (or of this update's part) holding character or list slot (agent, s);
  // -1 when (agent, s) is neither (one lookup where #exists then a run end would take two).
  #charRunEnd(v: Validation<C>, agent: number, s: number): number {
    if (agent === v.self.index && s > v.covered) {
      if (s < v.seq) return -1
      const i = this.#partIndex(v, s)
      if (v.kinds[i] === DELETE) return -1
      const starts = v.parts?.starts
      return starts === undefined || i + 1 >= starts.length ? v.seq + v.total - 1 : starts[i + 1]! - 1
    }
    const run = agent >= 0 ? this.agents[agent]?.runAt(s) : undefined
    if (run === undefined || typeof run === 'number') return -1
    return run.seq + run.rlen - 1
  }

  #checkRef(v: Validation<C>, r: Ref | null, partSeq: number, allowSlot: boolean): void {
    if (r === null) return
    this.#resolve(r, v.self, partSeq)
    const a = this.#ra
    const s = this.#rs
    if (!this.#exists(v, a, s, allowSlot)) throw new InvalidOp(`reference to missing character ${(typeof r === 'number' ? '' : r.src) || v.self.name}:${s}`)
  }

  /** Applies a validated op from `source` spanning seqs `seq..`, skipping what `covered` already holds. */
  apply(op: SeqOp<C>, source: string, seq: number, covered: number): void {
    if (op !== this.#deferred) {
      if (op instanceof ReadSeqOp && !op.built) this.#applyRead(op, source, seq, covered)
      else this.#applyParts(op, source, seq, covered)
      return
    }
    this.#deferred = null
    const edits = this.edits
    const had = edits === null ? 0 : edits.length
    this.#checking = true
    if (!this.isList) this.#gone ??= []
    // Change events need document positions as blocks are placed: build the tree as it goes then.
    this.#building = edits === null
    try {
      if (op instanceof ReadSeqOp && !op.built) this.#applyRead(op, source, seq, covered)
      else this.#applyParts(op, source, seq, covered)
      if (this.#building) this.#endBuild()
    } catch (err) {
      // The sequence was empty: empty it again, whatever part failed.
      this.#clear()
      if (edits !== null) edits.length = had
      throw err instanceof InvalidOp ? err : new InvalidOp(`malformed op: ${(err as Error)?.message ?? err}`)
    } finally {
      this.#checking = false
    }
  }

  // Build mode: while a checking apply places an op into an empty sequence (a load) and nobody
  // wants change events, placed blocks are chained in document order through
  // chainNext from #head instead of inserted into the tree, and the tree is built from the
  // chain in one go at the end (BlockTree.build): a load then does no leaf shifting, leaf
  // splitting or sum updates per block. The few steps that need document positions (a
  // concurrent insert's scan comparing right origins, a delete that changes a character) build
  // the tree first and go on without the list.
  #building = false
  #head: Block<C> | null = null

  #endBuild(): void {
    this.#building = false
    const head = this.#head
    this.#head = null
    this.tree.build(head)
  }

  // Back to an empty sequence; interned sources stay (an empty log encodes nothing).
  #clear(): void {
    this.#building = false
    this.#head = null
    this.tree.clear()
    this.#frags.clear()
    for (const a of this.agents) {
      a.runs.length = 0
      a.starts.length = 0
      a.dels.length = 0
      a.buckets.length = 0
      a.bucketShift = BUCKET_SHIFT
      a.cache = null
      a.moved = null
    }
    this.#growing = null
    this.#gone = null
  }

  /** The end of a batch of applied updates: drops what only a load uses. */
  endBatch(): void {
    this.#gone = null
  }

  // Scratch list of the blocks an integrate scan passed.
  readonly #passed: Block<C>[] = []

  // Scratch segment lists for #applyRead by length (integrate does not keep them; reusing one
  // array of the right length avoids resizing it for every part).
  readonly #segLists: Array<Array<C | number>> = []

  #segList(n: number): Array<C | number> {
    let l = this.#segLists[n]
    if (l === undefined) {
      l = new Array<C | number>(n).fill(0)
      if (n < 64) this.#segLists[n] = l
    }
    return l
  }

  // Applies an op read from bytes straight from them, part by part, without building part
  // objects, skipping what `covered` already holds.
  #applyRead(op: ReadSeqOp<C>, source: string, seq: number, covered: number): void {
    const self = this.agent(source)
    const r = new PartReader(op.bytes, op.table, true)
    const contents = op.contents
    let ci = 0
    let ps = seq
    for (let i = 0; i < op.count; i++) {
      r.next()
      const end = ps + r.len - 1
      const skip = ps <= covered ? covered - ps + 1 : 0
      if (r.kind === INSERT) {
        const ns = r.nsegs
        const segs = this.#segList(ns)
        for (let j = 0; j < ns; j++) {
          const w = r.segs[j]!
          segs[j] = w % 2 === 1 ? (w - 1) / 2 : contents[ci++]!
        }
        if (end > covered) this.#applyInsert(self, ps, r.len, r.left, r.right, segs, skip)
      } else if (end > covered) {
        if (r.kind === DELETE) {
          const run = this.#deleteRun(self, ps + skip, r.len - skip)
          const gone = skip === 0 ? this.#gone : null
          for (let j = 0, k = 0; j < r.nranges; j++) {
            const st = r.starts[j]!
            const n = r.lens[j]!
            const dir = r.dirs[j]!
            // A load's common case inline: a range of this source's own characters, all placed
            // deleted (see #gone); #deleteOne does the same and everything else.
            if (gone !== null && typeof st === 'number' && st >= 1 && st <= ps + k - 1) {
              const start = ps + k - st
              const lo = dir === 1 ? start : start - n + 1
              if (allGone(gone[self.index], lo, lo + n)) {
                appendDelRange(self as Agent<unknown>, run, self.index, start, n, dir)
                k += n
                continue
              }
            }
            this.#deleteOne(self, run, ps, k, st, n, dir, skip)
            k += n
          }
        } else this.#applyMove(self, ps, { kind: MOVE, len: 1, left: r.left, right: r.right, elem: r.elem, time: r.time })
      }
      ps = end + 1
    }
  }

  #applyParts(op: SeqOp<C>, source: string, seq: number, covered: number): void {
    const self = this.agent(source)
    let ps = seq
    for (const p of op.parts) {
      const end = ps + p.len - 1
      if (end > covered) {
        const skip = ps <= covered ? covered - ps + 1 : 0
        if (p.kind === INSERT) this.#applyInsert(self, ps, p.len, p.left, p.right, p.segs, skip)
        else if (p.kind === DELETE) this.#applyDelete(self, ps, p, skip)
        else this.#applyMove(self, ps, p)
      }
      ps = end + 1
    }
  }

  // Applies an insert part of `len` items at seq `ps` (its fields passed one by one), skipping
  // the first `skip` items the replica already has.
  #applyInsert(self: Agent<C>, ps: number, len: number, left: Ref | null, right: Ref | null, partSegs: ReadonlyArray<C | number>, skip: number): void {
    let olA = -1
    let olS = 0
    if (skip > 0) {
      olA = self.index
      olS = ps + skip - 1
    } else if (left !== null) {
      this.#resolve(left, self, ps)
      olA = this.#ra
      olS = this.#rs
    }
    let orA = -1
    let orS = 0
    if (right !== null) {
      this.#resolve(right, self, ps)
      orA = this.#ra
      orS = this.#rs
    }
    const seq = ps + skip
    if (skip === 0) {
      this.integrate(self, ps, len, olA, olS, orA, orS, partSegs, null)
      return
    }
    // Content segments past the skipped prefix.
    const segs: Array<C | number> = []
    let drop = skip
    for (const s of partSegs) {
      const n = typeof s === 'number' ? s : this.kind.length(s)
      if (drop >= n) {
        drop -= n
        continue
      }
      if (drop > 0) segs.push(typeof s === 'number' ? s - drop : this.kind.slice(s, drop, n))
      else segs.push(s)
      drop = 0
    }
    this.integrate(self, seq, len - skip, olA, olS, orA, orS, segs, null)
  }

  /**
   * Places an insert (or a move slot when `move` is set) with the YjsMod/FugueMax rule and logs
   * it. Concurrent inserts at one place are ordered by their origins, so runs never interleave.
   */
  integrate(self: Agent<C>, seq: number, len: number, olA: number, olS: number, orA: number, orS: number, segs: ReadonlyArray<C | number>, move: MovePart | null): Block<C> {
    const tree = this.tree
    let leftBlock: Block<C> | null = null
    let cb: Block<C> | null
    let coff = 0
    // Index of cb in its leaf (-1: not known yet, found on the first step of the scan).
    let ci = -1
    // In build mode: the block before cb (when coff is 0), and then before the destination.
    let prev: Block<C> | null = null
    let dprev: Block<C> | null = null
    if (olA >= 0) {
      leftBlock = this.findChar(olA, olS)
      const off = olS - leftBlock.seq
      if (off < leftBlock.len - 1) {
        cb = leftBlock
        coff = off + 1
      } else if (this.#building) {
        prev = leftBlock
        cb = chainNext(leftBlock)
      } else {
        const bs = leftBlock.leaf.blocks
        const li = bs.indexOf(leftBlock)
        if (li + 1 < bs.length) {
          ci = li + 1
          cb = bs[ci]!
        } else {
          cb = tree.nextBlock(leftBlock)
          ci = 0
        }
      }
    } else if (this.#building) cb = this.#head
    else {
      cb = tree.firstBlock()
      ci = 0
    }
    // dest: where the new run goes (before char coff of block cb; cb null = end); dci: its index.
    let db = cb
    let doff = coff
    let dci = ci
    const cb0 = cb
    const coff0 = coff
    let scanning = false
    let rightPos = Number.NaN
    // Blocks the scan has passed: every character in them lies after `left` (and before the
    // current one). A character's left origin is after ours exactly when it is in one of them
    // (or later in the left block), so comparing left origins needs no document positions.
    const passed = this.#passed
    let seen: Set<Block<C>> | null = null
    let metRight = false
    for (;;) {
      if (!scanning) {
        db = cb
        doff = coff
        dci = ci
        dprev = prev
      }
      if (cb === null) break
      if (cb.agent === orA && cb.seq + coff === orS) {
        metRight = true
        break
      }
      // The character at (cb, coff): its origins.
      const run = cb.run as InsRun<C>
      const cs = cb.seq + coff
      let oA: number
      let oS: number
      if (cs === run.seq) {
        oA = run.olA
        oS = run.olS
      } else {
        oA = cb.agent
        oS = cs - 1
      }
      let cmpL: number
      if (oA === olA && (oA < 0 || oS === olS)) cmpL = 0
      else if (oA < 0) cmpL = -1
      // Our left is the document start: every other left origin is after it.
      else if (olA < 0) cmpL = 1
      else {
        const ob = this.findChar(oA, oS)
        if (ob === leftBlock) cmpL = oS - olS
        else cmpL = (seen !== null ? seen.has(ob) : passed.indexOf(ob) >= 0) ? 1 : -1
      }
      if (cmpL < 0) break
      if (cmpL === 0) {
        let cmpR: number
        if (run.orA === orA && (orA < 0 || run.orS === orS)) cmpR = 0
        else {
          if (Number.isNaN(rightPos)) rightPos = orA < 0 ? RIGHT_END : this.#rawPos(orA, orS)
          cmpR = (run.orA < 0 ? RIGHT_END : this.#rawPos(run.orA, run.orS)) - rightPos
        }
        if (cmpR < 0) scanning = true
        else if (cmpR === 0) {
          if (self.name < this.agents[cb.agent]!.name) break
          scanning = false
        } else scanning = false
      }
      // The rest of this block has later left origins: skip it, stopping at the right origin.
      if (cb.agent === orA && orS > cs && orS < cb.seq + cb.len) coff = orS - cb.seq
      else {
        // Short scans (most) search the list; long ones switch to a set.
        if (seen !== null) seen.add(cb)
        else if (olA >= 0 && passed.push(cb) > 32) seen = new Set(passed)
        if (this.#building) {
          prev = cb
          cb = chainNext(cb)
          coff = 0
          continue
        }
        const bs = cb.leaf.blocks
        if (ci < 0) ci = bs.indexOf(cb)
        if (ci + 1 < bs.length) cb = bs[++ci]!
        else {
          let l = cb.leaf.next
          while (l !== null && l.blocks.length === 0) l = l.next
          cb = l === null ? null : l.blocks[0]!
          ci = 0
        }
        coff = 0
      }
    }
    if (passed.length !== 0) passed.length = 0
    // Checking while applying (see validate): the left origin was looked up above; the right
    // one is known to exist when the scan met it, and is looked up otherwise.
    if (this.#checking && orA >= 0 && !metRight && !this.isChar(orA, orS)) throw new InvalidOp(`reference to missing character ${this.agents[orA]!.name}:${orS}`)
    const immediate = db === cb0 && doff === coff0
    // The run this continues (grown by len), or null: the first segment then makes a new one.
    let run: InsRun<C> | null = move === null ? this.#continueRun(self, seq, len, olA, olS, orA, orS) : null
    const merged = run !== null
    // Place the segments, first extending the left block when it is the run's tail.
    let after: Block<C> | null = null
    let before: Block<C> | null = null
    // Index of `after` (or else `before`) in its leaf when known, else -1.
    let at = dci
    if (db !== null && doff > 0) {
      before = this.split(db, doff)
      at = this.splitAt
      dprev = db
    } else before = db
    const building = this.#building
    let s = seq
    let firstBlock: Block<C> | null = null
    // When merged, the left origin is my previous character: the tail of the run's fragments.
    let tail: Block<C> | null = merged ? leftBlock : null
    for (let i = 0; i < segs.length; i++) {
      const sg = segs[i]!
      const deleted = typeof sg === 'number'
      const n = deleted ? sg : this.kind.length(sg)
      const state = move !== null ? HIDDEN : deleted ? DELETED : 0
      const content = deleted ? this.kind.empty() : (sg as C)
      if (deleted && this.#gone !== null) markGone(this.#gone, self.index, s, n)
      if (i === 0 && merged && immediate && leftBlock !== null && leftBlock.state === state && state !== DELETED) {
        this.#grow(leftBlock)
        leftBlock.content = this.kind.append(leftBlock.content, content)
        tail = leftBlock
        leftBlock.len += n
        if (!building) tree.addLen(leftBlock.leaf, state === 0 ? n : 0, n)
        if (this.edits !== null && state === 0) this.edits.push({ at: tree.visBefore(leftBlock) + leftBlock.len - n, insert: content })
        after = leftBlock
        at = -1
      } else {
        let b: Block<C>
        if (run === null) b = run = move === null ? this.#newRun(self, s, len, olA, olS, orA, orS, n, content, state) : this.#moveRun(self, s, olA, olS, orA, orS, move, content)
        else {
          b = new Frag<C>(s, n, content, state, tree.first, run)
          tail!.next = b
          if (this.#frags.size !== 0) this.#fragLinked(tail!, b)
        }
        tail = b
        if (building) {
          const p = after ?? dprev
          if (p === null) {
            setChainNext(b, this.#head)
            this.#head = b
          } else {
            setChainNext(b, chainNext(p))
            setChainNext(p, b)
          }
        } else at = after !== null ? tree.insertAfter(after, b, at) : tree.insertBefore(before, b, at)
        this.#recordInsert(b)
        after = b
        firstBlock ??= b
      }
      s += n
    }
    return firstBlock ?? after!
  }

  #moveRun(self: Agent<C>, seq: number, olA: number, olS: number, orA: number, orS: number, move: MovePart, content: C): MoveRun<C> {
    const run = new MoveRun<C>(self.index, seq, 1, 1, content, HIDDEN, this.tree.first)
    run.olA = olA
    run.olS = olS
    run.orA = orA
    run.orS = orS
    run.time = move.time
    this.#resolve(move.elem, self, seq)
    run.elemA = this.#ra
    run.elemS = this.#rs
    self.addRun(run)
    return run
  }

  #applyDelete(self: Agent<C>, ps: number, p: DeletePart, skip: number): void {
    const run = this.#deleteRun(self, ps + skip, p.len - skip)
    let k = 0
    for (const r of p.ranges) {
      this.#deleteOne(self, run, ps, k, r.start, r.len, r.dir, skip)
      k += r.len
    }
  }

  // Applies one range of a delete part at seq `ps` (`k` seqs into the part) and logs it in
  // `run`, skipping what lies in the part's first `skip` seqs.
  #deleteOne(self: Agent<C>, run: number, ps: number, k: number, startRef: Ref, rlen: number, dir: 1 | -1, skip: number): void {
    this.#resolve(startRef, self, ps + k)
    let len = rlen
    let start = this.#rs
    if (skip > k) {
      const d = Math.min(skip - k, len)
      start += d * dir
      len -= d
    }
    if (len <= 0) return
    const a = this.#ra
    this.#deleteRange(a, dir === 1 ? start : start - len + 1, len)
    appendDelRange(self as Agent<unknown>, run, a, start, len, dir)
  }

  /** Deletes characters (agent, lo .. lo + n - 1). */
  #deleteRange(agent: number, lo: number, n: number): void {
    const hi = lo + n - 1
    if (this.#gone !== null && allGone(this.#gone[agent], lo, hi + 1)) return
    if (this.#building) this.#endBuild()
    let s = lo
    let b: Block<C> | null = this.findChar(agent, lo)
    for (;;) {
      const off = s - b.seq
      const take = Math.min(b.len - off, hi - s + 1)
      s += take
      if (this.isList) {
        // Moves and merges may have replaced `b`: look the rest up afresh.
        this.#deleteListChars(b, off, take)
        if (s > hi) return
        b = this.findChar(agent, s)
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
        if (o > 0 && this.kind.splitsBefore!(b.content, o)) {
          o--
          n++
        }
        if (o + n < b.len && this.kind.splitsAfter!(b.content, o + n - 1)) n++
        b = this.#setState(b, o, n, DELETED)
      }
      if (s > hi) return
      // The next seqs are in this block (merged) or in the next fragments of its run, which
      // are chained in seq order: walk on instead of looking each one up again.
      while (b !== null && s >= b.seq + b.len) b = b.next
      if (b === null || s < b.seq) b = this.findChar(agent, s)
    }
  }

  // ---- list elements and moves ----------------------------------------------------------------

  #elemState(agent: number, seq: number): ElemState | undefined {
    return this.agents[agent]!.moved?.get(seq)
  }

  #deleteListChars(b: Block<C>, off: number, n: number): void {
    const run = b.run as MoveRun<C>
    if (run.kind === MOVE) {
      this.#deleteElement(run.elemA, run.elemS)
      return
    }
    // Original slots: elements that never moved are deleted in one go.
    let i = 0
    while (i < n) {
      const seq = b.seq + off + i
      const es = this.#elemState(b.agent, seq)
      if (es === undefined) {
        // Extend over the following never-moved elements.
        let j = i + 1
        while (j < n && this.#elemState(b.agent, b.seq + off + j) === undefined) j++
        const cur = this.findChar(b.agent, seq)
        if (cur.state !== DELETED) this.#setState(cur, seq - cur.seq, j - i, DELETED)
        i = j
      } else {
        this.#deleteElement(b.agent, seq)
        i++
      }
    }
  }

  #deleteElement(agent: number, seq: number): void {
    const a = this.agents[agent]!
    const es = a.moved?.get(seq)
    if (es === undefined) {
      const b = this.findChar(agent, seq)
      if (b.state !== DELETED) this.#setState(b, seq - b.seq, 1, DELETED)
      return
    }
    if (es.deleted) return
    es.deleted = true
    const w = this.findChar(es.wA, es.wS)
    this.#setState(w, es.wS - w.seq, 1, DELETED)
    const o = this.findChar(agent, seq)
    if (o.state !== DELETED) this.#setState(o, seq - o.seq, 1, DELETED)
  }

  #applyMove(self: Agent<C>, ps: number, p: MovePart): void {
    let olA = -1
    let olS = 0
    let orA = -1
    let orS = 0
    if (p.left !== null) {
      this.#resolve(p.left, self, ps)
      olA = this.#ra
      olS = this.#rs
    }
    if (p.right !== null) {
      this.#resolve(p.right, self, ps)
      orA = this.#ra
      orS = this.#rs
    }
    this.#resolve(p.elem, self, ps)
    const ea = this.#ra
    const es = this.#rs
    const orig = this.findChar(ea, es)
    // A slot of a deleted element never shows, so it carries no value (a count of 1 instead).
    const value: C | number = orig.state === DELETED ? 1 : this.kind.slice(orig.content, es - orig.seq, es - orig.seq + 1)
    const slot = this.integrate(self, ps, 1, olA, olS, orA, orS, [value], p)
    this.#registerMove(ea, es, self, ps, p.time, slot)
  }

  /** Applies the LWW rule of element (ea, es) to a new slot (self, seq) written at `time`. */
  #registerMove(ea: number, es: number, self: Agent<C>, seq: number, time: number, slot: Block<C>): void {
    const a = this.agents[ea]!
    a.moved ??= new Map()
    let st = a.moved.get(es)
    if (st === undefined) {
      const orig = this.findChar(ea, es)
      st = { wA: ea, wS: es, wTime: -1, deleted: orig.state === DELETED }
      a.moved.set(es, st)
    }
    const wins =
      time > st.wTime ||
      (time === st.wTime && (self.name > this.agents[st.wA]!.name || (self.index === st.wA && seq > st.wS)))
    if (!wins) return
    if (!st.deleted) {
      const old = this.findChar(st.wA, st.wS)
      this.#setState(old, st.wS - old.seq, 1, HIDDEN)
    }
    st.wA = self.index
    st.wS = seq
    st.wTime = time
    if (!st.deleted) this.#setState(slot, seq - slot.seq, 1, 0)
  }

  /** The element (agent, seq) shown by the visible slot at `index`. */
  elementAt(index: number): [number, number] {
    const cur = this.tree.findVisible(index)
    const b = cur.leaf.blocks[cur.i]!
    const run = b.run as MoveRun<C>
    return run.kind === MOVE ? [run.elemA, run.elemS] : [b.agent, b.seq + cur.off]
  }

  /** Local move of the element at visible `from` so it ends at visible `to`; returns the part. */
  localMove(me: Agent<C>, seq: number, time: number, from: number, to: number): MovePart {
    const [ea, es] = this.elementAt(from)
    // Position among the other elements: with the element removed, `to` counts past it.
    const target = to > from ? to + 1 : to
    let olA = -1
    let olS = 0
    let orA = -1
    let orS = 0
    if (target > 0) {
      const cur = this.tree.findVisible(target - 1)
      const b = cur.leaf.blocks[cur.i]!
      olA = b.agent
      olS = b.seq + cur.off
      const nb = cur.off < b.len - 1 ? b : this.tree.nextBlock(b)
      if (nb !== null) {
        orA = nb.agent
        orS = nb === b ? olS + 1 : nb.seq
      }
    } else {
      const fb = this.tree.firstBlock()
      if (fb !== null) {
        orA = fb.agent
        orS = fb.seq
      }
    }
    const part: MovePart = {
      kind: MOVE,
      len: 1,
      left: olA < 0 ? null : this.#ref(me.index, seq, olA, olS),
      right: orA < 0 ? null : this.#ref(me.index, seq, orA, orS),
      elem: this.#ref(me.index, seq, ea, es),
      time,
    }
    this.#applyMove(me, seq, part)
    return part
  }

  /** Visible index of element (agent, seq), or -1 when deleted or unknown. */
  indexOfElement(agent: number, seq: number): number {
    if (!this.isChar(agent, seq, !this.isList)) return -1
    const st = this.isList ? this.#elemState(agent, seq) : undefined
    const [wa, ws] = st === undefined ? [agent, seq] : [st.wA, st.wS]
    if (st?.deleted) return -1
    const b = this.findChar(wa, ws)
    if (b.state !== 0) return -1
    return this.tree.visBefore(b) + (ws - b.seq)
  }

  // ---- history --------------------------------------------------------------------------------

  /** Every source's runs past `since`, packed into as few updates as causality allows. */
  *history(since: ReadonlyVersionVector): Iterable<Update<SeqOp<C>>> {
    for (const a of this.agents) {
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
        const ext = this.#externalRefs(a, run, off)
        if (parts.length > 0 && ext !== null) {
          let ok = true
          for (const [ag, s] of ext) if ((allowed?.get(ag) ?? 0) < s) ok = false
          if (!ok) yield flush()!
        }
        if (parts.length === 0) allowed = ext
        parts.push(this.#partOf(a, run, rs, rl, off))
        seq = rs + rl
      }
      const u = flush()
      if (u !== undefined) yield u
    }
  }

  // The highest seq per other source that a run (from offset `off`) references.
  #externalRefs(a: Agent<C>, r: Run<C>, off: number): Map<number, number> | null {
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
  #partOf(a: Agent<C>, r: Run<C>, rs: number, rl: number, off: number): Part<C> {
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
        ranges.push({ start: this.#ref(a.index, Math.max(at, ps), f[i]!, st), len: n, dir: n === 1 ? 1 : dir })
      }
      return { kind: DELETE, len: rl - off, ranges }
    }
    const run = r as MoveRun<C>
    const ref = (ag: number, s: number) => this.#ref(a.index, ps, ag, s)
    if (run.kind === INSERT) {
      const segs: Array<C | number> = []
      let b: Block<C> | null = this.findChar(a.index, ps)
      let o = ps - b.seq
      let left = run.rlen - off
      while (left > 0 && b !== null) {
        const n = Math.min(b.len - o, left)
        const last = segs[segs.length - 1]
        if (b.state === DELETED) {
          if (typeof last === 'number') segs[segs.length - 1] = last + n
          else segs.push(n)
        } else {
          const c = o === 0 && n === b.len ? b.content : this.kind.slice(b.content, o, o + n)
          if (last !== undefined && typeof last !== 'number') segs[segs.length - 1] = this.kind.append(this.kind.slice(last, 0, this.kind.length(last)), c)
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

  // ---- reading --------------------------------------------------------------------------------

  /** Visible content blocks in order. */
  *visibleContent(): IterableIterator<C> {
    for (let l: Leaf<C> | null = this.tree.first; l !== null; l = l.next) {
      for (const b of l.blocks) if (b.state === 0) yield b.content
    }
  }

  /** Test-only: tree sums, fragment chains and logs agree. */
  check(): void {
    this.tree.check()
    for (const a of this.agents) {
      let prev = 0
      let dels = 0
      for (let i = 0; i < a.runs.length; i++) {
        const run = a.runs[i]!
        if (a.starts[i]! !== prev + 1) throw new Error(`log of ${a.name} has a gap before ${a.starts[i]}`)
        prev = a.starts[i]! + a.rlenAt(i) - 1
        if (typeof run === 'number') {
          if (run !== dels) throw new Error(`delete record of ${a.name}:${a.starts[i]} at ${run}, not ${dels}`)
          dels = run + 2 + a.dels[run + 1]!
          let k = 0
          const f = a.delRanges(run)
          for (let j = 0; j < f.length; j += 4) k += f[j + 2]!
          if (k !== a.rlenAt(i)) throw new Error(`delete run ${a.name}:${a.starts[i]} has ${k} ids for ${a.rlenAt(i)} seqs`)
        } else {
          if (run.seq !== a.starts[i]) throw new Error(`run ${a.name}:${run.seq} listed as starting at ${a.starts[i]}`)
          let s = run.seq
          for (let b: Block<C> | null = run as InsRun<C>; b !== null; b = b.next) {
            if (b.seq !== s || (b.run as unknown) !== run) throw new Error(`fragment chain of ${a.name}:${run.seq} broken at ${s}`)
            if (b.leaf.blocks.indexOf(b) < 0) throw new Error(`fragment ${a.name}:${b.seq} is not in its leaf`)
            s += b.len
          }
          if (s !== run.seq + run.rlen) throw new Error(`fragments of ${a.name}:${run.seq} cover ${s - run.seq} of ${run.rlen}`)
          const idx = this.#frags.get(run as InsRun<C>)
          if (idx !== undefined) {
            let j = 0
            for (let b: Block<C> | null = run as InsRun<C>; b !== null; b = b.next) if (idx[j++] !== b) throw new Error(`fragment index of ${a.name}:${run.seq} is out of step at ${b.seq}`)
            if (j !== idx.length) throw new Error(`fragment index of ${a.name}:${run.seq} has ${idx.length} entries for ${j} fragments`)
          }
        }
      }
      if (dels !== a.dels.length) throw new Error(`delete records of ${a.name} end at ${dels} of ${a.dels.length}`)
    }
  }
}

// Least seqs per bucket of Agent.buckets (2^6), and the log length from which lookups use them.
const BUCKET_SHIFT = 6
const BUCKET_MIN_RUNS = 32

// A delete range packs into one word start * RANGE_LW + lw (see Agent.dels) when lw < RANGE_LW
// and start < RANGE_START_MAX, which keeps the word below 2^53; else it takes LONG_RANGE, start, lw.
const RANGE_LW = 2 ** 22
const RANGE_START_MAX = 2 ** 31
const LONG_RANGE = -0.5

// Steps findChar walks along a run's fragment chain before it uses (or builds) the run's index.
const FRAG_WALK = 8

// Index in `idx` (fragments in seq order) of the last one starting at or before `seq`; -1 if none.
function fragIndex<C>(idx: Block<C>[], seq: number): number {
  let lo = 0
  let hi = idx.length - 1
  if (hi < 0 || idx[0]!.seq > seq) return -1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (idx[mid]!.seq <= seq) lo = mid
    else hi = mid - 1
  }
  return lo
}

// Seqs past this get no bits in SeqEngine.#gone (a bitmap that large would not pay).
const GONE_MAX = 2 ** 26

// Sets the bits of seqs [lo, lo + n) of `agent` in `gone` (see SeqEngine.#gone), growing its bitmap.
function markGone(gone: Array<Uint32Array | undefined>, agent: number, lo: number, n: number): void {
  const hi = lo + n
  if (hi > GONE_MAX) return
  let bits = gone[agent]
  const need = (hi >>> 5) + 1
  if (bits === undefined || bits.length < need) {
    const grown = new Uint32Array(Math.max(need, bits === undefined ? 256 : bits.length * 2))
    if (bits !== undefined) grown.set(bits)
    gone[agent] = bits = grown
  }
  for (let s = lo; s < hi; ) {
    const b = s & 31
    const k = Math.min(32 - b, hi - s)
    bits[s >>> 5]! |= k === 32 ? -1 : ((1 << k) - 1) << b
    s += k
  }
}

// Whether every seq of [lo, hi) has its bit set in `bits` (see SeqEngine.#gone).
function allGone(bits: Uint32Array | undefined, lo: number, hi: number): boolean {
  if (bits === undefined || hi > bits.length * 32) return false
  for (let s = lo; s < hi; ) {
    const b = s & 31
    const k = Math.min(32 - b, hi - s)
    const mask = k === 32 ? -1 : ((1 << k) - 1) << b
    if ((bits[s >>> 5]! & mask) !== mask) return false
    s += k
  }
  return true
}

/**
 * Appends one range to the delete run whose record is at `off`, the last entry of `a`'s log,
 * extending the run's last range when it continues it. `a.delAgent` is the source of that range.
 */
export function appendDelRange(a: Agent<unknown>, off: number, ag: number, st: number, ln: number, dir: number): void {
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
