// List elements and moves: a move writes a new slot for an element, and the element shows at the
// slot that wins its last-writer-wins position register (ElemState); deleting an element deletes
// whichever slot shows it.
import { DELETED, HIDDEN, type Block } from './BlockTree.js'
import { integrate } from './integrate.js'
import { MOVE, type MovePart } from './ops.js'
import type { SeqEngine } from './SeqEngine.js'
import type { ElemState, MoveRun, SourceLog } from './SourceLog.js'

function elemState<C>(e: SeqEngine<C>, agent: number, seq: number): ElemState | undefined {
  return e.agents[agent]!.moved?.get(seq)
}

/** Deletes `n` list elements shown or held by block `b` from offset `off` (whichever slot shows each). */
export function deleteListChars<C>(e: SeqEngine<C>, b: Block<C>, off: number, n: number): void {
  const run = b.run as MoveRun<C>
  if (run.kind === MOVE) {
    deleteElement(e, run.elemA, run.elemS)
    return
  }
  // Original slots: elements that never moved are deleted in one go.
  let i = 0
  while (i < n) {
    const seq = b.seq + off + i
    const es = elemState(e, b.agent, seq)
    if (es === undefined) {
      // Extend over the following never-moved elements.
      let j = i + 1
      while (j < n && elemState(e, b.agent, b.seq + off + j) === undefined) j++
      const cur = e.findChar(b.agent, seq)
      if (cur.state !== DELETED) e.setState(cur, seq - cur.seq, j - i, DELETED)
      i = j
    } else {
      deleteElement(e, b.agent, seq)
      i++
    }
  }
}

function deleteElement<C>(e: SeqEngine<C>, agent: number, seq: number): void {
  const a = e.agents[agent]!
  const es = a.moved?.get(seq)
  if (es === undefined) {
    const b = e.findChar(agent, seq)
    if (b.state !== DELETED) e.setState(b, seq - b.seq, 1, DELETED)
    return
  }
  if (es.deleted) return
  es.deleted = true
  const w = e.findChar(es.wA, es.wS)
  e.setState(w, es.wS - w.seq, 1, DELETED)
  const o = e.findChar(agent, seq)
  if (o.state !== DELETED) e.setState(o, seq - o.seq, 1, DELETED)
}

/** Applies move part `p` at seq `ps` of `self`: places its slot and runs the element's register. */
export function applyMove<C>(e: SeqEngine<C>, self: SourceLog<C>, ps: number, p: MovePart): void {
  const o = e.origins.set(-1, 0, -1, 0)
  if (p.left !== null) {
    e.resolve(p.left, self, ps)
    o.olA = e.ra
    o.olS = e.rs
  }
  if (p.right !== null) {
    e.resolve(p.right, self, ps)
    o.orA = e.ra
    o.orS = e.rs
  }
  e.resolve(p.elem, self, ps)
  const ea = e.ra
  const es = e.rs
  const orig = e.findChar(ea, es)
  // A slot of a deleted element never shows, so it carries no value (a count of 1 instead).
  const value: C | number = orig.state === DELETED ? 1 : e.kind.slice(orig.content, es - orig.seq, es - orig.seq + 1)
  const slot = integrate(e, self, ps, 1, o, [value], p)
  registerMove(e, ea, es, self, ps, p.time, slot)
}

/** Applies the LWW rule of element (ea, es) to a new slot (self, seq) written at `time`. */
function registerMove<C>(e: SeqEngine<C>, ea: number, es: number, self: SourceLog<C>, seq: number, time: number, slot: Block<C>): void {
  const a = e.agents[ea]!
  a.moved ??= new Map()
  let st = a.moved.get(es)
  if (st === undefined) {
    const orig = e.findChar(ea, es)
    st = { wA: ea, wS: es, wTime: -1, deleted: orig.state === DELETED }
    a.moved.set(es, st)
  }
  const wins =
    time > st.wTime ||
    (time === st.wTime && (self.name > e.agents[st.wA]!.name || (self.index === st.wA && seq > st.wS)))
  if (!wins) return
  if (!st.deleted) {
    const old = e.findChar(st.wA, st.wS)
    e.setState(old, st.wS - old.seq, 1, HIDDEN)
  }
  st.wA = self.index
  st.wS = seq
  st.wTime = time
  if (!st.deleted) e.setState(slot, seq - slot.seq, 1, 0)
}

/** The element (agent, seq) shown by the visible slot at `index`. */
export function elementAt<C>(e: SeqEngine<C>, index: number): [number, number] {
  const cur = e.tree.findVisible(index)
  const b = cur.leaf.blocks[cur.i]!
  const run = b.run as MoveRun<C>
  return run.kind === MOVE ? [run.elemA, run.elemS] : [b.agent, b.seq + cur.off]
}

/** Local move of the element at visible `from` so it ends at visible `to`; returns the part. */
export function localMove<C>(e: SeqEngine<C>, me: SourceLog<C>, seq: number, time: number, from: number, to: number): MovePart {
  const [ea, es] = elementAt(e, from)
  // Position among the other elements: with the element removed, `to` counts past it.
  const target = to > from ? to + 1 : to
  let olA = -1
  let olS = 0
  let orA = -1
  let orS = 0
  if (target > 0) {
    const cur = e.tree.findVisible(target - 1)
    const b = cur.leaf.blocks[cur.i]!
    olA = b.agent
    olS = b.seq + cur.off
    const nb = cur.off < b.len - 1 ? b : e.tree.nextBlock(b)
    if (nb !== null) {
      orA = nb.agent
      orS = nb === b ? olS + 1 : nb.seq
    }
  } else {
    const fb = e.tree.firstBlock()
    if (fb !== null) {
      orA = fb.agent
      orS = fb.seq
    }
  }
  const part: MovePart = {
    kind: MOVE,
    len: 1,
    left: olA < 0 ? null : e.ref(me.index, seq, olA, olS),
    right: orA < 0 ? null : e.ref(me.index, seq, orA, orS),
    elem: e.ref(me.index, seq, ea, es),
    time,
  }
  applyMove(e, me, seq, part)
  return part
}

/** Visible index of element (agent, seq), or -1 when deleted or unknown. */
export function indexOfElement<C>(e: SeqEngine<C>, agent: number, seq: number): number {
  if (!e.isChar(agent, seq, !e.isList)) return -1
  const st = e.isList ? elemState(e, agent, seq) : undefined
  const [wa, ws] = st === undefined ? [agent, seq] : [st.wA, st.wS]
  if (st?.deleted) return -1
  const b = e.findChar(wa, ws)
  if (b.state !== 0) return -1
  return e.tree.visBefore(b) + (ws - b.seq)
}

/**
 * What only a List does: moves and the deletes of elements that may have moved. List hands it
 * to its engine; Text has none, so a Text bundle leaves this file's list code out (a move in a
 * text is refused by validate before anything would call it).
 */
export interface ListMoves {
  readonly applyMove: typeof applyMove
  readonly localMove: typeof localMove
  readonly deleteListChars: typeof deleteListChars
}

/** The moves of a List's engine. */
export const listMoves: ListMoves = { applyMove, localMove, deleteListChars }
