import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import {
  ORSetTypeId,
  Replicated,
  isNewer,
  type ReplicatedEvents,
  assertValue,
  isReplicaId,
  MAX_REPLICA_ID_LENGTH,
  packValue,
  readBoundedString,
  readCount,
  readSafeUint,
  registerType,
  type Dot,
  type ReplicaId,
  type ReplicatedOptions,
  type Update,
  type Value,
  readValue,
} from '@hearsay/core'
import { canonicalValue, decodeError, freezeDecoded, freezeValue, valueKey } from './values.js'

/**
 * One write to an {@link ORSet}: an add of `value` (its dot is the update's own `(source, seq)`),
 * or a remove of `value` listing the adds it observed, one dot per source (the latest add of
 * `value` from that source the remover had seen).
 */
export type ORSetOp =
  | { readonly kind: 'add'; readonly value: Value }
  | { readonly kind: 'remove'; readonly value: Value; readonly observed: readonly Dot[] }

/** Options of an {@link ORSet}. */
export type ORSetOptions = ReplicatedOptions

interface Element {
  readonly value: Value
  // source → that source's latest live add of this element. An add from a source subsumes
  // its earlier adds: any remove that observed the later one observed the earlier one too.
  readonly adds: Map<ReplicaId, Update<ORSetOp>>
}

const ADD = 0
const REMOVE = 1

/** What an {@link ORSet} emits, besides the base events. */
export interface ORSetEvents<T extends Value = Value> extends ReplicatedEvents<ORSetOp> {
  /** An element became present, local or remote. */
  add: (value: T) => void
  /** An element stopped being present. */
  delete: (value: T) => void
}

/**
 * A replicated observed-remove set where adds win: `add`, `delete`, `has`, `values()`, `size`.
 *
 * Semantics: each add is tagged with its dot `(source, seq)`; a remove deletes exactly the adds
 * it observed (for each source, its adds of the element up to the observed seq). An add
 * concurrent with a remove is not observed by it, so it survives: **add wins**. Re-adding an
 * element that is present writes a new add, so a concurrent remove cannot delete it.
 *
 * History and compaction: history keeps every live add (the latest per element and source) and
 * the removes no other remove dominates. An add that a remove deleted is left out (a replica
 * that never saw it ends in the same state, since the remove's dependency on it is satisfied by
 * the range covering its seq). A remove is left out only when a kept remove of the same element
 * observed every source it observed at the same or a later seq (so it deletes at least as much):
 * otherwise it stays, because a replica may still hold the adds it deletes. An element toggled
 * a million times by one replica keeps one remove. The observed dots travel as the remove's
 * dependencies, so a remove is applied only after the adds it observed.
 *
 * Elements are compared as data (object keys in code-unit order), like {@link GSet}.
 *
 * Events: `add` (value) when an element becomes present, `delete` (value) when it stops being
 * present; local or remote.
 *
 * @example
 * ```ts
 * const s = new ORSet<string>({ id: 'a' })
 * s.add('milk')
 * s.delete('milk') // true
 * ```
 */
export class ORSet<T extends Value = Value> extends Replicated<ORSetOp, T[], ORSetEvents<T>> {
  readonly #elements = new Map<string, Element>()
  // element key → the removes history keeps for it: those no other remove of it dominates.
  readonly #removes = new Map<string, Update<ORSetOp>[]>()
  #removeCount = 0

  /** @throws TypeError on bad options. */
  constructor(options: ORSetOptions = {}) {
    super(options)
  }

  /**
   * Adds `value` (a new add even when present, so it survives concurrent removes); returns this set.
   * @throws TypeError when `value` is not replicable.
   */
  add(value: T): this {
    assertValue(value)
    this.commit({ kind: 'add', value: freezeValue(canonicalValue(value)) })
    return this
  }

  /**
   * Removes `value`, deleting the adds this replica has seen; returns false (writing nothing)
   * when it is not present.
   * @throws TypeError when `value` is not replicable.
   */
  delete(value: T): boolean {
    assertValue(value)
    const c = canonicalValue(value)
    const el = this.#elements.get(valueKey(c))
    if (el === undefined) return false
    const observed: Dot[] = []
    for (const [source, u] of el.adds) observed.push({ source, seq: u.seq })
    observed.sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0))
    this.commit({ kind: 'remove', value: el.value, observed })
    return true
  }

  /** True when `value` is present. @throws TypeError when it is not replicable. */
  has(value: T): boolean {
    assertValue(value)
    return this.#elements.has(valueKey(canonicalValue(value)))
  }

  /** The present elements, in the order this replica first saw them. */
  *values(): IterableIterator<T> {
    for (const el of this.#elements.values()) yield el.value as T
  }

  /** Same as {@link values}. */
  [Symbol.iterator](): IterableIterator<T> {
    return this.values()
  }

  /** Number of present elements. */
  get size(): number {
    return this.#elements.size
  }

  /** The live adds of `value` as dots, sorted by source; for inspection and tests. */
  dotsOf(value: T): Dot[] {
    assertValue(value)
    const el = this.#elements.get(valueKey(canonicalValue(value)))
    if (el === undefined) return []
    return [...el.adds.values()].map((u) => ({ source: u.source, seq: u.seq })).sort((a, b) => (a.source < b.source ? -1 : 1))
  }

  /** Number of removes history keeps. */
  get removeCount(): number {
    return this.#removeCount
  }

  /** Present elements sorted by canonical encoding: equal on replicas with equal state. */
  toJSON(): T[] {
    return [...this.#elements.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map((e) => e[1].value as T)
  }

  protected override depsOf(u: Update<ORSetOp>): readonly Dot[] | undefined {
    return u.op.kind === 'remove' ? u.op.observed : undefined
  }

  protected applyOp(u: Update<ORSetOp>): boolean {
    const op = u.op
    if (op.kind === 'remove') {
      for (const d of op.observed) {
        if (d.source === u.source && d.seq >= u.seq) throw new Error(`remove ${u.source}:${u.seq} observes its own later add ${d.seq}`)
      }
    }
    const key = valueKey(op.value)
    let el = this.#elements.get(key)
    if (op.kind === 'add') {
      if (el === undefined) {
        el = { value: op.value, adds: new Map() }
        this.#elements.set(key, el)
        el.adds.set(u.source, u)
        this.emit('add', op.value as T)
        return true
      }
      const prev = el.adds.get(u.source)
      if (prev === undefined || prev.seq < u.seq) el.adds.set(u.source, u)
      return false
    }
    this.#keepRemove(key, u)
    if (el === undefined) return false
    for (const d of op.observed) {
      const a = el.adds.get(d.source)
      if (a !== undefined && a.seq <= d.seq) el.adds.delete(d.source)
    }
    if (el.adds.size > 0) return false
    this.#elements.delete(key)
    this.emit('delete', el.value as T)
    return true
  }

  // Keeps `r` unless another remove of the element dominates it, and drops the removes `r`
  // dominates: the kept set is the maximal removes, the same whatever order they arrived in.
  #keepRemove(key: string, r: Update<ORSetOp>): void {
    const list = this.#removes.get(key)
    if (list === undefined) {
      this.#removes.set(key, [r])
      this.#removeCount++
      return
    }
    for (const k of list) if (dominates(k, r)) return
    const kept = list.filter((k) => !dominates(r, k))
    kept.push(r)
    this.#removeCount += kept.length - list.length
    this.#removes.set(key, kept)
  }

  protected *history(): Iterable<Update<ORSetOp>> {
    for (const el of this.#elements.values()) yield* el.adds.values()
    for (const list of this.#removes.values()) yield* list
  }

  protected override writeOp(e: encoding.Encoder, op: ORSetOp): void {
    encoding.writeUint8(e, op.kind === 'add' ? ADD : REMOVE)
    encoding.writeVarUint8Array(e, packValue(op.value))
    if (op.kind === 'remove') {
      encoding.writeVarUint(e, op.observed.length)
      for (const d of op.observed) {
        encoding.writeVarString(e, d.source)
        encoding.writeVarUint(e, d.seq)
      }
    }
  }

  protected override readOp(d: decoding.Decoder): ORSetOp {
    if (d.pos >= d.arr.length) throw decodeError(d, 'unexpected end of data')
    const kind = decoding.readUint8(d)
    if (kind !== ADD && kind !== REMOVE) throw decodeError(d, `unknown ORSet op kind ${kind}`)
    const value = freezeDecoded(canonicalValue(readValue(d)))
    if (kind === ADD) return { kind: 'add', value }
    const n = readCount(d, 2)
    if (n === 0) throw decodeError(d, 'a remove observes at least one add')
    const observed: Dot[] = new Array(n)
    let prev = ''
    for (let i = 0; i < n; i++) {
      const source = readBoundedString(d, MAX_REPLICA_ID_LENGTH * 3)
      if (!isReplicaId(source) || (i > 0 && source <= prev)) throw decodeError(d, 'observed dots must have valid, distinct sources in order')
      const seq = readSafeUint(d)
      if (seq < 1) throw decodeError(d, 'observed seq below 1')
      observed[i] = { source, seq }
      prev = source
    }
    return { kind: 'remove', value, observed }
  }
}

/**
 * True when remove `a` makes remove `b` (of the same element) redundant: for every source `b`
 * observed, `a` observed that source at the same or a later seq, so every add `b` deletes, `a`
 * deletes too (and `a`'s dependencies cover `b`'s). Removes that observed exactly the same
 * dots are ordered by `(time, source, seq)` so exactly one of them is kept.
 */
function dominates(a: Update<ORSetOp>, b: Update<ORSetOp>): boolean {
  const oa = (a.op as { observed: readonly Dot[] }).observed
  const ob = (b.op as { observed: readonly Dot[] }).observed
  let same = oa.length === ob.length
  for (const d of ob) {
    let found: Dot | undefined
    for (const e of oa) {
      if (e.source === d.source) {
        found = e
        break
      }
    }
    if (found === undefined || found.seq < d.seq) return false
    if (found.seq !== d.seq) same = false
  }
  return !same || isNewer(a, b)
}

registerType(ORSet, { typeId: ORSetTypeId, typeName: 'ORSet' })
