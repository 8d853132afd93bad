import { ListTypeId, assertValue, readValue, registerType, writeValue, type ReplicatedOptions, type Value } from '@hearsay/core'
import { SequenceBase } from './SequenceBase.js'
import type { ContentKind } from './SeqEngine.js'
import type { ContentCodec } from './ops.js'
import { listMoves } from './moves.js'
import type { Leaf } from './BlockTree.js'

const listKind: ContentKind<readonly Value[]> = {
  empty: () => [],
  length: (c) => c.length,
  slice: (c, s, e) => c.slice(s, e),
  append: (a, b) => a.concat(b),
  compact: () => {},
}

// All segments of an op travel as one msgpack array, cut by the segments' counts on reading.
const listCodec: ContentCodec<readonly Value[]> = {
  write: (e, cs) => writeValue(e, cs.length === 1 ? cs[0]! : cs.flat(1)),
  read: (d, counts) => {
    let total = 0
    for (const n of counts) total += n
    const v = readValue(d)
    if (!Array.isArray(v) || v.length !== total) throw new RangeError(`list content is not an array of ${total} values`)
    if (counts.length === 1) return [v]
    const out: Value[][] = new Array(counts.length)
    for (let i = 0, at = 0; i < counts.length; i++) {
      out[i] = v.slice(at, at + counts[i]!)
      at += counts[i]!
    }
    return out
  },
  length: (c) => c.length,
}

/** Options of a {@link List}. */
export type ListOptions = ReplicatedOptions

/**
 * A replicated list of plain values with move. Concurrent inserts at one place never interleave
 * (YjsMod/FugueMax ordering); a run of elements inserted by one source is stored as one block.
 * `move` gives each element a last-writer-wins position, so under concurrent moves an element
 * ends at exactly one place: never duplicated, never lost (a concurrent delete wins over moves).
 *
 * Events: `change` (delta, origin), with deltas over element arrays; plus the base events.
 *
 * @example
 * ```ts
 * const todo = new List<string>({ id: 'a' })
 * todo.push('milk', 'eggs', 'bread')
 * todo.move(2, 0)            // ['bread', 'milk', 'eggs']
 * const cursor = todo.idAt(1)
 * todo.indexOf(cursor)       // 1, and still points at 'milk' after remote edits
 * ```
 */
export class List<T extends Value = Value> extends SequenceBase<readonly Value[], T[], readonly T[]> {
  static override readonly typeId = ListTypeId
  static override readonly typeName = 'List'

  constructor(options: ListOptions = {}) {
    super(options, listKind, listCodec, listMoves)
  }

  /**
   * Inserts `values` at `index` (0..length) as one block.
   * @throws TypeError when a value would not replicate (see `Value`); RangeError when `index` is out of range.
   */
  insert(index: number, ...values: T[]): void {
    this.checkIndex(index, this.length)
    for (let i = 0; i < values.length; i++) assertValue(values[i], `values[${i}]`)
    if (values.length === 0) return
    const content = values.slice()
    this.checkInsertSize(content)
    this.commitLocal((me, seq) => this.engine.localInsert(me, seq, index, content))
  }

  /** Appends values at the end. @throws like {@link insert}. */
  push(...values: T[]): void {
    this.insert(this.length, ...values)
  }

  /** Inserts values at the start. @throws like {@link insert}. */
  unshift(...values: T[]): void {
    this.insert(0, ...values)
  }

  /** Deletes `count` elements from `index`. @throws RangeError when the range is out of bounds. */
  delete(index: number, count = 1): void {
    this.checkIndex(index, this.length)
    this.checkIndex(count, this.length - index, 'count')
    if (count === 0) return
    this.commitLocal((me, seq) => this.engine.localDelete(me, seq, this.engine.visibleRanges(index, count)))
  }

  /**
   * Moves the element at `from` so that it ends at index `to` (both in 0..length-1). Under
   * concurrent moves of one element the move with the greatest (time, source) wins.
   * @throws RangeError when an index is out of range.
   */
  move(from: number, to: number): void {
    this.checkIndex(from, this.length - 1, 'from')
    this.checkIndex(to, this.length - 1, 'to')
    if (from === to) return
    const time = this.hlc.now()
    this.commitLocal((me, seq) => this.engine.localMove(me, seq, time, from, to))
  }

  /** The element at `index`, or undefined when out of range. */
  get(index: number): T | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) return undefined
    const cur = this.engine.tree.findVisible(index)
    return cur.leaf.blocks[cur.i]!.content[cur.off] as T
  }

  /** The elements as a new array. */
  toArray(): T[] {
    // A plain loop over the leaves, as in Text.toString.
    const out: T[] = []
    for (let l: Leaf<readonly Value[]> | null = this.engine.tree.first; l !== null; l = l.next) {
      const bs = l.blocks
      for (let i = 0; i < bs.length; i++) if (bs[i]!.state === 0) for (const v of bs[i]!.content) out.push(v as T)
    }
    return out
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (const c of this.engine.visibleContent()) for (const v of c) yield v as T
  }

  toJSON(): T[] {
    return this.toArray()
  }
}

registerType(List)
