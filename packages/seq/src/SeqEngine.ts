// The sequence engine behind List and Text: the state (interned sources with their logs, the
// block tree), lookups, tree surgery, local edits and the dispatch of a peer's op to the parts
// that apply it. The parts live in their own files and take the engine as their first argument:
// SourceLog.ts (a source's log of runs and packed delete records), validate.ts, integrate.ts
// (placing inserts), deletes.ts, moves.ts (list moves), history.ts (packing runs into updates)
// and invariants.ts (checked by tests through checkInvariants). The fields they share are plain fields marked internal: the package does
// not export the engine. See PROTOCOL.md.
import type { ReadonlyVersionVector, ReplicaId, Update } from '@hearsay/core'
import { Block, BlockTree, DELETED, Frag, setChainNext, type Leaf } from './BlockTree.js'
import { applyDelete, deleteOne, deleteRange } from './deletes.js'
import { allGone } from './gone.js'
import { history } from './history.js'
import { integrate } from './integrate.js'
import { InvalidOp } from './InvalidOp.js'
import { elementAt, indexOfElement, type ListMoves } from './moves.js'
import { DELETE, INSERT, MOVE, PartReader, ReadSeqOp, type DeletePart, type DeleteRange, type InsertPart, type MovePart, type Ref, type SeqOp } from './ops.js'
import { Origins, SourceLog, appendDelRange, pushRange, type InsRun } from './SourceLog.js'
import { validate } from './validate.js'

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

/** A visible edit, in the order it happened (for `change` deltas). */
export interface Edit<C> {
  at: number
  insert?: C
  delete?: number
}

/** The sequence state and every operation on it. Public methods of List/Text check arguments first. */
export class SeqEngine<C> {
  readonly tree = new BlockTree<C>()
  readonly agents: SourceLog<C>[] = []
  readonly byName = new Map<string, SourceLog<C>>()
  /** Edits since the last `takeEdits`, when tracking is on. */
  edits: Edit<C>[] | null = null

  /** True for a List: its engine has moves. */
  readonly isList: boolean
  /** @internal The readers of ops applied, and checked, from their bytes: one each, reset per op. */
  readonly applyReader = new PartReader(new Uint8Array(0), [], true, true)
  /** @internal See applyReader. */
  readonly checkReader = new PartReader(new Uint8Array(0), [], true, true)
  /** @internal Scratch of validate for an update of many parts: their kinds, and their starts as a log used for its lookup by seq. */
  checkKinds = new Uint8Array(64)
  /** @internal See checkKinds. */
  readonly checkParts = new SourceLog<C>(-1, '' as ReplicaId)

  constructor(
    readonly kind: ContentKind<C>,
    /** A List's moves (./moves.ts); null for a Text. */
    readonly moves: ListMoves | null,
  ) {
    this.isList = moves !== null
  }

  agent(name: string): SourceLog<C> {
    let a = this.byName.get(name)
    if (a === undefined) {
      a = new SourceLog<C>(this.agents.length, name as ReplicaId)
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

  /**
   * @internal Runs cut into many fragments (a pasted block edited all over, as in code traces)
   * get an index of their fragments in seq order once a lookup walks far along their chain:
   * finding a character in them is then a binary search. split, #absorb and integrate keep it
   * in step.
   */
  readonly frags = new Map<InsRun<C>, Block<C>[]>()

  // The fragment of `run` that would hold `seq` (the last one starting at or before it).
  #fragAt(run: InsRun<C>, seq: number): Block<C> | null {
    let idx = this.frags.get(run)
    if (idx === undefined) {
      idx = []
      for (let b: Block<C> | null = run; b !== null; b = b.next) idx.push(b)
      this.frags.set(run, idx)
    }
    const i = fragIndex(idx, seq)
    return i < 0 ? null : idx[i]!
  }

  /** @internal Fragment `b` now follows `prev` in its run's chain (keeps {@link frags} in step). */
  fragLinked(prev: Block<C>, b: Block<C>): void {
    const idx = this.frags.get(prev.run as InsRun<C>)
    if (idx !== undefined) idx.splice(fragIndex(idx, prev.seq) + 1, 0, b)
  }

  /** Whether (agent, seq) is an existing character (or list slot). */
  isChar(agent: number, seq: number, allowSlot = true): boolean {
    const run = this.agents[agent]?.runAt(seq)
    return run !== undefined && typeof run !== 'number' && (allowSlot || run.kind === INSERT)
  }

  /** @internal Document position (tombstones included) of a character; -1 for none (start). */
  rawPos(agent: number, seq: number): number {
    if (agent < 0) return -1
    if (this.building) this.endBuild()
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
    if (this.frags.size !== 0) this.fragLinked(b, right)
    // In build mode `right` took b's chain link with b.leaf above.
    if (this.building) setChainNext(b, right)
    else this.splitAt = this.tree.placeSplit(b, right)
    return right
  }

  /** Index in its leaf of the block the last {@link split} returned, as placed then. */
  splitAt = 0

  /** @internal Sets the state of characters [off, off + n) of `b`, splitting as needed; returns the block covering them. */
  setState(b: Block<C>, off: number, n: number, state: number): Block<C> {
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
    if (this.frags.size !== 0) {
      const idx = this.frags.get(gone.run as InsRun<C>)
      if (idx !== undefined) idx.splice(fragIndex(idx, gone.seq), 1)
    }
    const a = this.agents[gone.agent]!
    if (a.cache === gone) a.cache = into
    if (this.#growing === gone) this.#growing = null
  }

  /** The block local typing is extending; its content is compacted once typing moves on. */
  #growing: Block<C> | null = null

  /** @internal `b` is the block typing extends now; compacts the one it extended before. */
  grow(b: Block<C>): void {
    const g = this.#growing
    if (g === b) return
    if (g !== null && g.state !== DELETED) this.kind.compact(g.content)
    this.#growing = b
  }

  /** @internal Records the insert of block `b` for `change` deltas when edits are tracked. */
  recordInsert(b: Block<C>): void {
    if (this.edits !== null && b.state === 0) this.edits.push({ at: this.tree.visBefore(b), insert: b.content })
  }

  // ---- local edits ----------------------------------------------------------------------------

  /**
   * Inserts `content` at visible `index` as seq `seq..` of agent `me`, and returns the part to
   * commit. The caller checked the arguments.
   */
  localInsert(me: SourceLog<C>, seq: number, index: number, content: C): InsertPart<C> {
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
    const o = this.origins.set(olA, olS, orA, orS)
    const merged = me.continueRun(seq, n, o) !== null
    // Merged into my last run: `left` holds my previous character, so it is the run's tail.
    if (merged && left !== null) {
      this.grow(left)
      left.content = this.kind.append(left.content, content)
      left.len += n
      tree.addLen(left.leaf, n, n)
      if (this.edits !== null) this.edits.push({ at: index, insert: content })
    } else {
      if (left !== null && off < left.len - 1) this.split(left, off + 1)
      const b = me.newRun(seq, n, o, n, content, 0, tree.first)
      tree.insertAfter(left, b)
      this.grow(b)
      if (this.edits !== null) this.edits.push({ at: index, insert: content })
    }
    return {
      kind: INSERT,
      len: n,
      left: olA < 0 ? null : this.ref(me.index, seq, olA, olS),
      right: orA < 0 ? null : this.ref(me.index, seq, orA, orS),
      segs: [content],
    }
  }

  /** @internal The reference a part at `partSeq` of source `self` writes for character (agent, seq). */
  ref(self: number, partSeq: number, agent: number, seq: number): Ref {
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
  localDelete(me: SourceLog<C>, seq: number, flat: number[]): DeletePart {
    let len = 0
    const ranges: DeleteRange[] = []
    for (let i = 0; i < flat.length; i += 4) {
      const n = flat[i + 2]!
      const dir = flat[i + 3] as 1 | -1
      deleteRange(this, flat[i]!, dir === 1 ? flat[i + 1]! : flat[i + 1]! - n + 1, n)
      ranges.push({ start: this.ref(me.index, seq + len, flat[i]!, flat[i + 1]!), len: n, dir })
      len += n
    }
    me.logDelete(seq, len, flat)
    return { kind: DELETE, len, ranges }
  }

  // ---- applying parts -------------------------------------------------------------------------

  /** @internal Out-parameters of {@link resolve} (no array per reference on the load path). */
  ra = 0
  /** @internal See {@link ra}. */
  rs = 0

  /**
   * @internal The origins of the insert or move being applied: one scratch struct filled by the
   * caller of integrate, which reads it at once (no object per insert on the load path).
   */
  readonly origins = new Origins()

  /** @internal Resolves a ref of a part at `partSeq` written by `self` into ra/rs; throws InvalidOp for unknown sources. */
  resolve(r: Ref, self: SourceLog<C>, partSeq: number): void {
    if (typeof r === 'number') {
      const seq = partSeq - r
      if (seq < 1 || seq >= partSeq) throw new InvalidOp('reference to a later or missing seq of its own source')
      this.ra = self.index
      this.rs = seq
      return
    }
    if (r.src === '' || r.src === self.name) {
      const seq = r.src === '' ? partSeq - r.n : r.n
      if (seq < 1 || seq >= partSeq) throw new InvalidOp('reference to a later or missing seq of its own source')
      this.ra = self.index
      this.rs = seq
      return
    }
    const a = this.byName.get(r.src)
    if (a === undefined) throw new InvalidOp(`reference to unknown source ${r.src}`)
    this.ra = a.index
    this.rs = r.n
  }

  /** @internal The op validate left to be checked while it is applied (see validate). */
  deferred: SeqOp<C> | null = null
  /** @internal Whether apply is checking the op it applies (a deferred one) now. */
  checking = false

  /**
   * @internal From a checking apply (a document loaded into an empty sequence) to the end of its
   * batch (see endBatch): per source, a bitmap of the seqs that arrived as deleted characters
   * (deleted segments of inserts; gone.ts). A loaded state carries every deleted character that
   * way and also every delete that erased it, so most deletes of a load name characters already
   * gone: the bitmap answers them without looking each range's characters up. A bit is set only
   * for a character placed deleted, and a deleted character stays deleted, so a range whose bits
   * are all set is a range of existing, deleted characters, and applying it would change nothing.
   */
  gone: Array<Uint32Array | undefined> | null = null


  /**
   * Checks that an op from `source` spanning seqs `seq..` only references existing characters,
   * without changing anything. Parts at or below `covered` are skipped. Throws InvalidOp.
   */
  validate(op: SeqOp<C>, source: string, seq: number, covered: number, len: number): void {
    validate(this, op, source, seq, covered, len)
  }

  /** Applies a validated op from `source` spanning seqs `seq..`, skipping what `covered` already holds. */
  apply(op: SeqOp<C>, source: string, seq: number, covered: number): void {
    if (op !== this.deferred) {
      if (op instanceof ReadSeqOp && !op.built) this.#applyRead(op, source, seq, covered)
      else this.#applyParts(op, source, seq, covered)
      return
    }
    this.deferred = null
    const edits = this.edits
    const had = edits === null ? 0 : edits.length
    this.checking = true
    if (!this.isList) this.gone ??= []
    // Change events need document positions as blocks are placed: build the tree as it goes then.
    this.building = edits === null
    try {
      if (op instanceof ReadSeqOp && !op.built) this.#applyRead(op, source, seq, covered)
      else this.#applyParts(op, source, seq, covered)
      if (this.building) this.endBuild()
    } catch (err) {
      // The sequence was empty: empty it again, whatever part failed.
      this.#clear()
      if (edits !== null) edits.length = had
      throw err instanceof InvalidOp ? err : new InvalidOp(`malformed op: ${(err as Error)?.message ?? err}`)
    } finally {
      this.checking = false
    }
  }

  // Build mode: while a checking apply places an op into an empty sequence (a load) and nobody
  // wants change events, placed blocks are chained in document order through
  // chainNext from head instead of inserted into the tree, and the tree is built from the
  // chain in one go at the end (BlockTree.build): a load then does no leaf shifting, leaf
  // splitting or sum updates per block. The few steps that need document positions (a
  // concurrent insert's scan comparing right origins, a delete that changes a character) build
  // the tree first and go on without the list.
  /** @internal See above. */
  building = false
  /** @internal The first block of the build-mode chain. */
  head: Block<C> | null = null

  /** @internal Leaves build mode: builds the tree from the chain. */
  endBuild(): void {
    this.building = false
    const head = this.head
    this.head = null
    this.tree.build(head)
  }

  // Back to an empty sequence; interned sources stay (an empty log encodes nothing).
  #clear(): void {
    this.building = false
    this.head = null
    this.tree.clear()
    this.frags.clear()
    for (const a of this.agents) a.clear()
    this.#growing = null
    this.gone = null
  }

  /** The end of a batch of applied updates: drops what only a load uses. */
  endBatch(): void {
    this.gone = null
  }

  /** @internal Scratch list of the blocks an integrate scan passed. */
  readonly passed: Block<C>[] = []

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
    const r = this.applyReader.reset(op.bytes, op.table)
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
          const run = self.deleteRun(ps + skip, r.len - skip)
          const gone = skip === 0 ? this.gone : null
          for (let j = 0, k = 0; j < r.nranges; j++) {
            const st = r.starts[j]!
            const n = r.lens[j]!
            const dir = r.dirs[j]!
            // A load's common case inline: a range of this source's own characters, all placed
            // deleted (see gone); deleteOne (deletes.ts) does the same and everything else.
            if (gone !== null && typeof st === 'number' && st >= 1 && st <= ps + k - 1) {
              const start = ps + k - st
              const lo = dir === 1 ? start : start - n + 1
              if (allGone(gone[self.index], lo, lo + n)) {
                appendDelRange(self, run, self.index, start, n, dir)
                k += n
                continue
              }
            }
            deleteOne(this, self, run, ps, k, st, n, dir, skip)
            k += n
          }
        } else this.moves!.applyMove(this, self, ps, { kind: MOVE, len: 1, left: r.left, right: r.right, elem: r.elem, time: r.time })
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
        else if (p.kind === DELETE) applyDelete(this, self, ps, p, skip)
        else this.moves!.applyMove(this, self, ps, p)
      }
      ps = end + 1
    }
  }

  // Applies an insert part of `len` items at seq `ps` (its fields passed one by one), skipping
  // the first `skip` items the replica already has.
  #applyInsert(self: SourceLog<C>, ps: number, len: number, left: Ref | null, right: Ref | null, partSegs: ReadonlyArray<C | number>, skip: number): void {
    const o = this.origins.set(-1, 0, -1, 0)
    if (skip > 0) {
      o.olA = self.index
      o.olS = ps + skip - 1
    } else if (left !== null) {
      this.resolve(left, self, ps)
      o.olA = this.ra
      o.olS = this.rs
    }
    if (right !== null) {
      this.resolve(right, self, ps)
      o.orA = this.ra
      o.orS = this.rs
    }
    const seq = ps + skip
    if (skip === 0) {
      integrate(this, self, ps, len, o, partSegs, null)
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
    integrate(this, self, seq, len - skip, o, segs, null)
  }

  // ---- list moves, history, reading ----------------------------------------------------------

  /** Local move of the element at visible `from` so it ends at visible `to`; returns the part. */
  localMove(me: SourceLog<C>, seq: number, time: number, from: number, to: number): MovePart {
    return this.moves!.localMove(this, me, seq, time, from, to)
  }

  /** The element (agent, seq) shown by the visible slot at `index`. */
  elementAt(index: number): [number, number] {
    return elementAt(this, index)
  }

  /** Visible index of element (agent, seq), or -1 when deleted or unknown. */
  indexOfElement(agent: number, seq: number): number {
    return indexOfElement(this, agent, seq)
  }

  /** Every source's runs past `since`, packed into as few updates as causality allows. */
  history(since: ReadonlyVersionVector): Iterable<Update<SeqOp<C>>> {
    return history(this, since)
  }

  /** Visible content blocks in order. */
  *visibleContent(): IterableIterator<C> {
    for (let l: Leaf<C> | null = this.tree.first; l !== null; l = l.next) {
      for (const b of l.blocks) if (b.state === 0) yield b.content
    }
  }
}

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
