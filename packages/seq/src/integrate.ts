// Placing an insert (or a list move's slot) with the YjsMod/FugueMax rule, and logging it.
// Concurrent inserts at one place are ordered by their origins, so runs never interleave.
import { DELETED, Frag, HIDDEN, chainNext, setChainNext, type Block } from './BlockTree.js'
import { markGone } from './gone.js'
import { InvalidOp } from './InvalidOp.js'
import type { MovePart } from './ops.js'
import type { SeqEngine } from './SeqEngine.js'
import { MoveRun, type InsRun, type Origins, type SourceLog } from './SourceLog.js'

const RIGHT_END = Number.MAX_SAFE_INTEGER

/**
 * Places seqs `seq..seq + len - 1` of `self` (an insert, or a move slot when `move` is set) with
 * origins `o` and logs them; `segs` is their content, numbers being counts of deleted items.
 * Returns the first block placed (or the block it extended). Concurrent inserts at one place are
 * ordered by their origins, so runs never interleave. Throws InvalidOp for a missing origin.
 */
export function integrate<C>(e: SeqEngine<C>, self: SourceLog<C>, seq: number, len: number, o: Origins, segs: ReadonlyArray<C | number>, move: MovePart | null): Block<C> {
  // In locals: the scan compares them at every step, and `o` is a scratch struct (Origins).
  const olA = o.olA
  const olS = o.olS
  const orA = o.orA
  const orS = o.orS
  const tree = e.tree
  let leftBlock: Block<C> | null = null
  let cb: Block<C> | null
  let coff = 0
  // Index of cb in its leaf (-1: not known yet, found on the first step of the scan).
  let ci = -1
  // In build mode: the block before cb (when coff is 0), and then before the destination.
  let prev: Block<C> | null = null
  let dprev: Block<C> | null = null
  if (olA >= 0) {
    leftBlock = e.findChar(olA, olS)
    const off = olS - leftBlock.seq
    if (off < leftBlock.len - 1) {
      cb = leftBlock
      coff = off + 1
    } else if (e.building) {
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
  } else if (e.building) cb = e.head
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
  const passed = e.passed
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
      const ob = e.findChar(oA, oS)
      if (ob === leftBlock) cmpL = oS - olS
      else cmpL = (seen !== null ? seen.has(ob) : passed.indexOf(ob) >= 0) ? 1 : -1
    }
    if (cmpL < 0) break
    if (cmpL === 0) {
      let cmpR: number
      if (run.orA === orA && (orA < 0 || run.orS === orS)) cmpR = 0
      else {
        if (Number.isNaN(rightPos)) rightPos = orA < 0 ? RIGHT_END : e.rawPos(orA, orS)
        cmpR = (run.orA < 0 ? RIGHT_END : e.rawPos(run.orA, run.orS)) - rightPos
      }
      if (cmpR < 0) scanning = true
      else if (cmpR === 0) {
        if (self.name < e.agents[cb.agent]!.name) break
        scanning = false
      } else scanning = false
    }
    // The rest of this block has later left origins: skip it, stopping at the right origin.
    if (cb.agent === orA && orS > cs && orS < cb.seq + cb.len) coff = orS - cb.seq
    else {
      // Short scans (most) search the list; long ones switch to a set.
      if (seen !== null) seen.add(cb)
      else if (olA >= 0 && passed.push(cb) > 32) seen = new Set(passed)
      if (e.building) {
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
  if (e.checking && orA >= 0 && !metRight && !e.isChar(orA, orS)) throw new InvalidOp(`reference to missing character ${e.agents[orA]!.name}:${orS}`)
  const immediate = db === cb0 && doff === coff0
  // The run this continues (grown by len), or null: the first segment then makes a new one.
  let run: InsRun<C> | null = move === null ? self.continueRun(seq, len, o) : null
  const merged = run !== null
  // Place the segments, first extending the left block when it is the run's tail.
  let after: Block<C> | null = null
  let before: Block<C> | null = null
  // Index of `after` (or else `before`) in its leaf when known, else -1.
  let at = dci
  if (db !== null && doff > 0) {
    before = e.split(db, doff)
    at = e.splitAt
    dprev = db
  } else before = db
  const building = e.building
  let s = seq
  let firstBlock: Block<C> | null = null
  // When merged, the left origin is my previous character: the tail of the run's fragments.
  let tail: Block<C> | null = merged ? leftBlock : null
  for (let i = 0; i < segs.length; i++) {
    const sg = segs[i]!
    const deleted = typeof sg === 'number'
    const n = deleted ? sg : e.kind.length(sg)
    const state = move !== null ? HIDDEN : deleted ? DELETED : 0
    const content = deleted ? e.kind.empty() : (sg as C)
    if (deleted && e.gone !== null) markGone(e.gone, self.index, s, n)
    if (i === 0 && merged && immediate && leftBlock !== null && leftBlock.state === state && state !== DELETED) {
      e.grow(leftBlock)
      leftBlock.content = e.kind.append(leftBlock.content, content)
      tail = leftBlock
      leftBlock.len += n
      if (!building) tree.addLen(leftBlock.leaf, state === 0 ? n : 0, n)
      if (e.edits !== null && state === 0) e.edits.push({ at: tree.visBefore(leftBlock) + leftBlock.len - n, insert: content })
      after = leftBlock
      at = -1
    } else {
      let b: Block<C>
      if (run === null) b = run = move === null ? self.newRun(s, len, o, n, content, state, tree.first) : newMoveRun(e, self, s, o, move, content)
      else {
        b = new Frag<C>(s, n, content, state, tree.first, run)
        tail!.next = b
        if (e.frags.size !== 0) e.fragLinked(tail!, b)
      }
      tail = b
      if (building) {
        const p = after ?? dprev
        if (p === null) {
          setChainNext(b, e.head)
          e.head = b
        } else {
          setChainNext(b, chainNext(p))
          setChainNext(p, b)
        }
      } else at = after !== null ? tree.insertAfter(after, b, at) : tree.insertBefore(before, b, at)
      e.recordInsert(b)
      after = b
      firstBlock ??= b
    }
    s += n
  }
  return firstBlock ?? after!
}

// Logs the slot of `move` at seq `seq` of `self`, with origins `o`; it is its own only block.
function newMoveRun<C>(e: SeqEngine<C>, self: SourceLog<C>, seq: number, o: Origins, move: MovePart, content: C): MoveRun<C> {
  const run = new MoveRun<C>(self.index, seq, 1, 1, content, HIDDEN, e.tree.first)
  run.olA = o.olA
  run.olS = o.olS
  run.orA = o.orA
  run.orS = o.orS
  run.time = move.time
  e.resolve(move.elem, self, seq)
  run.elemA = e.ra
  run.elemS = e.rs
  self.addRun(run)
  return run
}
