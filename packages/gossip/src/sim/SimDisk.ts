import { MemoryStore } from '@hearsay/core'
import type { Store, StoreCapabilities, StoreEntry, StoredObject } from '@hearsay/core'
import type { Simulation } from './Simulation.js'

/** Options of {@link SimDisk}. */
export interface SimDiskOptions {
  /**
   * The store that survives crashes (default a fresh `MemoryStore`). A disk given its own store
   * cannot {@link SimDisk.rollBack} or {@link SimDisk.loseTail}: those rebuild a `MemoryStore`.
   */
  store?: Store
  /**
   * Virtual ms an `append` or `compact` takes to become durable (default 0: durable at once).
   * A crash before then loses the write, so a node that sends an update before its append
   * resolved is caught replaying a seq it already used.
   */
  writeLatency?: number
}

const never = <T>(): Promise<T> => new Promise<T>(() => {})

/** One durable write, as the disk journals it (its data already copied). */
type Write = { kind: 'append'; entries: StoreEntry[] } | { kind: 'compact'; objectId: string; typeId: number; snapshot: Uint8Array } | { kind: 'meta'; key: string; value: Uint8Array }

function replay(store: Store, w: Write): Promise<void> {
  if (w.kind === 'append') return store.append(w.entries)
  if (w.kind === 'compact') return store.compact(w.objectId, w.typeId, w.snapshot)
  return store.putMeta(w.key, w.value)
}

/**
 * The durable storage of one simulated host. It outlives crashes; each incarnation of the host
 * gets its own {@link SimDisk.mount | view}, and a crash cuts that view off: a write already
 * durable stays, a write still in flight is lost, and every later call of the dead incarnation
 * never settles (its code is gone, so nothing must run on its behalf).
 */
export class SimDisk {
  #store: Store
  readonly #sim: Simulation
  readonly #writeLatency: number
  readonly #own: boolean
  /** Every durable write in order, for rolling back: only kept for the disk's own store. */
  readonly #journal: Write[] = []
  #view: DiskView | undefined
  #opened = false

  /** @throws RangeError for a negative `writeLatency`. */
  constructor(sim: Simulation, options: SimDiskOptions = {}) {
    this.#sim = sim
    this.#store = options.store ?? new MemoryStore()
    this.#own = options.store === undefined
    const w = options.writeLatency ?? 0
    if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`writeLatency must be a finite number >= 0, got ${w}`)
    this.#writeLatency = w
  }

  /** The underlying store, holding what is durable (a new one after a rollback). */
  get store(): Store {
    return this.#store
  }

  /** Durable writes so far (appends, compactions, metadata): a mark for {@link rollBack}. */
  get writes(): number {
    return this.#journal.length
  }

  /**
   * Puts the disk back as it was after its first `mark` durable writes, as restoring a backup
   * taken then does (or a file system that lost everything since). Only while the host is down.
   * @throws RangeError for a mark past {@link writes}; Error while mounted or for a disk given its own store.
   */
  async rollBack(mark: number): Promise<void> {
    if (!this.#own) throw new Error('a SimDisk given its own store cannot roll back')
    if (this.#view !== undefined) throw new Error('roll a disk back only while its host is down')
    if (!Number.isSafeInteger(mark) || mark < 0 || mark > this.#journal.length) throw new RangeError(`mark must be an integer in [0, ${this.#journal.length}], got ${mark}`)
    this.#journal.length = mark
    const store = new MemoryStore()
    await store.open()
    for (const w of this.#journal) await replay(store, w)
    this.#store = store
    this.#opened = true
  }

  /**
   * Loses the last `count` durable writes (at most all of them), as a log whose tail a crash or
   * a disk fault took. Only while the host is down. @returns how many were lost.
   */
  async loseTail(count: number): Promise<number> {
    const lost = Math.min(Math.max(0, Math.floor(count)), this.#journal.length)
    await this.rollBack(this.#journal.length - lost)
    return lost
  }

  /** @internal a durable write of the current view: journaled (own store), then applied. */
  write(w: Write): Promise<void> {
    // Journaled once it took effect, in the order the writes complete (a refused one is not).
    return replay(this.#store, w).then(() => {
      if (this.#own) this.#journal.push(w)
    })
  }

  /** A store for a new incarnation; the previous view, if any, is cut off. */
  mount(): Store {
    this.#view?.kill()
    this.#view = new DiskView(this, this.#sim, this.#writeLatency)
    return this.#view
  }

  /** Cuts off the current view (the host crashed). */
  crash(): void {
    this.#view?.kill()
    this.#view = undefined
  }

  /** @internal opens the underlying store once; it stays open across crashes, like a disk. */
  async ensureOpen(): Promise<void> {
    if (this.#opened) return
    this.#opened = true
    await this.#store.open()
  }
}

class DiskView implements Store {
  readonly #disk: SimDisk
  readonly #sim: Simulation
  readonly #latency: number
  #alive = true
  readonly #inflight = new Set<{ cancel(): void }>()

  constructor(disk: SimDisk, sim: Simulation, latency: number) {
    this.#disk = disk
    this.#sim = sim
    this.#latency = latency
  }

  get capabilities(): StoreCapabilities {
    return { persistent: true, compaction: this.#disk.store.capabilities.compaction }
  }

  kill(): void {
    this.#alive = false
    for (const w of this.#inflight) w.cancel()
    this.#inflight.clear()
  }

  #read<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.#alive) return never()
    return fn().then(
      (v) => (this.#alive ? v : never<T>()),
      (e) => (this.#alive ? Promise.reject(e) : never<T>()),
    )
  }

  #write(fn: () => Promise<void>): Promise<void> {
    if (!this.#alive) return never()
    if (this.#latency === 0) return this.#read(fn)
    return new Promise<void>((resolve, reject) => {
      const ev = this.#sim.schedule(this.#latency, () => {
        this.#inflight.delete(w)
        if (!this.#alive) return
        fn().then(resolve, reject)
      })
      const w = { cancel: () => this.#sim.cancel(ev) }
      this.#inflight.add(w)
    })
  }

  open(): Promise<void> {
    return this.#read(() => this.#disk.ensureOpen())
  }

  // Closing a view does not close the disk: the next incarnation mounts it again.
  close(): Promise<void> {
    return this.#read(async () => {})
  }

  append(entries: readonly StoreEntry[]): Promise<void> {
    // Copy now: the caller may reuse its buffers before a delayed write lands.
    const copy = entries.map((e) => ({ objectId: e.objectId, typeId: e.typeId, data: e.data.slice() }))
    return this.#write(() => this.#disk.write({ kind: 'append', entries: copy }))
  }

  load(objectId: string): Promise<StoredObject | undefined> {
    return this.#read(() => this.#disk.store.load(objectId))
  }

  list(): Promise<Array<{ objectId: string; typeId: number }>> {
    return this.#read(() => this.#disk.store.list())
  }

  compact(objectId: string, typeId: number, snapshot: Uint8Array): Promise<void> {
    const copy = snapshot.slice()
    return this.#write(() => this.#disk.write({ kind: 'compact', objectId, typeId, snapshot: copy }))
  }

  getMeta(key: string): Promise<Uint8Array | undefined> {
    return this.#read(() => this.#disk.store.getMeta(key))
  }

  putMeta(key: string, value: Uint8Array): Promise<void> {
    const copy = value.slice()
    return this.#write(() => this.#disk.write({ kind: 'meta', key, value: copy }))
  }
}
