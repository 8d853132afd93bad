import { HearsayError, ErrorCodes } from './errors.js'
import type { Replicated } from './Replicated.js'

/** What a store can do; suites and nodes read this instead of probing for methods. */
export interface StoreCapabilities {
  /** Data survives a process restart. */
  readonly persistent: boolean
  /** `compact()` really replaces history by a snapshot. */
  readonly compaction: boolean
}

/** One object's batch to append: encoded ranges as produced by `Replicated.encodeRanges`. */
export interface StoreEntry {
  readonly objectId: string
  readonly typeId: number
  readonly data: Uint8Array
}

/** What a store holds for one object: an optional snapshot (`encodeState`) and the batches appended after it, in order. */
export interface StoredObject {
  readonly objectId: string
  readonly typeId: number
  readonly snapshot: Uint8Array | undefined
  readonly batches: readonly Uint8Array[]
}

/**
 * Durable storage for a node's replicas and metadata. Implementations: {@link MemoryStore}
 * here, the LevelDB store in `@hearsay/adapters/level`. Every implementation passes the store
 * conformance suite in `@hearsay/core/testing`.
 */
export interface Store {
  readonly capabilities: StoreCapabilities
  /** Opens the store; other methods throw `HEARSAY_NOT_OPEN` before it resolves or after close. */
  open(): Promise<void>
  close(): Promise<void>
  /** Appends batches for one or more objects atomically: all or none. Durable once it resolves. */
  append(entries: readonly StoreEntry[]): Promise<void>
  /** An object's snapshot and later batches, or undefined if unknown. */
  load(objectId: string): Promise<StoredObject | undefined>
  /** Every object held, sorted by id. */
  list(): Promise<Array<{ objectId: string; typeId: number }>>
  /** Replaces every batch appended before this call, and any older snapshot, with `snapshot`, atomically. Batches appended after the call are kept. */
  compact(objectId: string, typeId: number, snapshot: Uint8Array): Promise<void>
  /** Node metadata (node id, last digest seen from each peer, ...). */
  getMeta(key: string): Promise<Uint8Array | undefined>
  putMeta(key: string, value: Uint8Array): Promise<void>
}

interface MemObject {
  typeId: number
  snapshot: Uint8Array | undefined
  batches: Uint8Array[]
}

/** A store in memory: the reference implementation and the default for tests. Not persistent. */
export class MemoryStore implements Store {
  readonly capabilities: StoreCapabilities = { persistent: false, compaction: true }
  #open = false
  readonly #objects = new Map<string, MemObject>()
  readonly #meta = new Map<string, Uint8Array>()

  async open(): Promise<void> {
    this.#open = true
  }

  async close(): Promise<void> {
    this.#open = false
  }

  #check(): void {
    if (!this.#open) throw new HearsayError(ErrorCodes.NOT_OPEN, 'memory store is not open')
  }

  async append(entries: readonly StoreEntry[]): Promise<void> {
    this.#check()
    for (const e of entries) {
      const o = this.#objects.get(e.objectId)
      if (o !== undefined && o.typeId !== e.typeId) throw new HearsayError(ErrorCodes.TYPE_MISMATCH, `object ${e.objectId} is type ${o.typeId}, not ${e.typeId}`)
    }
    for (const e of entries) {
      let o = this.#objects.get(e.objectId)
      if (o === undefined) this.#objects.set(e.objectId, (o = { typeId: e.typeId, snapshot: undefined, batches: [] }))
      o.batches.push(e.data.slice())
    }
  }

  async load(objectId: string): Promise<StoredObject | undefined> {
    this.#check()
    const o = this.#objects.get(objectId)
    return o && { objectId, typeId: o.typeId, snapshot: o.snapshot, batches: [...o.batches] }
  }

  async list(): Promise<Array<{ objectId: string; typeId: number }>> {
    this.#check()
    return [...this.#objects].map(([objectId, o]) => ({ objectId, typeId: o.typeId })).sort((a, b) => (a.objectId < b.objectId ? -1 : a.objectId > b.objectId ? 1 : 0))
  }

  async compact(objectId: string, typeId: number, snapshot: Uint8Array): Promise<void> {
    this.#check()
    const o = this.#objects.get(objectId)
    if (o !== undefined && o.typeId !== typeId) throw new HearsayError(ErrorCodes.TYPE_MISMATCH, `object ${objectId} is type ${o.typeId}, not ${typeId}`)
    this.#objects.set(objectId, { typeId, snapshot: snapshot.slice(), batches: [] })
  }

  async getMeta(key: string): Promise<Uint8Array | undefined> {
    this.#check()
    return this.#meta.get(key)?.slice()
  }

  async putMeta(key: string, value: Uint8Array): Promise<void> {
    this.#check()
    this.#meta.set(key, value.slice())
  }
}

/** The size of what {@link restoreObject} read: the batches after the snapshot, and the snapshot. */
export interface RestoredSize {
  readonly batches: number
  /** Bytes of those batches. */
  readonly bytes: number
  /** Bytes of the snapshot (0 when none). */
  readonly snapshotBytes: number
}

/**
 * Loads what a store holds for one object into a replica: the snapshot, then every batch in
 * order (applied with origin `'store'`).
 * @returns what was read (for a compaction policy), or undefined when the store does not know the object.
 * @throws HearsayError `HEARSAY_TYPE_MISMATCH` when the object is stored under another type, or what decoding throws.
 */
export async function restoreObject(store: Store, objectId: string, replica: Replicated<any>): Promise<RestoredSize | undefined> {
  const stored = await store.load(objectId)
  if (stored === undefined) return undefined
  if (stored.typeId !== replica.typeId) throw new HearsayError(ErrorCodes.TYPE_MISMATCH, `stored object ${objectId} is type ${stored.typeId}, not ${replica.typeName}`)
  if (stored.snapshot !== undefined) replica.applyState(stored.snapshot)
  let bytes = 0
  for (const b of stored.batches) {
    bytes += b.length
    replica.applyRanges(replica.decodeRanges(b), 'store')
  }
  return { batches: stored.batches.length, bytes, snapshotBytes: stored.snapshot?.length ?? 0 }
}

/**
 * Loads what a store holds for one object into a replica, as {@link restoreObject} does.
 * @returns false when the store does not know the object.
 */
export async function restoreReplica(store: Store, objectId: string, replica: Replicated<any>): Promise<boolean> {
  return (await restoreObject(store, objectId, replica)) !== undefined
}
