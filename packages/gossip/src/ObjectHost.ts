import {
  LOCAL_ORIGIN,
  createReplica,
  getType,
  restoreObject,
  ErrorCodes,
  HearsayError,
  type Range,
  type ReadonlyVersionVector,
  type Replicated,
  type ReplicatedClass,
  type ReplicatedOptions,
  type Store,
} from '@hearsay/core'
import { ContentHashes } from './ContentHashes.js'
import { DigestIndex } from './DigestIndex.js'
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
}

/**
 * The objects a node hosts, by id: opening (hosted, else loaded from the store, else created),
 * restoring everything stored at start, creating and adopting objects peers bring, the digest
 * index over their vectors, and the path of every applied range: appended to the store (a
 * local write durable before it is forwarded), then handed to `forward`.
 */
export class ObjectHost {
  readonly #options: ObjectHostOptions
  readonly #objects = new Map<string, HostedObject>()
  readonly #opening = new Map<string, Promise<Replicated<any>>>()
  #halted = false
  /** Root digest, buckets and per-object hashes over every hosted object's vector. */
  readonly index = new DigestIndex()
  /** Content hashes of the hosted objects, for the content check. */
  readonly contents = new ContentHashes((id) => this.#objects.get(id))
  /** The store appends and compactions of every hosted object. */
  readonly persister: Persister

  constructor(options: ObjectHostOptions) {
    this.#options = options
    this.persister = new Persister(options.store, (id) => this.#objects.get(id)?.replica, {
      policy: options.compaction,
      onError: options.storeError,
      onFailed: options.storeFailed,
    })
  }

  /** The hosted object `objectId`, if any. */
  get(objectId: string): HostedObject | undefined {
    return this.#objects.get(objectId)
  }

  /** The number of hosted objects. */
  get size(): number {
    return this.#objects.size
  }

  /** Ids of every hosted object, sorted. */
  ids(): string[] {
    return [...this.#objects.keys()].sort()
  }

  /** Every hosted object, in hosting order. */
  values(): IterableIterator<HostedObject> {
    return this.#objects.values()
  }

  /** Restores every stored object of a registered type (others are logged and left in the store). */
  async restore(): Promise<void> {
    for (const { objectId, typeId } of await this.#options.store.list()) {
      const type = getType(typeId)
      if (type === undefined) {
        this.#options.log('warn', 'stored object of an unregistered type left unloaded', { objectId, typeId })
        continue
      }
      const replica = new type(this.#options.replicaOptions())
      await this.#load(objectId, replica)
      this.host(objectId, replica)
    }
  }

  /**
   * The replica of `objectId`, of type `Type`: the one hosted, else loaded from the store, else
   * created empty. Concurrent calls for one id share one replica.
   * @throws HearsayError `HEARSAY_TYPE_MISMATCH` when the object exists with another type.
   */
  async open<R extends Replicated<any>>(objectId: string, Type: ReplicatedClass<R>): Promise<R> {
    const have = this.#objects.get(objectId)
    if (have !== undefined) return checkType(objectId, have.replica, Type)
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
    this.#objects.set(objectId, hosted)
    this.index.add(hosted)
    // A restored replica applied its log before it was hosted: its hash is not in the content root yet.
    this.contents.invalidate(objectId)
    const encode = (ranges: readonly Range<any>[]): Uint8Array => replica.encodeRanges(ranges)
    replica.on('ranges', (ranges: readonly Range<any>[], origin: unknown) => this.#applied(hosted, ranges, origin, encode))
    replica.on('rejected', (err: HearsayError) => this.#options.log('debug', 'update refused', { objectId, code: err.code, message: err.message }))
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
  }

  // Loads like `restoreObject` and counts the batches read for the compaction policy.
  async #load(objectId: string, replica: Replicated<any>): Promise<void> {
    const size = await restoreObject(this.#options.store, objectId, replica)
    if (size !== undefined) this.persister.track(objectId, size.batches, size.bytes, size.snapshotBytes)
  }

  #applied(o: HostedObject, ranges: readonly Range<any>[], origin: unknown, encode: (r: readonly Range<any>[]) => Uint8Array): void {
    this.index.touch(o.objectId)
    this.contents.invalidate(o.objectId)
    if (origin === 'store' || this.#halted) return
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
