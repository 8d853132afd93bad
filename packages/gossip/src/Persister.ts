import { coalesceRanges, type Range, type Store } from '@hearsay/core'
import { INDEX_OBJECT_ID, INDEX_TYPE_ID, type IndexRecord, type ObjectIndex } from './ObjectIndex.js'

/** When to replace an object's appended batches by a snapshot. */
export interface CompactionPolicy {
  /** Batches appended since the last snapshot before compaction is considered (default 64). */
  minBatches?: number
  /** Batches after which compaction runs whatever their size (default 1024). */
  maxBatches?: number
}

interface ObjectLog {
  batches: number
  bytes: number
  snapshotBytes: number
  /** Sequence number of the last batch queued for this object. */
  lastSeq: number
}

interface Waiter {
  seq: number
  resolve: () => void
  reject: (err: unknown) => void
}

/** What the persister needs to snapshot an object. */
export type SnapshotSource = (objectId: string) => { typeId: number; encodeState(): Uint8Array } | undefined

/**
 * Appends every hosted object's new ranges to the store, in order, one atomic `append` at a
 * time: the ranges queued in one tick, or in every tick while the previous append ran (group
 * commit, so the store's commits keep up with any rate of writes), and compacts an object's log
 * when its batches pile up. A write's promise resolves once the append holding it was
 * acknowledged by the store, so writes become durable in order.
 *
 * A failed append fails the persister for good (`onFailed`, once): the promise of that batch,
 * of every batch queued after it and of every later call rejects with the store's error, and
 * nothing more is written. Retrying would leave callers waiting on a disk that is full or
 * broken (LevelDB refuses every write after a failed one), and a batch the store did not
 * acknowledge must not be reported durable later than the caller was told it failed.
 *
 * Compaction policy: an object is compacted (`store.compact(id, type, encodeState())`) after a
 * successful append when at least `minBatches` batches were appended since its last snapshot
 * and their bytes exceed the last snapshot's size, or when `maxBatches` batches piled up.
 * Compaction runs on the same serial chain as appends, so the snapshot, taken when it runs,
 * holds every batch appended before it.
 *
 * With an {@link ObjectIndex}, every append also carries the index record of the objects it
 * touches (their lines, in the same atomic append), and the index is compacted into one
 * snapshot on the same chain when its records outweigh the last one.
 */
export class Persister {
  readonly #store: Store
  readonly #snapshot: SnapshotSource
  readonly #policy: Required<CompactionPolicy>
  readonly #onError: (err: unknown) => void
  readonly #onFailed: (err: unknown) => void
  readonly #index: ObjectIndex | undefined
  /** An append of the index alone (corrections, content hashes) was asked for. */
  #indexDue = false
  #failure: { error: unknown } | undefined
  #pending: Array<{ objectId: string; typeId: number; ranges: readonly Range<any>[]; encode: (r: readonly Range<any>[]) => Uint8Array; seq: number }> = []
  #scheduled = false
  /** An append is queued or running on the chain; batches queued meanwhile wait and go together after it. */
  #writing = false
  #chain: Promise<void> = Promise.resolve()
  #seq = 0
  #durable = 0
  readonly #logs = new Map<string, ObjectLog>()
  /**
   * Callers waiting for durability, sorted by seq, live from `#waitersHead` on: a completed
   * append resolves a prefix, so the cost per append is the waiters it resolves, not the
   * whole list (filtering the list on every completion made writes that arrive faster than
   * the store commits quadratic: 11 s of 40k writes went there).
   */
  #waiters: Waiter[] = []
  #waitersHead = 0
  #closed = false
  /** Batches appended, compactions run, append failures. */
  readonly stats = { batches: 0, appends: 0, compactions: 0, failures: 0, bytes: 0 }

  constructor(store: Store, snapshot: SnapshotSource, options: { policy?: CompactionPolicy | undefined; onError: (err: unknown) => void; onFailed: (err: unknown) => void; index?: ObjectIndex | undefined }) {
    this.#store = store
    this.#index = options.index
    this.#snapshot = snapshot
    this.#policy = { minBatches: options.policy?.minBatches ?? 64, maxBatches: options.policy?.maxBatches ?? 1024 }
    this.#onError = options.onError
    this.#onFailed = options.onFailed
  }

  /** The error that failed the persister (a failed append), if one did. */
  get failure(): unknown {
    return this.#failure?.error
  }

  /** Starts counting an object restored from the store with `batches` batches after its snapshot. */
  track(objectId: string, batches: number, bytes: number, snapshotBytes: number): void {
    this.#logs.set(objectId, { batches, bytes, snapshotBytes, lastSeq: 0 })
  }

  /** Batches queued and not yet acknowledged by the store. */
  get backlog(): number {
    return this.#seq - this.#durable
  }

  /**
   * Queues pieces of an object's history; the promise resolves when they are durable. Pieces
   * of one object queued in one tick are joined and encoded (with `encode`) as one batch.
   */
  append(objectId: string, typeId: number, ranges: readonly Range<any>[], encode: (r: readonly Range<any>[]) => Uint8Array): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure.error)
    const seq = ++this.#seq
    this.#pending.push({ objectId, typeId, ranges, encode, seq })
    let log = this.#logs.get(objectId)
    if (log === undefined) this.#logs.set(objectId, (log = { batches: 0, bytes: 0, snapshotBytes: 0, lastSeq: 0 }))
    log.lastSeq = seq
    if (!this.#scheduled) {
      this.#scheduled = true
      // Every range written in this tick goes into one atomic append.
      queueMicrotask(() => this.#flush())
    }
    return this.#wait(seq)
  }

  #wait(seq: number): Promise<void> {
    if (seq <= this.#durable) return Promise.resolve()
    if (this.#failure !== undefined) return Promise.reject(this.#failure.error)
    return new Promise((resolve, reject) => {
      const list = this.#waiters
      const w = { seq, resolve, reject }
      // append() and flush() wait on the newest seq, so this is a push; whenDurable() may wait
      // on an older one, placed by binary search.
      if (list.length === this.#waitersHead || list[list.length - 1]!.seq <= seq) {
        list.push(w)
        return
      }
      let lo = this.#waitersHead
      let hi = list.length
      while (lo < hi) {
        const mid = (lo + hi) >>> 1
        if (list[mid]!.seq <= seq) lo = mid + 1
        else hi = mid
      }
      list.splice(lo, 0, w)
    })
  }

  /** Resolves every waiter whose seq is durable now. */
  #resolveDurable(): void {
    const list = this.#waiters
    let head = this.#waitersHead
    const durable = this.#durable
    const from = head
    while (head < list.length && list[head]!.seq <= durable) head++
    const ready = list.slice(from, head)
    if (head === list.length) {
      this.#waiters = []
      this.#waitersHead = 0
    } else if (head > 1024 && head * 2 > list.length) {
      this.#waiters = list.slice(head)
      this.#waitersHead = 0
    } else {
      this.#waitersHead = head
    }
    for (const w of ready) w.resolve()
  }

  /** Resolves when every batch queued so far for `objectId` is durable. */
  whenDurable(objectId: string): Promise<void> {
    return this.#wait(this.#logs.get(objectId)?.lastSeq ?? 0)
  }

  /** True when every batch queued for `objectId` is durable. */
  isDurable(objectId: string): boolean {
    return (this.#logs.get(objectId)?.lastSeq ?? 0) <= this.#durable
  }

  /**
   * Appends what the index holds that is not in the store yet (corrections, content hashes),
   * alone if no batch is queued; resolves once durable.
   */
  flushIndex(): Promise<void> {
    if (this.#index === undefined || !this.#index.due) return this.flush()
    if (this.#failure !== undefined) return Promise.reject(this.#failure.error)
    this.#indexDue = true
    const seq = ++this.#seq
    if (!this.#scheduled) {
      this.#scheduled = true
      queueMicrotask(() => this.#flush())
    }
    return this.#wait(seq)
  }

  /** Resolves when every batch queued so far is durable. */
  flush(): Promise<void> {
    if ((this.#pending.length > 0 || this.#indexDue) && !this.#scheduled) {
      this.#scheduled = true
      queueMicrotask(() => this.#flush())
    }
    return this.#wait(this.#seq)
  }

  /** Stops retrying; queued batches that did not reach the store are dropped. */
  close(): void {
    this.#closed = true
  }

  #flush(): void {
    this.#scheduled = false
    if ((this.#pending.length === 0 && !this.#indexDue) || this.#closed || this.#failure !== undefined) return
    // Group commit: while one append is with the store, what is queued meanwhile waits and goes
    // as one append after it. Chaining one append per tick instead made a writer whose ticks
    // come faster than the store commits wait for one synced write per tick (100k objects
    // opened and set one by one through a node: 100k serial appends, 360 s).
    if (this.#writing) return
    this.#writing = true
    const queued = this.#pending
    this.#pending = []
    this.#indexDue = false
    // One entry per object: its pieces joined into as few ranges as possible.
    const byObject = new Map<string, { objectId: string; typeId: number; ranges: Range<any>[]; encode: (r: readonly Range<any>[]) => Uint8Array }>()
    for (const q of queued) {
      const e = byObject.get(q.objectId)
      if (e === undefined || e.typeId !== q.typeId) byObject.set(q.objectId, { objectId: q.objectId, typeId: q.typeId, ranges: [...q.ranges], encode: q.encode })
      else e.ranges.push(...q.ranges)
    }
    const joined = [...byObject.values()].map((e) => ({ ...e, ranges: coalesceRanges(e.ranges) }))
    const batch = joined.map((e) => ({ objectId: e.objectId, typeId: e.typeId, data: e.encode(e.ranges) }))
    // The index lines of these objects go in the same atomic append: never updates without
    // their line, nor a line ahead of its updates.
    const record = this.#index?.record(joined)
    if (record !== undefined) batch.push(record.entry)
    // flushIndex() took a seq of its own, past the last queued batch.
    const lastSeq = this.#seq
    if (batch.length === 0) {
      this.#writing = false
      this.#durable = lastSeq
      this.#resolveDurable()
      return
    }
    this.#chain = this.#chain.then(async () => {
      try {
        await this.#write(batch, lastSeq, record)
      } finally {
        this.#writing = false
        // What was queued while this append ran goes now, as one append.
        this.#flush()
      }
    })
  }

  async #write(batch: ReadonlyArray<{ objectId: string; typeId: number; data: Uint8Array }>, lastSeq: number, record: IndexRecord | undefined): Promise<void> {
    if (this.#closed || this.#failure !== undefined) return
    try {
      await this.#store.append(batch)
    } catch (err) {
      this.stats.failures++
      if (record !== undefined) this.#index!.uncommit(record)
      this.#fail(err)
      return
    }
    if (record !== undefined) this.#index!.commit(record)
    this.stats.appends++
    this.stats.batches += batch.length
    const touched = new Set<string>()
    for (const b of batch) {
      this.stats.bytes += b.data.length
      if (b.objectId === INDEX_OBJECT_ID) continue
      const log = this.#logs.get(b.objectId)!
      log.batches++
      log.bytes += b.data.length
      touched.add(b.objectId)
    }
    this.#durable = lastSeq
    this.#resolveDurable()
    for (const id of touched) await this.#maybeCompact(id)
    if (this.#index?.wantsSnapshot) await this.#compactIndex()
  }

  /** Replaces the stored index records by one snapshot of every line (on the serial chain). */
  compactIndex(): Promise<void> {
    const run = this.#chain.then(() => this.#compactIndex())
    this.#chain = run.catch(() => {})
    return run
  }

  async #compactIndex(): Promise<void> {
    const index = this.#index
    if (index === undefined || this.#failure !== undefined || this.#closed) return
    const snapshot = index.snapshot()
    try {
      await this.#store.compact(INDEX_OBJECT_ID, INDEX_TYPE_ID, snapshot)
    } catch (err) {
      this.stats.failures++
      this.#onError(err)
      return
    }
    this.stats.compactions++
    index.compacted(snapshot.length)
  }

  #fail(error: unknown): void {
    this.#failure = { error }
    this.#pending = []
    // Waiters first: a caller learns that its write failed before anyone acts on the failure.
    const waiters = this.#waiters.slice(this.#waitersHead)
    this.#waiters = []
    this.#waitersHead = 0
    for (const w of waiters) w.reject(error)
    this.#onError(error)
    this.#onFailed(error)
  }

  /**
   * Replaces the object's stored log by a snapshot of its state now, on the serial chain (after
   * every append queued before it). Errors go to `onError` as for any compaction.
   */
  compactNow(objectId: string): Promise<void> {
    if (!this.#logs.has(objectId)) this.#logs.set(objectId, { batches: 0, bytes: 0, snapshotBytes: 0, lastSeq: 0 })
    const run = this.#chain.then(() => this.#compact(objectId))
    this.#chain = run.catch(() => {})
    return run
  }

  async #maybeCompact(objectId: string): Promise<void> {
    const log = this.#logs.get(objectId)!
    const { minBatches, maxBatches } = this.#policy
    if (log.batches < minBatches) return
    if (log.batches < maxBatches && log.bytes <= log.snapshotBytes) return
    await this.#compact(objectId)
  }

  async #compact(objectId: string): Promise<void> {
    if (this.#failure !== undefined) return
    const log = this.#logs.get(objectId)!
    const source = this.#snapshot(objectId)
    if (source === undefined || this.#closed) return
    const snapshot = source.encodeState()
    try {
      await this.#store.compact(objectId, source.typeId, snapshot)
    } catch (err) {
      this.stats.failures++
      this.#onError(err)
      return
    }
    this.stats.compactions++
    log.batches = 0
    log.bytes = 0
    log.snapshotBytes = snapshot.length
  }

  /** Resolves when every append and compaction queued so far has run. */
  async idle(): Promise<void> {
    await this.flush()
    await this.#chain
  }
}
