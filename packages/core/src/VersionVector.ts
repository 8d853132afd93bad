import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { HearsayError, ErrorCodes } from './errors.js'
import { isReplicaId, type ReplicaId } from './ids.js'
import { readCount, readSafeUint } from './encoding.js'

/** How two version vectors relate. `concurrent` is never collapsed into a boolean. */
export type Comparison = 'before' | 'after' | 'equal' | 'concurrent'

/** One update's identity: the source that wrote it and its sequence number there. */
export interface Dot {
  readonly source: ReplicaId
  readonly seq: number
}

/** The read-only view of a {@link VersionVector} that replicas hand out. */
export interface ReadonlyVersionVector {
  /** Highest seq of `source` covered; 0 when none. */
  get(source: string): number
  /** True when the vector covers `dot` (`get(dot.source) >= dot.seq`). */
  covers(dot: Dot): boolean
  /** How this vector relates to `other`. */
  compare(other: ReadonlyVersionVector): Comparison
  /** Entries sorted by source (code-unit order), zero entries omitted. */
  entries(): Array<[ReplicaId, number]>
  /** Number of sources with a non-zero entry. */
  readonly size: number
  /** Sum of all entries: how many seqs the vector covers in total. */
  total(): number
  /** A mutable copy. */
  clone(): VersionVector
  /** Sorted plain object, for logs and JSON. */
  toJSON(): Record<string, number>
}

/**
 * A version vector (also called clock or digest): source → highest seq covered.
 * Entries of 0 are not stored, so equal vectors always hold equal entries and
 * encode to equal bytes.
 */
export class VersionVector implements ReadonlyVersionVector {
  #map = new Map<ReplicaId, number>()

  constructor(entries?: Iterable<readonly [string, number]> | Record<string, number>) {
    if (entries === undefined) return
    const it = Symbol.iterator in (entries as object) ? (entries as Iterable<readonly [string, number]>) : Object.entries(entries)
    for (const [s, n] of it) this.set(s, n)
  }

  get(source: string): number {
    return this.#map.get(source as ReplicaId) ?? 0
  }

  /** Sets an entry; 0 removes it. @throws RangeError on a negative or unsafe seq. */
  set(source: string, seq: number): void {
    if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`a seq is a safe non-negative integer, got ${seq}`)
    if (seq === 0) this.#map.delete(source as ReplicaId)
    else this.#map.set(source as ReplicaId, seq)
  }

  /** Raises an entry to `seq` if it is lower; returns true when it changed. */
  advance(source: string, seq: number): boolean {
    if (seq <= this.get(source)) return false
    this.#map.set(source as ReplicaId, seq)
    return true
  }

  /** Pointwise maximum with `other`, in place. */
  merge(other: ReadonlyVersionVector): this {
    for (const [s, n] of other.entries()) this.advance(s, n)
    return this
  }

  covers(dot: Dot): boolean {
    return this.get(dot.source) >= dot.seq
  }

  compare(other: ReadonlyVersionVector): Comparison {
    let less = false
    let more = false
    for (const [s, n] of this.#map) {
      const m = other.get(s)
      if (n > m) more = true
      else if (n < m) less = true
    }
    for (const [s, m] of other.entries()) {
      if (!this.#map.has(s) && m > 0) less = true
    }
    if (less && more) return 'concurrent'
    if (less) return 'before'
    if (more) return 'after'
    return 'equal'
  }

  entries(): Array<[ReplicaId, number]> {
    return [...this.#map].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  }

  /** Sources with a non-zero entry, unsorted. */
  sources(): IterableIterator<ReplicaId> {
    return this.#map.keys()
  }

  get size(): number {
    return this.#map.size
  }

  total(): number {
    let t = 0
    for (const n of this.#map.values()) t += n
    return t
  }

  clone(): VersionVector {
    const v = new VersionVector()
    for (const [s, n] of this.#map) v.#map.set(s, n)
    return v
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.entries())
  }
}

/** Writes `v` canonically: count, then (source, seq) pairs sorted by source. */
export function writeVersionVector(encoder: encoding.Encoder, v: ReadonlyVersionVector): void {
  const entries = v.entries()
  encoding.writeVarUint(encoder, entries.length)
  for (const [s, n] of entries) {
    encoding.writeVarString(encoder, s)
    encoding.writeVarUint(encoder, n)
  }
}

/** Reads what {@link writeVersionVector} wrote, checking every id and seq. */
export function readVersionVector(decoder: decoding.Decoder): VersionVector {
  const n = readCount(decoder, 2)
  const v = new VersionVector()
  for (let i = 0; i < n; i++) {
    const at = decoder.pos
    const s = decoding.readVarString(decoder)
    if (!isReplicaId(s)) throw new HearsayError(ErrorCodes.DECODE_ERROR, 'bad replica id in version vector', { offset: at })
    const seq = readSafeUint(decoder)
    if (seq > 0) v.set(s, seq)
  }
  return v
}

/** `v` as bytes; equal vectors give equal bytes. */
export function encodeVersionVector(v: ReadonlyVersionVector): Uint8Array {
  const e = encoding.createEncoder()
  writeVersionVector(e, v)
  return encoding.toUint8Array(e)
}
