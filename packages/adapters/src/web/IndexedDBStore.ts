import { BrowserLevel } from 'browser-level'
import type { Store, StoreCapabilities, StoreEntry, StoredObject } from '@hearsay/core'
import { LevelStore } from '../level/LevelStore.js'

/** Options of an {@link IndexedDBStore} (those of `LevelStore` that mean something on IndexedDB). */
export interface IndexedDBStoreOptions {
  /** Resolve an append only once IndexedDB committed it (default true); see `LevelStoreOptions.sync`. */
  sync?: boolean
  /** Soft cap on the bytes one group commit writes (default 8 MiB); one append is never split. */
  maxBatchBytes?: number
}

/**
 * A hearsay store in the browser's IndexedDB: the `LevelStore` layout (see the package's
 * PROTOCOL.md) over `browser-level`, in the database `name` of this origin. It persists across
 * reloads; tabs of one origin see the same database (one writer at a time: give each tab its own
 * name). It owns its database: `close()` closes it. Its declarations reach neither
 * abstract-level's nor Node's types, so a browser app type-checks without `@types/node`.
 *
 * @example
 * ```ts
 * const node = new Node({ networkKey: 'k', store: new IndexedDBStore('notes') })
 * ```
 */
export class IndexedDBStore implements Store {
  /** The database's name in this origin's IndexedDB. */
  readonly name: string
  readonly #db: BrowserLevel<Uint8Array, Uint8Array>
  readonly #store: LevelStore

  /** @throws TypeError on an empty name. */
  constructor(name: string, options: IndexedDBStoreOptions = {}) {
    if (typeof name !== 'string' || name === '') throw new TypeError('name is a non-empty IndexedDB database name')
    this.name = name
    this.#db = new BrowserLevel<Uint8Array, Uint8Array>(name, { keyEncoding: 'view', valueEncoding: 'view' })
    this.#store = new LevelStore(this.#db as never, { persistent: true, ...options })
  }

  get capabilities(): StoreCapabilities {
    return this.#store.capabilities
  }

  /** True between `open()` and `close()`. */
  get isOpen(): boolean {
    return this.#store.isOpen
  }

  /** Opens the IndexedDB database (creating it when new) and checks its layout. */
  open(): Promise<void> {
    return this.#store.open()
  }

  /** Waits for queued writes, closes the store, then its IndexedDB database. Idempotent. */
  async close(): Promise<void> {
    await this.#store.close()
    if (this.#db.status === 'open' || this.#db.status === 'opening') await this.#db.close()
  }

  append(entries: readonly StoreEntry[]): Promise<void> {
    return this.#store.append(entries)
  }

  load(objectId: string): Promise<StoredObject | undefined> {
    return this.#store.load(objectId)
  }

  list(): Promise<Array<{ objectId: string; typeId: number }>> {
    return this.#store.list()
  }

  compact(objectId: string, typeId: number, snapshot: Uint8Array): Promise<void> {
    return this.#store.compact(objectId, typeId, snapshot)
  }

  getMeta(key: string): Promise<Uint8Array | undefined> {
    return this.#store.getMeta(key)
  }

  putMeta(key: string, value: Uint8Array): Promise<void> {
    return this.#store.putMeta(key, value)
  }
}
