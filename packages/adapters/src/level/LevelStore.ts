import type { AbstractLevel } from 'abstract-level'
import { HearsayError, ErrorCodes, type Store, type StoreCapabilities, type StoreEntry, type StoredObject } from '@hearsay/core'
import {
  LAYOUT_VERSION,
  batchKey,
  batchOfKey,
  batchesStart,
  dataEnd,
  dataStart,
  decodeObjectRecord,
  decodeSnapshotRecord,
  encodeHeader,
  encodeObjectRecord,
  encodeSnapshotRecord,
  headerKey,
  isSnapshotKey,
  metaKey,
  objectIdOfKey,
  objectKey,
  objectsEnd,
  objectsStart,
  snapshotKey,
} from './keys.js'
import { classifyLevelError } from './levelErrors.js'

/** Any abstract-level database (classic-level, memory-level, browser-level, a sublevel...). */
export type AnyLevel = AbstractLevel<any, any, any>

/** Options of {@link LevelStore}. */
export interface LevelStoreOptions {
  /**
   * Flush every write to disk before it resolves (LevelDB `sync: true`). Default true: an
   * append is durable once its promise resolves, so a replica never reuses a seq after a crash.
   * Concurrent appends share one synced batch (group commit), so this costs little throughput.
   */
  sync?: boolean
  /** Override the `persistent` capability (default: true for a directory, else the database's `supports.permanence`). */
  persistent?: boolean
  /** Soft cap on the bytes one group commit writes (default 8 MiB); one append is never split. */
  maxBatchBytes?: number
}

interface ObjectInfo {
  readonly objectId: string
  readonly handle: number
  readonly typeId: number
  /** The object record is on disk. */
  persisted: boolean
}

type Job =
  | { kind: 'append'; entries: Array<{ info: ObjectInfo; data: Uint8Array }>; bytes: number; resolve: () => void; reject: (e: unknown) => void }
  | { kind: 'compact'; info: ObjectInfo; snapshot: Uint8Array; bytes: number; resolve: () => void; reject: (e: unknown) => void }
  | { kind: 'meta'; key: string; value: Uint8Array; bytes: number; resolve: () => void; reject: (e: unknown) => void }

type BatchOp = { type: 'put'; key: Uint8Array; value: Uint8Array }

const VIEW = { keyEncoding: 'view', valueEncoding: 'view' } as const
const HANDLE_LIMIT = 0xffff_ffff

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

// No Buffer here: the store also runs in browsers (browser-level).
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}


/**
 * A hearsay {@link Store} over any abstract-level database: classic-level (LevelDB) when given a
 * directory path, or any abstract-level instance you pass (memory-level in tests, browser-level
 * in browsers, a sublevel to share a database).
 *
 * Guarantees:
 * - `append` is atomic (all entries or none) and, with the default `sync: true`, durable on disk
 *   once it resolves. Appends made while a write is in flight are coalesced into the next single
 *   synced batch (group commit), in call order.
 * - `load` returns the snapshot and the batches appended after it, in append order, read from
 *   one consistent view of the database.
 * - `compact` replaces the snapshot and every batch appended before the call with the given
 *   snapshot in one atomic write; batches appended after the call are kept.
 * - Writes (append, compact, putMeta) take effect in call order.
 * - Every method except `open` throws `HEARSAY_NOT_OPEN` while the store is not open; a failed
 *   write rejects with `HEARSAY_STORE_ERROR`; an object appended under two type ids rejects with
 *   `HEARSAY_TYPE_MISMATCH`; a database written by another key layout fails `open` with
 *   `HEARSAY_PROTOCOL_VERSION`.
 *
 * The key layout is described in the package's `PROTOCOL.md`.
 *
 * @example
 * ```ts
 * const store = new LevelStore('./data')   // classic-level in ./data
 * await store.open()
 * ```
 */
export class LevelStore implements Store {
  readonly capabilities: StoreCapabilities
  readonly #location: string | undefined
  #db: AnyLevel | undefined
  readonly #ownsDb: boolean
  readonly #sync: boolean
  readonly #maxBatchBytes: number
  #state: 'closed' | 'opening' | 'open' | 'closing' = 'closed'
  readonly #objects = new Map<string, ObjectInfo>()
  #nextHandle = 0
  // Next batch number per object handle; loaded lazily from disk by the writer.
  readonly #nextBatch = new Map<number, number>()
  #queue: Job[] = []
  #writer: Promise<void> | undefined
  #groups = 0

  /**
   * @param location a directory for classic-level, or an abstract-level database. A database you
   *   pass is opened if needed and left open by {@link close} (you own it); one created from a
   *   path is closed with the store.
   * @throws TypeError on a bad location or options.
   */
  constructor(location: string | AnyLevel, options: LevelStoreOptions = {}) {
    if (typeof location === 'string') {
      if (location === '') throw new TypeError('location is a directory path or an abstract-level database')
      this.#location = location
      this.#ownsDb = true
    } else if (location !== null && typeof location === 'object' && typeof (location as AnyLevel).batch === 'function') {
      this.#db = location
      this.#ownsDb = false
    } else {
      throw new TypeError('location is a directory path or an abstract-level database')
    }
    if (options === null || typeof options !== 'object') throw new TypeError('options is an object')
    this.#sync = options.sync ?? true
    this.#maxBatchBytes = options.maxBatchBytes ?? 8 * 1024 * 1024
    if (!(this.#maxBatchBytes > 0)) throw new RangeError('maxBatchBytes must be positive')
    const persistent = options.persistent ?? (this.#ownsDb ? true : Boolean(this.#db!.supports?.permanence))
    this.capabilities = { persistent, compaction: true }
  }

  /** The underlying database (undefined before the first `open` of a store created from a path). */
  get db(): AnyLevel | undefined {
    return this.#db
  }

  /** True between a resolved {@link open} and {@link close}. */
  get isOpen(): boolean {
    return this.#state === 'open'
  }

  /** Synced group writes done so far (for tests and stats: appends per write show the group commit at work). */
  get writes(): number {
    return this.#groups
  }

  /**
   * Opens (or reopens) the store: opens the database, checks its layout version and loads the
   * object index. Idempotent while open.
   * @throws HearsayError `HEARSAY_PROTOCOL_VERSION` (another layout), `HEARSAY_STORE_ERROR` (the database failed or holds foreign data).
   */
  async open(): Promise<void> {
    if (this.#state === 'open') return
    if (this.#state !== 'closed') throw new HearsayError(ErrorCodes.NOT_OPEN, `level store is ${this.#state}`)
    this.#state = 'opening'
    try {
      if (this.#ownsDb) await this.#openDirectory()
      const db = this.#db!
      if (db.status !== 'open') await db.open()
      await this.#checkLayout(db)
      this.#objects.clear()
      this.#nextBatch.clear()
      this.#nextHandle = 0
      for await (const [k, v] of db.iterator({ gte: objectsStart(), lt: objectsEnd(), ...VIEW })) {
        const rec = decodeObjectRecord(v)
        const objectId = objectIdOfKey(k)
        this.#objects.set(objectId, { objectId, handle: rec.handle, typeId: rec.typeId, persisted: true })
        if (rec.handle >= this.#nextHandle) this.#nextHandle = rec.handle + 1
      }
      this.#state = 'open'
    } catch (err) {
      this.#state = 'closed'
      if (this.#ownsDb && this.#db?.status === 'open') await this.#db.close().catch(() => {})
      throw classifyLevelError(`cannot open the level store${this.#location === undefined ? '' : ` in ${this.#location}`}`, err)
    }
  }

  // Opens the classic-level database of the directory, refusing loudly rather than creating over
  // files that are there or running on data LevelDB dropped.
  async #openDirectory(): Promise<void> {
    const dir = this.#location!
    // Not literals: a browser bundle of this file (IndexedDBStore) must not pull in the file
    // checks (node:fs) or classic-level (native); a store over a directory exists on Node alone.
    const filesModule = './levelFiles.js'
    const classic = 'classic-level'
    const files = (await import(filesModule)) as typeof import('./levelFiles.js')
    const how = await files.checkBeforeOpen(dir)
    const { ClassicLevel } = (await import(classic)) as typeof import('classic-level')
    // createIfMissing only for an empty directory: over existing files LevelDB must find its
    // own database or fail, never start a fresh one (which deletes the old table files).
    const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { ...VIEW, createIfMissing: how === 'create' }) as unknown as AnyLevel
    this.#db = db
    try {
      await db.open()
    } catch (err) {
      throw classifyLevelError(`cannot open the LevelDB database in ${dir}`, err)
    }
    const damage = await files.damageLogged(dir)
    if (damage.length > 0) {
      const first = damage[0]!.replace(/^\S+ \S+ /, '')
      await db.close().catch(() => {})
      await files.markDamaged(dir, first)
      throw new HearsayError(ErrorCodes.STORE_CORRUPT, `LevelDB found damage in ${dir} while opening it and dropped what it could not read (${first}${damage.length > 1 ? `, and ${damage.length - 1} more` : ''}); writes acknowledged earlier may be missing, so the store refuses to run on it until it is repaired`)
    }
  }

  async #checkLayout(db: AnyLevel): Promise<void> {
    const header = (await db.get(headerKey(), VIEW)) as Uint8Array | undefined
    const [first] = await db.keys({ limit: 1, keyEncoding: 'view' }).all()
    const [last] = await db.keys({ limit: 1, reverse: true, keyEncoding: 'view' }).all()
    for (const k of [first, last] as Array<Uint8Array | undefined>) {
      if (k !== undefined && k[0] !== LAYOUT_VERSION) {
        throw new HearsayError(ErrorCodes.PROTOCOL_VERSION, `database uses key layout ${k[0]}, this build reads layout ${LAYOUT_VERSION}`)
      }
    }
    const expected = encodeHeader()
    if (header === undefined) {
      if (first !== undefined) throw new HearsayError(ErrorCodes.STORE_CORRUPT, 'the database holds data but no hearsay header (it is not a hearsay store, or its header was lost); refusing to use it')
      await db.put(headerKey(), expected, this.#writeOptions())
    } else if (!sameBytes(header, expected)) {
      throw new HearsayError(ErrorCodes.PROTOCOL_VERSION, 'unrecognized hearsay store header')
    }
  }

  /** Waits for queued writes, then closes. Idempotent. A database passed to the constructor stays open. */
  async close(): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'closing') return
    this.#state = 'closing'
    try {
      while (this.#writer !== undefined) await this.#writer
      if (this.#ownsDb && this.#db !== undefined) await this.#db.close()
    } finally {
      this.#state = 'closed'
    }
  }

  // classic-level takes `sync` on writes; the abstract-level typings do not list it.
  #writeOptions(): typeof VIEW {
    const options = { ...VIEW, sync: this.#sync }
    return options
  }

  #check(): void {
    if (this.#state !== 'open') throw new HearsayError(ErrorCodes.NOT_OPEN, `level store is ${this.#state === 'opening' ? 'still opening' : 'not open'}`)
  }

  #object(objectId: string, typeId: number): ObjectInfo {
    let info = this.#objects.get(objectId)
    if (info === undefined) {
      if (this.#nextHandle > HANDLE_LIMIT) throw new HearsayError(ErrorCodes.STORE_ERROR, 'level store is out of object handles')
      info = { objectId, handle: this.#nextHandle++, typeId, persisted: false }
      this.#objects.set(objectId, info)
      // A fresh handle has no data on disk.
      this.#nextBatch.set(info.handle, 0)
    } else if (info.typeId !== typeId) {
      throw new HearsayError(ErrorCodes.TYPE_MISMATCH, `object ${objectId} is type ${info.typeId}, not ${typeId}`)
    }
    return info
  }

  #enqueue(make: (resolve: () => void, reject: (e: unknown) => void) => Job): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push(make(resolve, reject))
      this.#writer ??= this.#drain()
    })
  }

  /**
   * Appends batches for one or more objects atomically; durable when it resolves (with `sync`).
   * @throws TypeError on malformed entries; HearsayError `HEARSAY_NOT_OPEN`, `HEARSAY_TYPE_MISMATCH`, `HEARSAY_STORE_ERROR`.
   */
  async append(entries: readonly StoreEntry[]): Promise<void> {
    if (!Array.isArray(entries)) throw new TypeError('entries is an array of { objectId, typeId, data }')
    for (const e of entries) {
      if (e === null || typeof e !== 'object' || typeof e.objectId !== 'string' || !Number.isSafeInteger(e.typeId) || e.typeId <= 0 || e.typeId > 0xffff_ffff || !(e.data instanceof Uint8Array)) {
        throw new TypeError('each entry is { objectId: string, typeId: positive integer, data: Uint8Array }')
      }
    }
    this.#check()
    // Check every type before reserving anything, so a mismatch leaves no trace.
    const batchTypes = new Map<string, number>()
    for (const e of entries) {
      const typeId = this.#objects.get(e.objectId)?.typeId ?? batchTypes.get(e.objectId) ?? e.typeId
      if (typeId !== e.typeId) throw new HearsayError(ErrorCodes.TYPE_MISMATCH, `object ${e.objectId} is type ${typeId}, not ${e.typeId}`)
      batchTypes.set(e.objectId, typeId)
    }
    if (entries.length === 0) return
    let bytes = 0
    // Copy the data: the write happens later, and the caller may reuse its buffers.
    const list = entries.map((e) => {
      bytes += e.data.length + 32
      return { info: this.#object(e.objectId, e.typeId), data: e.data.slice() }
    })
    return this.#enqueue((resolve, reject) => ({ kind: 'append', entries: list, bytes, resolve, reject }))
  }

  /**
   * Replaces the object's snapshot and every batch appended before this call with `snapshot`,
   * atomically; batches appended after the call are kept. Creates the object if unknown.
   * @throws HearsayError `HEARSAY_NOT_OPEN`, `HEARSAY_TYPE_MISMATCH`, `HEARSAY_STORE_ERROR`.
   */
  async compact(objectId: string, typeId: number, snapshot: Uint8Array): Promise<void> {
    if (typeof objectId !== 'string' || !Number.isSafeInteger(typeId) || typeId <= 0 || typeId > 0xffff_ffff || !(snapshot instanceof Uint8Array)) {
      throw new TypeError('compact(objectId: string, typeId: positive integer, snapshot: Uint8Array)')
    }
    this.#check()
    const info = this.#object(objectId, typeId)
    const copy = snapshot.slice()
    return this.#enqueue((resolve, reject) => ({ kind: 'compact', info, snapshot: copy, bytes: copy.length + 32, resolve, reject }))
  }

  /** Stores one metadata value (durable when it resolves, with `sync`). @throws HearsayError `HEARSAY_NOT_OPEN`, `HEARSAY_STORE_ERROR`. */
  async putMeta(key: string, value: Uint8Array): Promise<void> {
    if (typeof key !== 'string' || !(value instanceof Uint8Array)) throw new TypeError('putMeta(key: string, value: Uint8Array)')
    this.#check()
    const copy = value.slice()
    return this.#enqueue((resolve, reject) => ({ kind: 'meta', key, value: copy, bytes: copy.length + key.length + 8, resolve, reject }))
  }

  /** One metadata value, or undefined. @throws HearsayError `HEARSAY_NOT_OPEN`, `HEARSAY_STORE_ERROR`. */
  async getMeta(key: string): Promise<Uint8Array | undefined> {
    if (typeof key !== 'string') throw new TypeError('key is a string')
    this.#check()
    try {
      const v = (await this.#db!.get(metaKey(key), VIEW)) as Uint8Array | undefined
      return v === undefined ? undefined : Uint8Array.prototype.slice.call(v)
    } catch (err) {
      throw classifyLevelError('cannot read metadata', err)
    }
  }

  /** Every object held, sorted by id. @throws HearsayError `HEARSAY_NOT_OPEN`. */
  async list(): Promise<Array<{ objectId: string; typeId: number }>> {
    this.#check()
    const out: Array<{ objectId: string; typeId: number }> = []
    for (const info of this.#objects.values()) if (info.persisted) out.push({ objectId: info.objectId, typeId: info.typeId })
    return out.sort((a, b) => compareIds(a.objectId, b.objectId))
  }

  /**
   * The object's snapshot and the batches appended after it, in append order, from one
   * consistent read; undefined when the store has never written the object.
   * @throws HearsayError `HEARSAY_NOT_OPEN`, `HEARSAY_STORE_ERROR`, `HEARSAY_DECODE_ERROR` (a damaged record).
   */
  async load(objectId: string): Promise<StoredObject | undefined> {
    if (typeof objectId !== 'string') throw new TypeError('objectId is a string')
    this.#check()
    const info = this.#objects.get(objectId)
    if (info === undefined) return undefined
    let snapshot: Uint8Array | undefined
    let cutoff = 0
    const batches: Uint8Array[] = []
    // One iterator reads the snapshot and then the batches from one implicit database snapshot,
    // so a compaction running meanwhile is seen entirely or not at all.
    const it = this.#db!.iterator({ gte: dataStart(info.handle), lt: dataEnd(info.handle), ...VIEW })
    try {
      for (;;) {
        const entries = (await it.nextv(4096)) as Array<[Uint8Array, Uint8Array]>
        if (entries.length === 0) break
        for (const [k, v] of entries) {
          if (isSnapshotKey(k)) {
            const rec = decodeSnapshotRecord(v)
            snapshot = rec.snapshot
            cutoff = rec.cutoff
          } else if (batchOfKey(k) >= cutoff) {
            // Batches below the cutoff are covered by the snapshot (left over from an interrupted clear).
            batches.push(v)
          }
        }
      }
    } catch (err) {
      throw classifyLevelError(`cannot load object ${objectId}`, err)
    } finally {
      await it.close()
    }
    if (!info.persisted && snapshot === undefined && batches.length === 0) return undefined
    return { objectId, typeId: info.typeId, snapshot, batches }
  }

  // The next batch number of an object: past its last batch and never below its snapshot's cutoff.
  async #loadNextBatch(handle: number): Promise<number> {
    const db = this.#db!
    const [last] = (await db.keys({ gte: batchesStart(handle), lt: dataEnd(handle), reverse: true, limit: 1, keyEncoding: 'view' }).all()) as Uint8Array[]
    let next = last === undefined ? 0 : batchOfKey(last) + 1
    const snap = (await db.get(snapshotKey(handle), VIEW)) as Uint8Array | undefined
    if (snap !== undefined) next = Math.max(next, decodeSnapshotRecord(snap).cutoff)
    return next
  }

  // The group-commit writer: while one batch is being written, new jobs queue up and go out
  // together in the next batch. Jobs are taken in call order, so writes apply in call order.
  async #drain(): Promise<void> {
    try {
      // Let the rest of the current synchronous burst of calls queue up first, so it goes out
      // as one write rather than a write of the first call and another of the rest.
      await null
      while (this.#queue.length > 0) {
        let take = 0
        let bytes = 0
        while (take < this.#queue.length && (take === 0 || bytes + this.#queue[take]!.bytes <= this.#maxBatchBytes)) bytes += this.#queue[take++]!.bytes
        const group = this.#queue.slice(0, take)
        this.#queue = this.#queue.slice(take)
        await this.#write(group)
      }
    } finally {
      this.#writer = undefined
    }
  }

  async #write(group: Job[]): Promise<void> {
    const db = this.#db!
    const clears: Array<{ handle: number; cutoff: number }> = []
    // A Set: a group holding 100k new objects made `includes` on an array quadratic (minutes).
    const created = new Set<ObjectInfo>()
    try {
      // Objects written for the first time since open: their next batch numbers, read at once.
      const unknown = new Set<number>()
      for (const job of group) {
        const infos = job.kind === 'append' ? job.entries.map((e) => e.info) : job.kind === 'compact' ? [job.info] : []
        for (const info of infos) if (!this.#nextBatch.has(info.handle)) unknown.add(info.handle)
      }
      const next = await Promise.all([...unknown].map((h) => this.#loadNextBatch(h)))
      let i = 0
      for (const h of unknown) this.#nextBatch.set(h, next[i++]!)
      const ops: BatchOp[] = []
      const record = (info: ObjectInfo) => {
        if (info.persisted || created.has(info)) return
        created.add(info)
        ops.push({ type: 'put', key: objectKey(info.objectId), value: encodeObjectRecord(info.handle, info.typeId) })
      }
      for (const job of group) {
        if (job.kind === 'append') {
          for (const e of job.entries) {
            record(e.info)
            const n = this.#nextBatch.get(e.info.handle)!
            this.#nextBatch.set(e.info.handle, n + 1)
            ops.push({ type: 'put', key: batchKey(e.info.handle, n), value: e.data })
          }
        } else if (job.kind === 'compact') {
          record(job.info)
          const cutoff = this.#nextBatch.get(job.info.handle)!
          ops.push({ type: 'put', key: snapshotKey(job.info.handle), value: encodeSnapshotRecord(cutoff, job.snapshot) })
          clears.push({ handle: job.info.handle, cutoff })
        } else {
          ops.push({ type: 'put', key: metaKey(job.key), value: job.value })
        }
      }
      await db.batch(ops, this.#writeOptions())
      this.#groups++
    } catch (err) {
      const e = classifyLevelError('level store write failed', err)
      for (const job of group) job.reject(e)
      return
    }
    for (const info of created) info.persisted = true
    for (const job of group) job.resolve()
    // The snapshot record already hides these batches; deleting them only reclaims space, so a
    // crash here loses nothing (the next compaction clears them again).
    for (const c of clears) {
      try {
        await db.clear({ gte: batchesStart(c.handle), lt: batchKey(c.handle, c.cutoff), keyEncoding: 'view' })
      } catch {
        // Space is reclaimed by the next compaction of this object.
      }
    }
  }
}
