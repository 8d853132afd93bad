import type { Value } from '@hearsay/core'
import type { Doc } from './Doc.js'
import type { Row, RowHost } from './Row.js'
import { RowSet, isRow, type QueryValue, type RowSetEvents } from './RowSet.js'
import { sortKeyBetween, sortTag } from './sortKey.js'

/** The field that orders a {@link Seq}'s rows (as in `crdt`). */
export const SORT_FIELD = '_sort'

type Item = Row | string | { id?: string; [key: string]: Value | undefined }

function sortOf(row: Row): string {
  const s = row.get(SORT_FIELD)
  return typeof s === 'string' ? s : ''
}

function compareRows(a: Row, b: Row): number {
  const sa = sortOf(a)
  const sb = sortOf(b)
  if (sa !== sb) return sa < sb ? -1 : 1
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

/** What a {@link Seq} emits. */
export interface SeqEvents extends RowSetEvents {
  /** A member's position changed. */
  move: (row: Row) => void
}

/**
 * A live ordered query over a {@link Doc}: the rows whose field `key` equals `value`, ordered by
 * their `_sort` field (a fractional key; ties, from concurrent inserts at one place, are broken
 * by row id). Created by `doc.createSeq(key, value)`. Every replica orders the same rows the
 * same way. Putting a row into a Seq sets its `key` field and its `_sort` in one atomic update,
 * so a row moved into another Seq leaves the first everywhere at once.
 *
 * Events: `add` (Row), `remove` (Row), `move` (Row) when a member's position changes, and
 * `changes` (Row, changed).
 *
 * @example
 * ```ts
 * const todo = doc.createSeq('list', 'todo')
 * const a = todo.push({ text: 'a' })
 * const b = todo.unshift({ text: 'b' })   // b, a
 * todo.after(b, a)                        // a, b
 * ```
 */
export class Seq extends RowSet<SeqEvents> {
  #array: Row[] = []
  readonly #tag: string

  /** Made by `doc.createSeq()`; do not construct directly. */
  constructor(doc: Doc, key: string, value: QueryValue, host: RowHost) {
    super(doc, key, value)
    this.#tag = sortTag(host.replicaId)
    this.populate()
  }

  /** The members in order. */
  override asArray(): Row[] {
    return this.#array.slice()
  }

  /** Number of members. */
  get length(): number {
    return this.#array.length
  }

  /** The member at index `i` (negative counts from the end), or undefined. */
  at(i: number): Row | undefined {
    return this.#array.at(i)
  }

  /** The index of a member (by Row or id), or -1. */
  indexOf(row: Row | string): number {
    const r = this.get(typeof row === 'string' ? row : row.id)
    if (r === undefined) return -1
    return this.#find(r)
  }

  /** The first member, or undefined. */
  first(): Row | undefined {
    return this.#array[0]
  }

  /** The last member, or undefined. */
  last(): Row | undefined {
    return this.#array[this.#array.length - 1]
  }

  /**
   * Puts `item` (a Row, a row id, or an object for a new row) between `prev` and `next`
   * (members; undefined means the start or the end) and returns its Row.
   * @throws TypeError for an unknown row id or a non-replicable field value.
   * @throws RangeError when `prev` or `next` is not a member.
   */
  insert(item: Item, prev?: Row | string, next?: Row | string): Row {
    const p = this.#member(prev, 'prev')
    const n = this.#member(next, 'next')
    return this.#put(item, p, n)
  }

  /** Appends `item` at the end; returns its Row. */
  push(item: Item): Row {
    const self = this.#resolve(item)
    return this.#put(item, this.#neighbour(this.#array.length - 1, -1, self), undefined)
  }

  /** Puts `item` at the start; returns its Row. */
  unshift(item: Item): Row {
    const self = this.#resolve(item)
    return this.#put(item, undefined, this.#neighbour(0, 1, self))
  }

  /** Puts `item` just before the member `ref`; returns its Row. @throws RangeError when `ref` is not a member. */
  before(item: Item, ref: Row | string): Row {
    const r = this.#member(ref, 'ref')!
    const self = this.#resolve(item)
    if (self === r) return r
    return this.#put(item, this.#neighbour(this.#find(r) - 1, -1, self), r)
  }

  /** Puts `item` just after the member `ref`; returns its Row. @throws RangeError when `ref` is not a member. */
  after(item: Item, ref: Row | string): Row {
    const r = this.#member(ref, 'ref')!
    const self = this.#resolve(item)
    if (self === r) return r
    return this.#put(item, r, this.#neighbour(this.#find(r) + 1, 1, self))
  }

  /** Removes and returns the last member (its field is set to null), or undefined. */
  pop(): Row | undefined {
    const r = this.last()
    if (r !== undefined) this.remove(r)
    return r
  }

  /** Removes and returns the first member, or undefined. */
  shift(): Row | undefined {
    const r = this.first()
    if (r !== undefined) this.remove(r)
    return r
  }

  /** The members as plain data, in order. */
  override toJSON(): unknown[] {
    return this.#array.map((r) => r.toJSON())
  }

  #resolve(item: Item): Row | undefined {
    if (typeof item === 'string') return this.doc.get(item)
    return isRow(item) ? item : undefined
  }

  #member(ref: Row | string | undefined, name: string): Row | undefined {
    if (ref === undefined) return undefined
    const r = this.get(typeof ref === 'string' ? ref : ref.id)
    if (r === undefined) throw new RangeError(`${name} is not a member of this Seq`)
    return r
  }

  // The nearest member from index i walking by step, skipping the row being placed.
  #neighbour(i: number, step: number, skip: Row | undefined): Row | undefined {
    while (i >= 0 && i < this.#array.length && this.#array[i] === skip) i += step
    return this.#array[i]
  }

  #put(item: Item, prev: Row | undefined, next: Row | undefined): Row {
    const lo = prev === undefined ? '' : sortOf(prev)
    let hi = next === undefined ? undefined : sortOf(next)
    if (hi !== undefined && hi <= lo) {
      // Equal keys from concurrent inserts: aim below the first strictly greater key instead.
      hi = undefined
      for (const r of this.#array) {
        const s = sortOf(r)
        if (s > lo) {
          hi = s
          break
        }
      }
    }
    const key = sortKeyBetween(lo, hi, this.#tag)
    if (typeof item === 'string') {
      const row = this.doc.get(item)
      if (row === undefined) throw new TypeError(`no row has id ${JSON.stringify(item)}`)
      return row.set({ [this.key]: this.value, [SORT_FIELD]: key })
    }
    if (isRow(item)) return item.set({ [this.key]: this.value, [SORT_FIELD]: key })
    return this.doc.add({ ...item, [this.key]: this.value, [SORT_FIELD]: key })
  }

  #find(row: Row): number {
    // Binary search by (sort, id); members are unique by id.
    let lo = 0
    let hi = this.#array.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      const c = compareRows(this.#array[mid]!, row)
      if (c === 0) return this.#array[mid] === row ? mid : this.#array.indexOf(row)
      if (c < 0) lo = mid + 1
      else hi = mid - 1
    }
    return this.#array.indexOf(row)
  }

  #place(row: Row): void {
    let lo = 0
    let hi = this.#array.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compareRows(this.#array[mid]!, row) < 0) lo = mid + 1
      else hi = mid
    }
    this.#array.splice(lo, 0, row)
  }

  protected override enter(row: Row): void {
    this.#place(row)
    super.enter(row)
  }

  protected override leave(row: Row): void {
    const i = this.#array.indexOf(row)
    if (i >= 0) this.#array.splice(i, 1)
    super.leave(row)
  }

  protected override refresh(row: Row, changed: Record<string, Value | undefined>): void {
    if (this.has(row) && SORT_FIELD in changed && row.live && row.get(this.key) === this.value) {
      const i = this.#array.indexOf(row)
      this.#array.splice(i, 1)
      this.#place(row)
      this.emit('move', row)
    }
    super.refresh(row, changed)
  }
}
