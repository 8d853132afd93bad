import { BrowserLevel } from 'browser-level'
import { LevelStore, type LevelStoreOptions } from '../level/LevelStore.js'

/**
 * A hearsay store in the browser's IndexedDB: the {@link LevelStore} layout (see the package's
 * PROTOCOL.md) over `browser-level`, in the database `name` of this origin. It persists across
 * reloads; tabs of one origin see the same database (one writer at a time: give each tab its own
 * name). Unlike a `LevelStore` given a database, it owns its database: `close()` closes it.
 *
 * @example
 * ```ts
 * const node = new Node({ networkKey: 'k', store: new IndexedDBStore('notes') })
 * ```
 */
export class IndexedDBStore extends LevelStore {
  readonly #db: BrowserLevel<Uint8Array, Uint8Array>

  /** @throws TypeError on an empty name. */
  constructor(name: string, options: LevelStoreOptions = {}) {
    if (typeof name !== 'string' || name === '') throw new TypeError('name is a non-empty IndexedDB database name')
    const db = new BrowserLevel<Uint8Array, Uint8Array>(name, { keyEncoding: 'view', valueEncoding: 'view' })
    super(db as never, { persistent: true, ...options })
    this.#db = db
  }

  /** Waits for queued writes, closes the store, then its IndexedDB database. Idempotent. */
  override async close(): Promise<void> {
    await super.close()
    if (this.#db.status === 'open' || this.#db.status === 'opening') await this.#db.close()
  }
}
