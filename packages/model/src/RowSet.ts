import { Emitter, type Value } from '@hearsay/core'
import type { Doc } from './Doc.js'
import type { Row } from './Row.js'

/** A value a live query matches with `===`. */
export type QueryValue = string | number | boolean | null

/** What a {@link RowSet} emits; a {@link Seq} adds `move`. */
export interface RowSetEvents {
  /** A row entered the set. */
  add: (row: Row) => void
  /** A row left the set. */
  remove: (row: Row) => void
  /** A member row changed (`changed` as in the Doc's `row_update`). */
  changes: (row: Row, changed: Record<string, Value | undefined>) => void
}

/**
 * A live query over a {@link Doc}: the rows whose field `key` equals `value`. Created by
 * `doc.createSet(key, value)` (crdt's `Set`, renamed so it does not shadow the built-in `Set`).
 * It follows every local and remote change: a row enters when its field takes the value and
 * leaves when it changes or the row is removed.
 *
 * Events: `add` (Row) when a row enters, `remove` (Row) when it leaves, `changes` (Row,
 * changed) for every change of a member row.
 */
export class RowSet<E extends RowSetEvents = RowSetEvents> extends Emitter<E> {
  /** The field the query watches. */
  readonly key: string
  /** The value a member row's field equals. */
  readonly value: QueryValue
  /** The Doc queried. */
  readonly doc: Doc
  protected readonly members = new Map<string, Row>()

  // Emits through the base map: TypeScript cannot resolve a generic map's arguments here.
  get #base(): Emitter<RowSetEvents> {
    return this as unknown as Emitter<RowSetEvents>
  }

  /** Made by `doc.createSet()`; do not construct directly. */
  constructor(doc: Doc, key: string, value: QueryValue) {
    super()
    this.doc = doc
    this.key = key
    this.value = value
    // A subclass populates once its own fields exist.
    if (new.target === RowSet) this.populate()
  }

  /** Takes in the matching rows and starts following the Doc; called once by the constructor. */
  protected populate(): void {
    for (const row of this.doc.rows()) if (row.get(this.key) === this.value) this.enter(row)
    this.doc.on('row_update', (row: Row, changed: Record<string, Value | undefined>) => this.refresh(row, changed))
  }

  /** True when the row (or the row with this id) is a member. */
  has(row: Row | string): boolean {
    return this.members.has(typeof row === 'string' ? row : row.id)
  }

  /** The member with this id, or undefined. */
  get(id: string): Row | undefined {
    return this.members.get(id)
  }

  /** The members, in the order they entered. */
  asArray(): Row[] {
    return [...this.members.values()]
  }

  /** Number of members. */
  get size(): number {
    return this.members.size
  }

  /**
   * Adds a row (or a new row from an object) to the set by setting its field; returns the Row.
   * @throws TypeError when a field value is not replicable.
   */
  add(row: Row | { id?: string; [key: string]: Value | undefined }): Row {
    if (isRow(row)) return row.set(this.key, this.value)
    return this.doc.add({ ...row, [this.key]: this.value })
  }

  /** Takes a row out of the set by setting its field to null; returns whether it was a member. */
  remove(row: Row | string): boolean {
    const r = this.members.get(typeof row === 'string' ? row : row.id)
    if (r === undefined) return false
    r.set(this.key, null)
    return true
  }

  /** Calls `fn` for every member. */
  forEach(fn: (row: Row) => void): void {
    for (const r of this.members.values()) fn(r)
  }

  /** The members as plain data. */
  toJSON(): unknown[] {
    return this.asArray().map((r) => r.toJSON())
  }

  protected refresh(row: Row, changed: Record<string, Value | undefined>): void {
    const member = this.members.has(row.id)
    const match = row.live && row.get(this.key) === this.value
    if (match && !member) this.enter(row)
    else if (!match && member) this.leave(row)
    else if (match) this.#base.emit('changes', row, changed)
  }

  protected enter(row: Row): void {
    this.members.set(row.id, row)
    this.#base.emit('add', row)
  }

  protected leave(row: Row): void {
    this.members.delete(row.id)
    this.#base.emit('remove', row)
  }
}

/** True for a {@link Row} (duck-typed to avoid an import cycle at load). */
export function isRow(x: unknown): x is Row {
  return typeof x === 'object' && x !== null && typeof (x as Row).id === 'string' && typeof (x as Row).set === 'function' && typeof (x as Row).live === 'boolean'
}
