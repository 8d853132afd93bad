import {
  LOCAL_ORIGIN,
  createReplica,
  getType,
  restoreObject,
  ErrorCodes,
  HearsayError,
  bytesEqual,
  encodeVersionVector,
  type Range,
  type ReadonlyVersionVector,
  type Replicated,
  type ReplicatedClass,
  type ReplicatedOptions,
  type RestoredSize,
  type Store,
} from '@hearsay/core'
import { ContentHashes } from './ContentHashes.js'
import { DigestIndex } from './DigestIndex.js'
import { INDEX_OBJECT_ID, ObjectIndex, type IndexLine } from './ObjectIndex.js'
import type { Logger } from './options.js'
import { Persister, type CompactionPolicy } from './Persister.js'

/** A hosted object: its id, type and replica. */
export interface HostedObject {
  readonly objectId: string
  readonly typeId: number
  readonly replica: Replicated<any>
  readonly clock: ReadonlyVersionVector
}

/** What an {@link ObjectHost} needs from its node. */
export interface ObjectHostOptions {
  readonly store: Store
  readonly compaction?: CompactionPolicy | undefined
  /** Options of every replica created here (the node id as replica id among them). */
  replicaOptions(): ReplicatedOptions
  log(level: keyof Logger, message: string, data?: Record<string, unknown>): void
  /** A store append or compaction failed. */
  storeError(err: unknown): void
  /** A store append failed: no local write becomes durable (or leaves the node) any more. */
  storeFailed(err: unknown): void
  /**
   * Ranges of an object to pass on to peers: a local write once its append is durable (origin
   * undefined), ranges from a peer (origin: its session) or a bundle at once.
   */
  forward(object: HostedObject, ranges: readonly Range<any>[], origin: unknown): void
  /** A peer or a bundle brought an object this node did not host. */
  adopted(objectId: string, replica: Replicated<any>): void
  /** The signed objects: loaded, persisted and forwarded as signed segments, never compacted. */
  readonly signed?: SignedObjects | undefined
}

/** How an {@link ObjectHost} hands signed objects (see `SignedHost`) over. */
export interface SignedObjects {
  /** True for a signed object's id. */
  owns(objectId: string): boolean
  /** Loads a signed object from the store into a replica not yet hosted. */
  load(objectId: string, replica: Replicated<any>): Promise<RestoredSize | undefined>
  /** A signed object is now hosted. */
  hosted(o: HostedObject): void
  /** A hosted signed object applied ranges (persisting and forwarding them is the signed host's job). */
  applied(o: HostedObject, ranges: readonly Range<any>[], origin: unknown): void
}

/** What {@link ObjectHost.restore} found of the stored object index. */
export interface IndexRestore {
  /** Objects hosted from their index line only (not loaded). */
  readonly idle: number
  /** Objects loaded at start because their line was missing, damaged or held no content hash. */
  readonly loaded: number
  /** Why the stored index was unreadable (then rebuilt from every object's updates), if it was. */
  readonly damage: string | undefined
}

/**
 * The objects a node hosts, by id: opening (hosted, else loaded from the store, else created),
 * restoring everything stored at start, creating and adopting objects peers bring, the digest
 * index over their vectors, and the path of every applied range: appended to the store (a
 * local write durable before it is forwarded), then handed to `forward`.
 *
 * Objects are loaded on first use: at start only the stored {@link ObjectIndex} is read, and
 * an object is hosted by its index line (type, stored vector, content hash), which is all the
 * digest exchange reads. Its replica is materialized from its stored updates when it is
 * opened, when a peer sends it ranges or needs its history, or when a bundle carries it
 * ({@link load}); `get` and `values` see loaded objects only, `entry` and `entries` every one.
 */
export class ObjectHost {
  readonly #options: ObjectHostOptions
  readonly #objects = new Map<string, HostedObject>()
  /** Hosted objects not loaded: their index lines. */
  readonly #idle = new Map<string, IndexLine>()
  readonly #loading = new Map<string, Promise<HostedObject | undefined>>()
  readonly #opening = new Map<string, Promise<Replicated<any>>>()
  #halted = false
  /** Root digest, buckets and per-object hashes over every hosted object's vector. */
  readonly index = new DigestIndex()
  /** Content hashes of the hosted objects, for the content check. */
  readonly contents = new ContentHashes(
    (id) => this.#objects.get(id) ?? this.#idle.get(id),
    (id, clock, hash) => this.objectIndex.noteContent(id, clock, hash),
  )
  /** Type, stored vector and content hash of every stored object, kept in the store with the updates. */
  readonly objectIndex = new ObjectIndex()
  /** The store appends and compactions of every hosted object. */
  readonly persister: Persister

  constructor(options: ObjectHostOptions) {
    this.#options = options
    // A signed object is never compacted: its store log is its signed segments.
    this.persister = new Persister(options.store, (id) => (options.signed?.owns(id) ? undefined : this.#objects.get(id)?.replica), {
      policy: options.compaction,
      onError: options.storeError,
      onFailed: options.storeFailed,
      index: this.objectIndex,
    })
  }

  /** The loaded object `objectId`, if any (see {@link entry} for one not loaded). */
  get(objectId: string): HostedObject | undefined {
    return this.#objects.get(objectId)
  }

  /** The hosted object `objectId`, loaded (with its replica) or not (its index line). */
  entry(objectId: string): HostedObject | IndexLine | undefined {
    return this.#objects.get(objectId) ?? this.#idle.get(objectId)
  }

  /** True when `objectId` is hosted, loaded or not. */
  has(objectId: string): boolean {
    return this.#objects.has(objectId) || this.#idle.has(objectId)
  }

  /** The number of hosted objects, loaded or not. */
  get size(): number {
    return this.#objects.size + this.#idle.size
  }

  /** The number of loaded objects. */
  get loadedCount(): number {
    return this.#objects.size
  }

  /** Ids of every hosted object, sorted. */
  ids(): string[] {
    return [...this.#objects.keys(), ...this.#idle.keys()].sort()
  }

  /** Every loaded object, in hosting order. */
  values(): IterableIterator<HostedObject> {
    return this.#objects.values()
  }

  /** Every hosted object, loaded or not. */
  *entries(): IterableIterator<HostedObject | IndexLine> {
    yield* this.#objects.values()
    yield* this.#idle.values()
  }

  /**
   * Hosts every stored object of a registered type (others are logged and left in the store):
   * from its index line when the line is there with a content hash, else loaded (and its line
   * rebuilt from its updates). A stored index that fails its checksum or does not decode is
   * reported at `error` and rebuilt from every object's updates; lines missing (a store
   * written before the index) are rebuilt too. A rebuilt index is written at once.
   */
  async restore(): Promise<IndexRestore> {
    const store = this.#options.store
    const listed = await store.list()
    const index = this.objectIndex
    const { damage, found } = await index.read(store)
    if (damage !== undefined) {
      this.#options.log('error', 'the stored object index is damaged; rebuilding it from every object\'s updates (nothing is lost: the updates are the truth)', { reason: damage })
    }
    let loaded = 0
    let rebuilt = 0
    let stored = 0
    for (const { objectId, typeId } of listed) {
      if (objectId === INDEX_OBJECT_ID) continue
      stored++
      const type = getType(typeId)
      if (type === undefined) {
        this.#options.log('warn', 'stored object of an unregistered type left unloaded', { objectId, typeId })
        continue
      }
      const line = index.line(objectId)
      if (line !== undefined && line.typeId === typeId && line.hasContent) {
        this.#idle.set(objectId, line)
        this.index.add(line)
        this.contents.seed(line)
        continue
      }
      const replica = new type(this.#options.replicaOptions())
      await this.#load(objectId, replica)
      if (!this.#checkLine(objectId, replica)) rebuilt++
      this.host(objectId, replica)
      loaded++
    }
    // Lines of objects the store does not hold (there are more lines than stored objects).
    let dropped = 0
    if (index.size > stored) {
      const held = new Set(listed.map((o) => o.objectId))
      for (const line of [...index.lines()]) {
        if (!held.has(line.objectId)) {
          index.drop(line.objectId)
          dropped++
        }
      }
    }
    if (damage === undefined && (rebuilt > 0 || dropped > 0)) {
      this.#options.log(found ? 'error' : 'info', found ? 'the stored object index disagreed with the stored objects; rebuilt the lines from their updates' : 'no stored object index (a store written before it); built it from every object\'s updates', { rebuilt, dropped })
    }
    if (damage !== undefined || rebuilt > 0 || dropped > 0) {
      await this.persister.flushIndex()
      await this.persister.compactIndex()
    }
    return { idle: this.#idle.size, loaded, damage }
  }

  // After loading an object from its updates: a line that disagrees with them (or is missing) is rebuilt from them.
  #checkLine(objectId: string, replica: Replicated<any>): boolean {
    const line = this.objectIndex.line(objectId)
    if (line !== undefined && line.typeId === replica.typeId && bytesEqual(line.vectorBytes, encodeVersionVector(replica.clock))) return true
    this.objectIndex.correct(objectId, replica.typeId, replica.clock)
    return false
  }

  /**
   * The object `objectId` with its replica: the one loaded, else materialized from the store
   * (for an object hosted by its index line), else undefined when it is not hosted.
   * Concurrent calls share one load.
   * @throws what the store or decoding throws.
   */
  load(objectId: string): Promise<HostedObject | undefined> {
    const have = this.#objects.get(objectId)
    if (have !== undefined) return Promise.resolve(have)
    const line = this.#idle.get(objectId)
    if (line === undefined) return Promise.resolve(undefined)
    let p = this.#loading.get(objectId)
    if (p === undefined) {
      p = this.#materialize(line)
      this.#loading.set(objectId, p)
      p.finally(() => this.#loading.delete(objectId)).catch(() => {})
    }
    return p
  }

  async #materialize(line: IndexLine): Promise<HostedObject | undefined> {
    const { objectId } = line
    const type = getType(line.typeId)
    if (type === undefined) throw new HearsayError(ErrorCodes.UNKNOWN_TYPE, `object ${objectId} is of type ${line.typeId}, not registered`)
    const replica = new type(this.#options.replicaOptions())
    try {
      await this.#load(objectId, replica)
    } catch (err) {
      replica.dispose()
      throw err
    }
    const again = this.#objects.get(objectId)
    if (again !== undefined || this.#idle.get(objectId) !== line) {
      replica.dispose()
      return again
    }
    // host() takes the object off its line (and the line's content hash out of the root).
    const agrees = this.#checkLine(objectId, replica)
    if (!agrees) {
      this.#options.log('error', 'the object index disagreed with the object\'s stored updates; took the updates and rebuilt its line', {
        objectId,
        index: Object.fromEntries(line.clock.entries()),
        stored: Object.fromEntries(replica.clock.entries()),
      })
      this.persister.flushIndex().catch(() => {})
    }
    return this.host(objectId, replica)
  }

  /**
   * Computes the content hash of every loaded object whose index line holds none for its
   * stored vector, and appends the index's pending lines: so that the next start hosts every
   * object from its line. Called at close, after the last write.
   */
  async saveIndex(): Promise<void> {
    await this.persister.flush()
    for (const o of this.#objects.values()) {
      if (o.clock.size === 0 || !this.persister.isDurable(o.objectId)) continue
      const line = this.objectIndex.line(o.objectId)
      if (line !== undefined && line.hasContent) continue
      this.contents.of(o)
    }
    await this.persister.flushIndex()
  }

  /**
   * The replica of `objectId`, of type `Type`: the one hosted, else loaded from the store, else
   * created empty. Concurrent calls for one id share one replica.
   * @throws HearsayError `HEARSAY_TYPE_MISMATCH` when the object exists with another type.
   */
  async open<R extends Replicated<any>>(objectId: string, Type: ReplicatedClass<R>): Promise<R> {
    const have = this.#objects.get(objectId)
    if (have !== undefined) return checkType(objectId, have.replica, Type)
    const line = this.#idle.get(objectId)
    if (line !== undefined) {
      if (line.typeId !== Type.typeId) throw new HearsayError(ErrorCodes.TYPE_MISMATCH, `object ${objectId} is of type ${line.typeId}, not a ${Type.typeName}`)
      const loaded = await this.load(objectId)
      if (loaded !== undefined) return checkType(objectId, loaded.replica, Type)
    }
    let p = this.#opening.get(objectId)
    if (p === undefined) {
      p = (async () => {
        const replica = new Type(this.#options.replicaOptions())
        await this.#load(objectId, replica)
        const again = this.#objects.get(objectId)
        if (again !== undefined) {
          replica.dispose()
          return again.replica
        }
        this.host(objectId, replica)
        return replica
      })()
      this.#opening.set(objectId, p)
      p.finally(() => this.#opening.delete(objectId)).catch(() => {})
    }
    return checkType(objectId, await p, Type)
  }

  /** A fresh replica of a registered type, not hosted. @throws HearsayError `HEARSAY_UNKNOWN_TYPE`. */
  create(typeId: number): Replicated<any> {
    return createReplica(typeId, this.#options.replicaOptions())
  }

  /** Hosts a replica a peer or a bundle brought, and reports it through `adopted`. */
  adopt(objectId: string, replica: Replicated<any>): HostedObject {
    const hosted = this.host(objectId, replica)
    this.#options.adopted(objectId, replica)
    return hosted
  }

  /** Hosts a replica under `objectId`: indexes it and persists and forwards what it applies from now on. */
  host(objectId: string, replica: Replicated<any>): HostedObject {
    // A replica made before the node moved to a fresh incarnation (while it loaded) writes under the new one.
    const source = this.#options.replicaOptions().id
    if (source !== undefined) replica.reincarnate(source)
    const hosted: HostedObject = {
      objectId,
      typeId: replica.typeId,
      replica,
      get clock() {
        return replica.clock
      },
    }
    // A restored replica applied its log before it was hosted: its hash is not in the content
    // root yet. One loaded in the place of its index line is hashed again too (its line's
    // hash leaves the root first): the content check is there to find stored state that
    // changed under its vector.
    this.contents.invalidate(objectId)
    this.#objects.set(objectId, hosted)
    this.#idle.delete(objectId)
    this.index.rebind(hosted)
    const encode = (ranges: readonly Range<any>[]): Uint8Array => replica.encodeRanges(ranges)
    replica.on('ranges', (ranges: readonly Range<any>[], origin: unknown) => this.#applied(hosted, ranges, origin, encode))
    replica.on('rejected', (err: HearsayError) => this.#options.log('debug', 'update refused', { objectId, code: err.code, message: err.message }))
    if (this.#options.signed?.owns(objectId)) this.#options.signed.hosted(hosted)
    return hosted
  }

  /** XOR of the content hashes of every non-empty hosted object (see {@link ContentHashes}). */
  contentRoot(): Uint8Array {
    return this.contents.root()
  }

  /**
   * Hosts `replica` instead of the object's current replica, which is disposed (later calls on
   * it throw `HEARSAY_NOT_OPEN`; take the new one from `get`): the repair of content that
   * differed under equal vectors. Its state replaces the object's log in the store at once.
   */
  replace(objectId: string, replica: Replicated<any>): HostedObject {
    const old = this.#objects.get(objectId)
    this.index.delete(objectId)
    this.contents.invalidate(objectId)
    this.#idle.delete(objectId)
    old?.replica.dispose()
    const hosted = this.host(objectId, replica)
    this.persister.compactNow(objectId).catch(() => {})
    return hosted
  }

  /** Resolves once every append queued for the object is durable. */
  whenDurable(objectId: string): Promise<void> {
    return this.persister.whenDurable(objectId)
  }

  /** True when no append of the object waits for the store. */
  isDurable(objectId: string): boolean {
    return this.persister.isDurable(objectId)
  }

  /** Stops persisting and forwarding (the node is closing). */
  halt(): void {
    this.#halted = true
  }

  /** Stops the persister and disposes every replica; call after the store is idle. */
  close(): void {
    this.#halted = true
    this.persister.close()
    for (const o of this.#objects.values()) o.replica.dispose()
    this.#objects.clear()
    this.#idle.clear()
  }

  // Loads like `restoreObject` and counts the batches read for the compaction policy.
  async #load(objectId: string, replica: Replicated<any>): Promise<void> {
    const signed = this.#options.signed
    const size = signed?.owns(objectId) ? await signed.load(objectId, replica) : await restoreObject(this.#options.store, objectId, replica)
    if (size !== undefined) this.persister.track(objectId, size.batches, size.bytes, size.snapshotBytes)
  }

  #applied(o: HostedObject, ranges: readonly Range<any>[], origin: unknown, encode: (r: readonly Range<any>[]) => Uint8Array): void {
    this.index.touch(o.objectId)
    this.contents.invalidate(o.objectId)
    if (origin === 'store' || this.#halted) return
    const signed = this.#options.signed
    if (signed?.owns(o.objectId)) return signed.applied(o, ranges, origin)
    const durable = this.persister.append(o.objectId, o.typeId, ranges, encode)
    // A failed append is reported once, as 'store-failed'; a local write it held never leaves.
    if (origin === LOCAL_ORIGIN) durable.then(() => this.#options.forward(o, ranges, undefined), () => {})
    else {
      durable.catch(() => {})
      this.#options.forward(o, ranges, origin)
    }
  }
}

function checkType<R extends Replicated<any>>(objectId: string, replica: Replicated<any>, Type: ReplicatedClass<R>): R {
  if (replica.typeId !== Type.typeId) throw new HearsayError(ErrorCodes.TYPE_MISMATCH, `object ${objectId} is a ${replica.typeName}, not a ${Type.typeName}`)
  return replica as R
}
