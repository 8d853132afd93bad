import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import {
  utf8Length,
  DocTypeId,
  Replicated,
  isNewer,
  type ReplicatedEvents,
  assertValue,
  packValue,
  readBoundedString,
  readCount,
  registerType,
  type ReplicatedOptions,
  type Update,
  type Value,
  readValue,
} from '@hearsay/core'
import { Row, type RowData, type RowHost } from './Row.js'
import { RowSet, type QueryValue } from './RowSet.js'
import { Seq } from './Seq.js'
import { MAX_KEY_BYTES, decodeError, freezeDecoded, freezeValue } from './values.js'

/**
 * One write to a {@link Doc}: set some fields of a row atomically (fields sorted by key), or
 * remove a row (every field older than the remove is gone; a later set brings the row back).
 */
export type DocOp =
  | { readonly kind: 'set'; readonly id: string; readonly fields: ReadonlyArray<readonly [string, Value]> }
  | { readonly kind: 'rm'; readonly id: string }

/** Options of a {@link Doc}. */
export type DocOptions = ReplicatedOptions

interface FieldState {
  readonly value: Value
  readonly u: Update<DocOp>
}

interface RowState {
  readonly row: Row
  readonly fields: Map<string, FieldState>
  // The latest op on the row, set or rm: the row is live when it is a set.
  alive: Update<DocOp> | undefined
  // The latest remove: it beats every field set older than it, even ones that arrive later.
  rm: Update<DocOp> | undefined
}

const SET = 0
const RM = 1

function checkKey(key: string, what: string): void {
  if (typeof key !== 'string') throw new TypeError(`${what} is a string, got ${typeof key}`)
  if (key === '__proto__') throw new TypeError(`"__proto__" cannot be a ${what}`)
  if (key.length > MAX_KEY_BYTES / 3 && utf8Length(key) > MAX_KEY_BYTES) throw new RangeError(`${what} is longer than ${MAX_KEY_BYTES} bytes`)
}

/** What a {@link Doc} emits, besides the base events. */
export interface DocEvents extends ReplicatedEvents<DocOp> {
  /** A row appeared (or came back). */
  create: (row: Row) => void
  /** The same as `create`. */
  add: (row: Row) => void
  /** A row changed: `changed` holds the fields whose value changed (`undefined`: the row lost the field). */
  row_update: (row: Row, changed: Record<string, Value | undefined>) => void
  /** A row was removed. */
  remove: (row: Row) => void
}

/**
 * A replicated document of rows: the model of dominictarr's `crdt` package. Each row has an id
 * and fields; each field is last-writer-wins by `(hybrid time, source)`, and `row.set({...})`
 * changes several fields in one atomic update. Live queries over the rows:
 * {@link createSet} (rows whose field equals a value) and {@link createSeq} (the same rows in
 * an order you control with `push`, `before`, `after`...). Setting a row's field moves it
 * between the queries: `done.push(row)` takes it out of `todo`.
 *
 * Guarantees: every replica that saw the same updates holds the same rows with the same fields
 * and orders every Seq the same way. `rm(id)` removes the row and every field written before
 * the remove (even a concurrent one that arrives later); a field set after the remove brings
 * the row back with that field. History keeps only updates that still win a field, the latest
 * set of each row and the latest remove, so a row edited a million times syncs a few updates.
 *
 * Events: `create` (Row) when a row appears (alias `add`), `row_update` (Row, changed) after
 * every change of a row, `remove` (Row) when a row is removed; rows emit `change` and `removed`.
 *
 * @example
 * ```ts
 * const doc = new Doc({ id: 'laptop' })
 * const todo = doc.createSeq('list', 'todo')
 * const done = doc.createSeq('list', 'done')
 * const beer = todo.push({ text: 'beer' })
 * const meet = todo.push({ text: 'meet' })
 * todo.before(meet, beer)   // meet first
 * done.push(meet)           // meet leaves todo
 * ```
 */
export class Doc extends Replicated<DocOp, Record<string, RowData>, DocEvents> {
  readonly #rows = new Map<string, RowState>()
  readonly #queries = new Map<string, RowSet>()
  readonly #host: RowHost

  /** @throws TypeError on bad options. */
  constructor(options: DocOptions = {}) {
    super(options)
    const doc = this
    this.#host = {
      get replicaId() {
        return doc.id
      },
      fieldOf: (id, key) => doc.#rows.get(id)?.fields.get(key)?.value,
      fieldsOf: (id) => doc.#fieldsOf(id),
      isLive: (id) => doc.#isLive(doc.#rows.get(id)),
      write: (id, fields) => doc.set(id, fields),
    }
  }

  /**
   * Adds a row from an object: its `id` (a fresh one when absent) and fields. When a row with
   * that id exists, the fields are set on it. Returns the Row.
   * @throws TypeError for a non-string id, `__proto__`, or a field value that is not replicable.
   */
  add(initial: { id?: string; [key: string]: Value | undefined } = {}): Row {
    if (initial === null || typeof initial !== 'object') throw new TypeError('doc.add takes an object of fields')
    const { id, ...fields } = initial
    const rowId = id === undefined ? this.#freshId() : id
    checkKey(rowId, 'row id')
    return this.set(rowId, fields as Record<string, Value>)
  }

  /**
   * Sets fields of row `id` in one atomic update (creating the row, or bringing a removed one
   * back); returns the Row.
   * @throws TypeError for the field `id`, `__proto__`, an undefined or non-replicable value.
   */
  set(id: string, fields: Record<string, Value>): Row {
    checkKey(id, 'row id')
    if (fields === null || typeof fields !== 'object') throw new TypeError('fields are an object')
    const keys = Object.keys(fields).sort()
    const list: Array<readonly [string, Value]> = []
    for (const k of keys) {
      if (k === 'id') {
        if (fields[k] === id) continue
        throw new TypeError(`a row's id cannot be changed (row ${JSON.stringify(id)})`)
      }
      checkKey(k, 'field name')
      const v = fields[k]
      assertValue(v, `field ${JSON.stringify(k)}`)
      list.push([k, freezeValue(v)])
    }
    this.commit({ kind: 'set', id, fields: list })
    return this.#rows.get(id)!.row
  }

  /** The live row with this id, or undefined. */
  get(id: string): Row | undefined {
    const st = this.#rows.get(id)
    return st !== undefined && this.#isLive(st) ? st.row : undefined
  }

  /** True when a live row has this id. */
  has(id: string): boolean {
    return this.#isLive(this.#rows.get(id))
  }

  /**
   * Removes the row; returns false (writing nothing) when no live row has this id.
   * @throws TypeError when `id` is not a string.
   */
  rm(id: string | Row): boolean {
    const rid = id instanceof Row ? id.id : id
    checkKey(rid, 'row id')
    if (!this.#isLive(this.#rows.get(rid))) return false
    this.commit({ kind: 'rm', id: rid })
    return true
  }

  /** Every live row, in the order this replica first saw them. */
  *rows(): IterableIterator<Row> {
    for (const st of this.#rows.values()) if (this.#isLive(st)) yield st.row
  }

  /** Number of live rows. */
  get size(): number {
    let n = 0
    for (const st of this.#rows.values()) if (this.#isLive(st)) n++
    return n
  }

  /**
   * A live query: the rows whose field `key` equals `value` (`===`). One RowSet per (key,
   * value): asking twice returns the same object.
   * @throws TypeError when `key` is not a usable field name or `value` is not a string, number, boolean or null.
   */
  createSet(key: string, value: QueryValue): RowSet {
    return this.#query(key, value, false)
  }

  /**
   * A live ordered query: the rows whose field `key` equals `value`, ordered by their `_sort`
   * field (then id). Returns the same Seq when asked twice.
   * @throws TypeError when `key` is not a usable field name, `value` not a primitive, or a RowSet was created for this (key, value).
   */
  createSeq(key: string, value: QueryValue): Seq {
    return this.#query(key, value, true) as Seq
  }

  #query(key: string, value: QueryValue, seq: boolean): RowSet {
    checkKey(key, 'field name')
    if (key === 'id') throw new TypeError('query a field other than id; use doc.get(id) for one row')
    if (value !== null && typeof value !== 'string' && typeof value !== 'boolean' && (typeof value !== 'number' || !Number.isFinite(value))) {
      throw new TypeError('a query value is a string, a finite number, a boolean or null')
    }
    const qk = `${key}\u0000${typeof value}\u0000${String(value)}`
    const existing = this.#queries.get(qk)
    if (existing !== undefined) {
      if (seq && !(existing instanceof Seq)) throw new TypeError(`a RowSet already watches ${key} = ${String(value)}; create the Seq first`)
      return existing
    }
    const q = seq ? new Seq(this, key, value, this.#host) : new RowSet(this, key, value)
    this.#queries.set(qk, q)
    return q
  }

  /** Every live row as plain data, ids and fields in code-unit order. */
  toJSON(): Record<string, RowData> {
    const ids = [...this.#rows.keys()].sort()
    const out: Record<string, RowData> = {}
    for (const id of ids) {
      const st = this.#rows.get(id)!
      if (this.#isLive(st)) out[id] = { id, ...this.#fieldsOf(id) } as RowData
    }
    return out
  }

  /** Number of updates history keeps; for tests and status output. */
  get historySize(): number {
    return this.#kept().size
  }

  #freshId(): string {
    // The seq of the update about to be written is never reused by this replica, so the id is unique.
    return `${this.id}.${this.clock.get(this.id) + 1}`
  }

  #isLive(st: RowState | undefined): boolean {
    return st !== undefined && st.alive !== undefined && st.alive.op.kind === 'set'
  }

  #fieldsOf(id: string): Record<string, Value> {
    const st = this.#rows.get(id)
    const out: Record<string, Value> = {}
    if (st === undefined) return out
    for (const k of [...st.fields.keys()].sort()) out[k] = st.fields.get(k)!.value
    return out
  }

  protected applyOp(u: Update<DocOp>): boolean {
    const op = u.op
    let st = this.#rows.get(op.id)
    if (st === undefined) {
      st = { row: new Row(op.id, this.#host), fields: new Map(), alive: undefined, rm: undefined }
      this.#rows.set(op.id, st)
    }
    const wasLive = this.#isLive(st)
    const changed: Record<string, Value | undefined> = {}
    let any = false
    if (op.kind === 'set') {
      for (const [k, v] of op.fields) {
        const cur = st.fields.get(k)
        if (cur !== undefined && !isNewer(u, cur.u)) continue
        if (st.rm !== undefined && !isNewer(u, st.rm)) continue
        st.fields.set(k, { value: v, u })
        changed[k] = v
        any = true
      }
    } else if (st.rm === undefined || isNewer(u, st.rm)) {
      st.rm = u
      for (const [k, f] of st.fields) {
        if (isNewer(u, f.u)) {
          st.fields.delete(k)
          changed[k] = undefined
          any = true
        }
      }
    }
    if (st.alive === undefined || isNewer(u, st.alive)) st.alive = u
    const live = this.#isLive(st)
    if (!any && live === wasLive) return false
    const row = st.row
    if (live && !wasLive) {
      this.emit('create', row)
      this.emit('add', row)
    }
    row.emit('change', changed)
    this.emit('row_update', row, changed)
    if (wasLive && !live) {
      row.emit('removed')
      this.emit('remove', row)
    }
    return true
  }

  protected history(): Iterable<Update<DocOp>> {
    return this.#kept()
  }

  // The updates history keeps: each row's latest op, latest remove and field winners.
  #kept(): Set<Update<DocOp>> {
    const kept = new Set<Update<DocOp>>()
    for (const st of this.#rows.values()) {
      if (st.alive !== undefined) kept.add(st.alive)
      if (st.rm !== undefined) kept.add(st.rm)
      for (const f of st.fields.values()) kept.add(f.u)
    }
    return kept
  }

  protected override writeOp(e: encoding.Encoder, op: DocOp): void {
    // Local writes build well-formed ops; this catches an op handed to applyRanges by hand.
    if ((op.kind !== 'set' && op.kind !== 'rm') || typeof op.id !== 'string' || (op.kind === 'set' && !(Array.isArray(op.fields) && op.fields.every((f) => Array.isArray(f) && typeof f[0] === 'string')))) {
      throw new TypeError('a Doc op is { kind: "set", id, fields: [[name, value], ...] } or { kind: "rm", id }')
    }
    encoding.writeUint8(e, op.kind === 'set' ? SET : RM)
    encoding.writeVarString(e, op.id)
    if (op.kind === 'rm') return
    encoding.writeVarUint(e, op.fields.length)
    for (const [k, v] of op.fields) {
      encoding.writeVarString(e, k)
      encoding.writeVarUint8Array(e, packValue(v))
    }
  }

  protected override readOp(d: decoding.Decoder): DocOp {
    if (d.pos >= d.arr.length) throw decodeError(d, 'unexpected end of data')
    const kind = decoding.readUint8(d)
    if (kind !== SET && kind !== RM) throw decodeError(d, `unknown Doc op kind ${kind}`)
    const id = readBoundedString(d, MAX_KEY_BYTES)
    if (id === '__proto__') throw decodeError(d, 'row id "__proto__" refused')
    if (kind === RM) return { kind: 'rm', id }
    const n = readCount(d, 2)
    const fields: Array<readonly [string, Value]> = new Array(n)
    let prev: string | undefined
    for (let i = 0; i < n; i++) {
      const k = readBoundedString(d, MAX_KEY_BYTES)
      if (k === 'id' || k === '__proto__') throw decodeError(d, `field name ${JSON.stringify(k)} refused`)
      if (prev !== undefined && k <= prev) throw decodeError(d, 'field names must be distinct and in order')
      fields[i] = [k, freezeDecoded(readValue(d))]
      prev = k
    }
    return { kind: 'set', id, fields }
  }
}

registerType(Doc, { typeId: DocTypeId, typeName: 'Doc' })
