/** One step of a {@link Delta}: keep `retain` items, insert content, or delete `delete` items. */
export type DeltaOp<C> = { retain: number } | { insert: C } | { delete: number }

/**
 * A change to a sequence as steps from its start: `[{ retain: 5 }, { insert: 'hi' }]` inserts
 * "hi" at index 5; `[{ retain: 2 }, { delete: 3 }]` removes three items from index 2. Indices
 * count UTF-16 code units for Text and elements for List. Trailing retains are omitted.
 */
export type Delta<C> = Array<DeltaOp<C>>

/**
 * Applies a delta to a string and returns the new string.
 * @throws RangeError when the delta reaches past the end of `text`.
 */
export function applyTextDelta(text: string, delta: Delta<string>): string {
  let out = ''
  let i = 0
  for (const op of delta) {
    if ('retain' in op) {
      if (i + op.retain > text.length) throw new RangeError('delta retains past the end')
      out += text.slice(i, i + op.retain)
      i += op.retain
    } else if ('insert' in op) out += op.insert
    else {
      if (i + op.delete > text.length) throw new RangeError('delta deletes past the end')
      i += op.delete
    }
  }
  return out + text.slice(i)
}

/**
 * Applies a delta to an array and returns a new array.
 * @throws RangeError when the delta reaches past the end of `items`.
 */
export function applyListDelta<T>(items: readonly T[], delta: Delta<readonly T[]>): T[] {
  const out: T[] = []
  let i = 0
  for (const op of delta) {
    if ('retain' in op) {
      if (i + op.retain > items.length) throw new RangeError('delta retains past the end')
      for (let k = 0; k < op.retain; k++) out.push(items[i++]!)
    } else if ('insert' in op) out.push(...op.insert)
    else {
      if (i + op.delete > items.length) throw new RangeError('delta deletes past the end')
      i += op.delete
    }
  }
  while (i < items.length) out.push(items[i++]!)
  return out
}

/**
 * How {@link composeEdits} handles content: strings for Text, arrays for List. The engine's
 * content kind of a List or Text fits this shape.
 */
export interface DeltaContent<C> {
  /** Number of items (UTF-16 code units, elements) in `c`. */
  length(c: C): number
  /** A copy of items `[start, end)` of `c`. */
  slice(c: C, start: number, end: number): C
  /** `a` followed by `b`; may reuse (mutate) `a`, never `b`. */
  append(a: C, b: C): C
}

/**
 * One edit of a sequence, made at visible index `at` of the document as it stands after the
 * edits before it: either `insert` (content) or `delete` (a count of items), not both.
 */
export type SeqEdit<C> = { readonly at: number; readonly insert: C; readonly delete?: undefined } | { readonly at: number; readonly delete: number; readonly insert?: undefined }

/** Strings and arrays, told apart by `typeof`: the default content of {@link composeEdits}. */
const anyContent: DeltaContent<any> = {
  length: (c: string | readonly unknown[]) => c.length,
  slice: (c: string | readonly unknown[], s: number, e: number) => c.slice(s, e),
  append: (a: string | unknown[], b: string | readonly unknown[]) => (typeof a === 'string' ? a + (b as string) : a.concat(b as readonly unknown[])),
}

// Pieces of the composed document, in its order: R keeps base items, I holds inserted content,
// D drops base items (zero width in the document after the edits).
const R = 0
const I = 1
const D = 2

interface Piece<C> {
  kind: 0 | 1 | 2
  /** Item count: kept or dropped base items, or the length of `content`. */
  n: number
  content: C | undefined
}

/** A run of pieces with the number of items they hold after the edits (D counts zero). */
interface Leaf<C> {
  pieces: Piece<C>[]
  len: number
}

// A leaf splits past 2 * B pieces and joins its neighbour when both fit in B.
const B = 32

/**
 * Composes edits made one after another into one canonical {@link Delta} that turns the
 * document before the first edit into the document after the last.
 *
 * Each edit's `at` counts in the document as left by the edits before it, which is how editors
 * and the sequence engines report them. The result has no zero or empty op, no two adjacent
 * ops of the same kind, inserts before deletes between two retains, and no trailing retain;
 * `[]` when the edits cancel out (an insert deleted again). Inserted content is copied, so
 * the result shares no array with `edits`.
 *
 * Cost: O(B + d) per edit where d is the distance (in runs of 32 pieces) from the previous
 * edit, so typing forward, deleting at one place and edits in increasing order compose in
 * linear time; the final joining of inserted runs costs O(n log k) for k runs.
 *
 * @param edits the edits in the order they were made.
 * @param content how to measure, slice and join content; by default strings and arrays.
 * @param baseLength length of the document before the edits; when given, edits are checked
 *   against it. When left out, the document is taken as long enough for every edit.
 * @throws TypeError when an edit is not `{ at, insert }` or `{ at, delete }`.
 * @throws RangeError when `at` or `delete` is not a non-negative integer, or an edit reaches
 *   past the end of the document (only checked when `baseLength` is given).
 */
export function composeEdits<C>(edits: Iterable<SeqEdit<C>>, content: DeltaContent<C> = anyContent, baseLength = Infinity): Delta<C> {
  if (baseLength !== Infinity && !(Number.isSafeInteger(baseLength) && baseLength >= 0)) throw new RangeError(`baseLength ${baseLength} is not a non-negative integer`)
  // One edit (a local edit, the usual case) gives the same delta without building pieces.
  if (Array.isArray(edits) && edits.length === 1) {
    const d = single(edits[0] as SeqEdit<C>, content, baseLength)
    if (d !== undefined) return d
  }
  const doc = new Composer<C>(content, baseLength)
  for (const e of edits) {
    if (e === null || typeof e !== 'object') throw new TypeError('an edit is { at, insert } or { at, delete }')
    const at = e.at
    if (!Number.isSafeInteger(at) || at < 0) throw new RangeError(`edit position ${at} is not a non-negative integer`)
    if (e.insert !== undefined) {
      if (e.delete !== undefined) throw new TypeError('an edit either inserts or deletes, not both')
      const n = content.length(e.insert)
      if (n > 0) doc.insert(at, e.insert, n)
      else if (at > doc.length) throw new RangeError(`insert at ${at} is past the end (${doc.length})`)
    } else if (e.delete !== undefined) {
      if (!Number.isSafeInteger(e.delete) || e.delete < 0) throw new RangeError(`delete count ${e.delete} is not a non-negative integer`)
      if (at + e.delete > doc.length) throw new RangeError(`delete of ${e.delete} at ${at} reaches past the end (${doc.length})`)
      if (e.delete > 0) doc.delete(at, e.delete)
    } else throw new TypeError('an edit is { at, insert } or { at, delete }')
  }
  return doc.toDelta()
}

/**
 * Composes two deltas: the result applied to a document equals applying `a`, then `b`.
 * Canonical like {@link composeEdits}; linear in the sizes of `a` and `b` plus the joining of
 * inserted content.
 * @throws TypeError or RangeError on a malformed op (see {@link composeEdits}).
 */
export function composeDeltas<C>(a: Delta<C>, b: Delta<C>, content: DeltaContent<C> = anyContent): Delta<C> {
  return composeEdits([...deltaEdits(a, content), ...deltaEdits(b, content)], content)
}

/** The delta of one edit, or undefined to let the general path check and compose it. */
function single<C>(e: SeqEdit<C>, content: DeltaContent<C>, baseLength: number): Delta<C> | undefined {
  if (e === null || typeof e !== 'object' || !Number.isSafeInteger(e.at) || e.at < 0 || e.at > baseLength) return undefined
  const out: Delta<C> = e.at > 0 ? [{ retain: e.at }] : []
  if (e.insert !== undefined && e.delete === undefined) {
    const n = content.length(e.insert)
    if (n === 0) return []
    out.push({ insert: content.slice(e.insert, 0, n) })
  } else if (e.delete !== undefined && e.insert === undefined && Number.isSafeInteger(e.delete) && e.delete >= 0 && e.at + e.delete <= baseLength) {
    if (e.delete === 0) return []
    out.push({ delete: e.delete })
  } else return undefined
  return out
}

/** The edits one delta stands for, each positioned after the ones before it. */
function* deltaEdits<C>(delta: Delta<C>, content: DeltaContent<C>): Generator<SeqEdit<C>> {
  let at = 0
  for (const op of delta) {
    if (op === null || typeof op !== 'object') throw new TypeError('a delta op is { retain }, { insert } or { delete }')
    if ('retain' in op) {
      if (!Number.isSafeInteger(op.retain) || op.retain < 0) throw new RangeError(`retain ${op.retain} is not a non-negative integer`)
      at += op.retain
    } else if ('insert' in op) {
      yield { at, insert: op.insert }
      at += content.length(op.insert)
    } else if ('delete' in op) yield { at, delete: op.delete }
    else throw new TypeError('a delta op is { retain }, { insert } or { delete }')
  }
}

/** The document being composed: leaves of pieces with a cursor at the last leaf touched. */
class Composer<C> {
  readonly #content: DeltaContent<C>
  readonly #leaves: Leaf<C>[]
  /** Length after the edits so far (Infinity when the base length is unknown). */
  length: number
  // Cursor: index of a leaf and the document index where it starts.
  #ci = 0
  #cs = 0

  constructor(content: DeltaContent<C>, baseLength: number) {
    this.#content = content
    this.#leaves = [{ pieces: baseLength > 0 ? [{ kind: R, n: baseLength, content: undefined }] : [], len: baseLength }]
    this.length = baseLength
  }

  /** Moves the cursor to a leaf holding index `pos`: `start <= pos <= end`, or `< end` when `inside`. */
  #seek(pos: number, inside: boolean): void {
    const leaves = this.#leaves
    let i = this.#ci
    let s = this.#cs
    while (i > 0 && pos < s) s -= leaves[--i]!.len
    while (i + 1 < leaves.length && (pos > s + leaves[i]!.len || (inside && pos === s + leaves[i]!.len))) s += leaves[i++]!.len
    this.#ci = i
    this.#cs = s
  }

  insert(pos: number, c: C, n: number): void {
    if (pos > this.length) throw new RangeError(`insert at ${pos} is past the end (${this.length})`)
    this.#seek(pos, false)
    const leaf = this.#leaves[this.#ci]!
    const ps = leaf.pieces
    const o = pos - this.#cs
    let j = 0
    let off = 0
    for (; j < ps.length; j++) {
      const l = ps[j]!.kind === D ? 0 : ps[j]!.n
      if (o < off + l) break
      off += l
    }
    const piece: Piece<C> = { kind: I, n, content: c }
    if (o > off) {
      // Inside piece j: cut it in two around the new piece.
      const p = ps[j]!
      const k = o - off
      const right: Piece<C> = p.kind === R ? { kind: R, n: p.n - k, content: undefined } : { kind: I, n: p.n - k, content: this.#content.slice(p.content!, k, p.n) }
      if (p.kind === I) p.content = this.#content.slice(p.content!, 0, k)
      p.n = k
      ps.splice(j + 1, 0, piece, right)
    } else ps.splice(j, 0, piece)
    leaf.len += n
    this.length += n
    if (ps.length > 2 * B) this.#split()
  }

  delete(pos: number, count: number): void {
    if (pos + count > this.length) throw new RangeError(`delete of ${count} at ${pos} reaches past the end (${this.length})`)
    this.#seek(pos, true)
    const leaves = this.#leaves
    const first = this.#ci
    let i = first
    let o = pos - this.#cs
    let left = count
    while (left > 0) {
      const leaf = leaves[i]!
      const ps = leaf.pieces
      let off = 0
      for (let j = 0; j < ps.length && left > 0; j++) {
        const p = ps[j]!
        if (p.kind === D) continue
        if (o >= off + p.n) {
          off += p.n
          continue
        }
        // Piece j holds index o: take items [k, k + take) of it.
        const k = o - off
        const take = Math.min(p.n - k, left)
        const rest = p.n - k - take
        if (p.kind === R) {
          const cut: Piece<C>[] = [{ kind: D, n: take, content: undefined }]
          if (rest > 0) cut.push({ kind: R, n: rest, content: undefined })
          if (k > 0) p.n = k
          else ps.splice(j--, 1)
          ps.splice(j + 1, 0, ...cut)
          j += cut.length
        } else if (k === 0 && rest === 0) ps.splice(j--, 1)
        else {
          const c = p.content!
          if (rest === 0) p.content = this.#content.slice(c, 0, k)
          else if (k === 0) p.content = this.#content.slice(c, take, p.n)
          else {
            // `c` is still whole: slice both ends from it before replacing it.
            const tail = this.#content.slice(c, k + take, p.n)
            p.content = this.#content.slice(c, 0, k)
            ps.splice(j + 1, 0, { kind: I, n: rest, content: tail })
            j++
          }
          p.n = k > 0 ? k : rest
        }
        off += k
        leaf.len -= take
        left -= take
        // Pieces after the deleted items now start at index o.
      }
      normalize(ps)
      if (left > 0) {
        i++
        o = 0
      }
    }
    this.length -= count
    this.#tidy(first, i)
  }

  /** Splits the cursor's leaf in two halves. */
  #split(): void {
    const leaf = this.#leaves[this.#ci]!
    const tail = leaf.pieces.splice(leaf.pieces.length >> 1)
    // Sums the head: the tail may end in the unbounded retain (Infinity - Infinity is NaN).
    let len = 0
    for (const p of leaf.pieces) if (p.kind !== D) len += p.n
    const tailLen = leaf.len - len
    leaf.len = len
    this.#leaves.splice(this.#ci + 1, 0, { pieces: tail, len: tailLen })
  }

  /** After a delete over leaves `from..to`: drops emptied leaves and joins small neighbours. */
  #tidy(from: number, to: number): void {
    const leaves = this.#leaves
    // The cursor goes to the leaf before `from`: merges below keep its index and start.
    if (from > 0) {
      this.#ci = from - 1
      this.#cs -= leaves[from - 1]!.len
    } else {
      this.#ci = 0
      this.#cs = 0
    }
    let i = this.#ci
    let end = Math.min(leaves.length - 1, to + 1)
    while (i < end) {
      const a = leaves[i]!
      const b = leaves[i + 1]!
      if (a.pieces.length === 0 || b.pieces.length === 0 || a.pieces.length + b.pieces.length <= B) {
        for (const p of b.pieces) a.pieces.push(p)
        a.len += b.len
        normalize(a.pieces)
        leaves.splice(i + 1, 1)
        end--
      } else i++
    }
  }

  toDelta(): Delta<C> {
    const out: Delta<C> = []
    let retain = 0
    let parts: C[] = []
    let del = 0
    const flush = () => {
      if (parts.length === 0 && del === 0) return
      if (retain > 0) out.push({ retain })
      retain = 0
      if (parts.length > 0) out.push({ insert: join(parts, this.#content) })
      if (del > 0) out.push({ delete: del })
      parts = []
      del = 0
    }
    for (const leaf of this.#leaves) {
      for (const p of leaf.pieces) {
        if (p.kind === R) {
          flush()
          retain += p.n
        } else if (p.kind === I) parts.push(p.content!)
        else del += p.n
      }
    }
    flush()
    return out
  }
}

/** Merges adjacent pieces that keep or drop base items, and drops empty pieces, in place. */
function normalize<C>(ps: Piece<C>[]): void {
  let w = 0
  for (let r = 0; r < ps.length; r++) {
    const p = ps[r]!
    if (p.n === 0) continue
    const prev = w > 0 ? ps[w - 1]! : undefined
    if (prev !== undefined && prev.kind === p.kind && p.kind !== I) prev.n += p.n
    else ps[w++] = p
  }
  ps.length = w
}

/** Joins content runs into one new value, pairwise so that array concatenation stays O(n log k). */
function join<C>(parts: C[], content: DeltaContent<C>): C {
  // Copies first: `append` may reuse its first argument, and the result must not share arrays with the edits.
  let level = parts.map((c) => content.slice(c, 0, content.length(c)))
  while (level.length > 1) {
    const next: C[] = []
    for (let i = 0; i + 1 < level.length; i += 2) next.push(content.append(level[i]!, level[i + 1]!))
    if (level.length % 2 === 1) next.push(level[level.length - 1]!)
    level = next
  }
  return level[0]!
}
