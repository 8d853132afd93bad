// Validation of a peer's op before anything changes: every reference names an existing character
// (or an earlier part of the same update), deletes stay below their own seq, content has the
// right type. A load into an empty sequence defers the reference checks to apply (see validate).
import type { ReplicaId } from '@hearsay/core'
import { DELETED } from './BlockTree.js'
import { InvalidOp } from './InvalidOp.js'
import { DELETE, INSERT, MOVE, ReadSeqOp, type InsertPart, type Ref, type SeqOp } from './ops.js'
import type { SeqEngine } from './SeqEngine.js'
import { SourceLog } from './SourceLog.js'

interface Validation<C> {
  self: SourceLog<C>
  /** Kind of every part of the update checked so far (a Uint8Array when `parts` is set). */
  kinds: ArrayLike<number>
  /**
   * Start seqs of the parts checked so far, in a SourceLog used only for its lookup by seq (see
   * SourceLog.runIndexAt: references name earlier parts at random, and a binary search of the
   * starts was a tenth of loading a two-source document); null for a one-part update.
   */
  parts: SourceLog<C> | null
  /** Seqs the update spans. */
  total: number
  seq: number
  covered: number
}

// The kinds of a one-part update, by kind (no array per update).
const ONE_KIND: ReadonlyArray<ArrayLike<number>> = [Object.freeze([INSERT]), Object.freeze([DELETE]), Object.freeze([MOVE])]

/**
 * Checks that an op from `source` spanning seqs `seq..` only references existing characters,
 * without changing anything. Parts at or below `covered` are skipped.
 */
export function validate<C>(e: SeqEngine<C>, op: SeqOp<C>, source: string, seq: number, covered: number, len: number): void {
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
  if (covered === 0 && !moves && e.tree.total === 0) {
    if (read !== null) for (const c of read.contents) checkValue(e, c)
    else for (const p of op.parts) if (p.kind === INSERT) checkContent(e, p)
    e.deferred = op
    return
  }
  e.deferred = null
  const self = e.byName.get(source) ?? new SourceLog<C>(-2, source as ReplicaId)
  if (read !== null) {
    validateRead(e, read, self, seq, covered)
    return
  }
  const parts = op.parts
  const v = validation(e, self, parts.length, parts[0]!.kind, total, seq, covered)
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
        checkContent(e, p)
        checkInsert(e, v, ps, p.left, p.right)
      } else if (p.kind === DELETE) {
        let k = 0
        for (const r of p.ranges) {
          checkRange(e, v, ps + k, r.start, r.len, r.dir)
          k += r.len
        }
      } else checkMove(e, v, ps, p.left, p.right, p.elem)
    }
    ps = end + 1
  }
}

// validate for an op read from bytes: the same checks, reading its parts in place.
function validateRead<C>(e: SeqEngine<C>, op: ReadSeqOp<C>, self: SourceLog<C>, seq: number, covered: number): void {
  for (const c of op.contents) checkValue(e, c)
  const n = op.count
  const v = validation(e, self, n, op.firstKind, op.length, seq, covered)
  const r = e.checkReader.reset(op.bytes, op.table)
  let ps = seq
  for (let pi = 0; pi < n; pi++) {
    r.next()
    if (v.parts !== null) {
      ;(v.kinds as Uint8Array)[pi] = r.kind
      v.parts.starts.push(ps)
    }
    const end = ps + r.len - 1
    if (end > covered) {
      if (r.kind === INSERT) checkInsert(e, v, ps, r.left, r.right)
      else if (r.kind === DELETE) {
        for (let j = 0, k = 0; j < r.nranges; j++) {
          checkRange(e, v, ps + k, r.starts[j]!, r.lens[j]!, r.dirs[j]!)
          k += r.lens[j]!
        }
      } else checkMove(e, v, ps, r.left, r.right, r.elem)
    }
    ps = end + 1
  }
}

// The state of validating an update of `n` parts; the parts' kinds and start seqs are filled in
// as the parts are checked (a reference only ever names an earlier part), so an update read
// from bytes is read once here, not once more to list them. The kinds and the lookup of the
// parts are the engine's scratch, emptied per update (validations never nest).
function validation<C>(e: SeqEngine<C>, self: SourceLog<C>, n: number, firstKind: number, total: number, seq: number, covered: number): Validation<C> {
  if (n === 1) return { self, kinds: ONE_KIND[firstKind]!, parts: null, total, seq, covered }
  if (e.checkKinds.length < n) e.checkKinds = new Uint8Array(Math.max(n, 2 * e.checkKinds.length))
  const parts = e.checkParts
  parts.clear()
  return { self, kinds: e.checkKinds, parts, total, seq, covered }
}

// Checks the references of an insert part at seq `ps`.
function checkInsert<C>(e: SeqEngine<C>, v: Validation<C>, ps: number, left: Ref | null, right: Ref | null): void {
  checkRef(e, v, left, ps, true)
  // The left reference as resolved by the check (for the surrogate test below).
  const la = e.ra
  const ls = e.rs
  checkRef(e, v, right, ps, true)
  // Never between the halves of a surrogate pair the replica holds (a deleted pair has no content left to split).
  if (!e.isList && left !== null && ps > v.covered && !(la === v.self.index && ls > v.covered)) {
    const b = e.findChar(la, ls)
    if (b.state !== DELETED && e.kind.splitsAfter!(b.content, ls - b.seq)) throw new InvalidOp('insert inside a surrogate pair')
  }
}

// Checks one range of a delete part, the range's first seq being `at`.
function checkRange<C>(e: SeqEngine<C>, v: Validation<C>, at: number, start: Ref, len: number, dir: 1 | -1): void {
  e.resolve(start, v.self, at)
  const a = e.ra
  const s = e.rs
  const lo = dir === 1 ? s : s - len + 1
  const hi = dir === 1 ? s + len - 1 : s
  if (lo < 1) throw new InvalidOp('delete range below seq 1')
  if (a === v.self.index && hi >= at) throw new InvalidOp('delete of a later seq of its own source')
  // Step a run (or a part of this update) at a time: each is all characters or none.
  for (let x = lo; x <= hi; ) {
    const end = charRunEnd(e, v, a, x)
    if (end < 0) throw new InvalidOp(`delete of missing character ${e.agents[a]?.name ?? v.self.name}:${x}`)
    x = end < hi ? end + 1 : hi + 1
  }
}

// Checks a move part.
function checkMove<C>(e: SeqEngine<C>, v: Validation<C>, ps: number, left: Ref | null, right: Ref | null, elem: Ref): void {
  if (!e.isList) throw new InvalidOp('move in a text')
  checkRef(e, v, left, ps, true)
  checkRef(e, v, right, ps, true)
  checkRef(e, v, elem, ps, false)
}

// The type and well-formedness (Text) of one content segment (a ReadSeqOp's codec already
// matched the segments' lengths to their counts).
function checkValue<C>(e: SeqEngine<C>, c: C): void {
  if (e.isList) {
    if (!Array.isArray(c)) throw new InvalidOp('list content is not an array')
  } else {
    if (typeof c !== 'string') throw new InvalidOp('text content is not a string')
    if (!e.kind.wellFormed!(c)) throw new InvalidOp('text content holds a lone surrogate')
  }
}

// One pass over an insert's segments: their type, well-formedness (Text) and total length.
function checkContent<C>(e: SeqEngine<C>, p: InsertPart<C>): void {
  const segs = p.segs
  const isList = e.isList
  let n = 0
  for (let j = 0; j < segs.length; j++) {
    const sg = segs[j]
    if (typeof sg === 'number') n += sg
    else if (isList) {
      if (!Array.isArray(sg)) throw new InvalidOp('list content is not an array')
      n += sg.length
    } else {
      if (typeof sg !== 'string') throw new InvalidOp('text content is not a string')
      if (!e.kind.wellFormed!(sg as C)) throw new InvalidOp('text content holds a lone surrogate')
      n += sg.length
    }
  }
  if (n !== p.len || p.len < 1) throw new InvalidOp(`insert of ${p.len} carries ${n} items`)
}


// Index of the part of the update being validated that holds seq `s` (v.seq <= s, and a
// reference to the current part or a later one is refused by the caller).
function partIndex<C>(v: Validation<C>, s: number): number {
  return v.parts === null ? 0 : v.parts.runIndexAt(s)
}

// Whether (agent, s) is a character: in the replica, or in an earlier part of the update being validated.
function exists<C>(e: SeqEngine<C>, v: Validation<C>, agent: number, s: number, allowSlot: boolean): boolean {
  if (agent === v.self.index && s > v.covered) {
    if (s < v.seq) return false
    const k = v.kinds[partIndex(v, s)]!
    return k === INSERT || (allowSlot && k === MOVE)
  }
  return agent >= 0 && e.isChar(agent, s, allowSlot)
}

// Last seq of the run (or of this update's part) holding character or list slot (agent, s);
// -1 when (agent, s) is neither (one lookup where exists then a run end would take two).
function charRunEnd<C>(e: SeqEngine<C>, v: Validation<C>, agent: number, s: number): number {
  if (agent === v.self.index && s > v.covered) {
    if (s < v.seq) return -1
    const i = partIndex(v, s)
    if (v.kinds[i] === DELETE) return -1
    const starts = v.parts?.starts
    return starts === undefined || i + 1 >= starts.length ? v.seq + v.total - 1 : starts[i + 1]! - 1
  }
  const run = agent >= 0 ? e.agents[agent]?.runAt(s) : undefined
  if (run === undefined || typeof run === 'number') return -1
  return run.seq + run.rlen - 1
}

function checkRef<C>(e: SeqEngine<C>, v: Validation<C>, r: Ref | null, partSeq: number, allowSlot: boolean): void {
  if (r === null) return
  e.resolve(r, v.self, partSeq)
  const a = e.ra
  const s = e.rs
  if (!exists(e, v, a, s, allowSlot)) throw new InvalidOp(`reference to missing character ${(typeof r === 'number' ? '' : r.src) || v.self.name}:${s}`)
}
