import * as encoding from 'lib0/encoding'
import { MAX_REPLICA_ID_LENGTH, decodeWith, encodeWith, readSafeUint, toBase64Url, toReplicaId, type ReplicaId, type Store } from '@hearsay/core'

/** Store meta key of the node's incarnation counter (see PROTOCOL.md §6). */
export const META_INCARNATION = 'incarnation'

const FORMAT = 1
/** Random bytes in a source: 48 bits, 8 base64url characters. */
const RANDOM_BYTES = 6
const SUFFIX = /^\d+\.[A-Za-z0-9_-]{8}$/

/**
 * The source of incarnation `epoch` of node `nodeId`: `<nodeId>.<epoch>.<8 random base64url
 * characters>`, the node id cut short when the whole would not fit a replica id. The random
 * part is what makes it safe: a node restored from a backup, or wiped, or copied, has its
 * counter from before and would repeat it, but never the random draw.
 */
export function incarnationSource(nodeId: string, epoch: number, random: Uint8Array): ReplicaId {
  const suffix = `.${epoch}.${toBase64Url(random).slice(0, 8)}`
  return toReplicaId(nodeId.slice(0, MAX_REPLICA_ID_LENGTH - suffix.length) + suffix)
}

/**
 * A node's incarnation: the source its replicas write under, fresh on every start. A backup
 * restored while the node was stopped cannot be told from a clean restart (both stores look
 * alike), so the node never trusts its store to know every seq it wrote: each start, and each
 * alarm while running, takes a new source bound to the node id. Updates of its earlier sources
 * that its peers hold and its store lost then arrive like anyone else's.
 */
export class Incarnation {
  readonly nodeId: string
  readonly #store: Store
  readonly #randomBytes: (n: number) => Uint8Array
  #epoch: number
  #source: ReplicaId

  private constructor(nodeId: string, store: Store, randomBytes: (n: number) => Uint8Array, epoch: number) {
    this.nodeId = nodeId
    this.#store = store
    this.#randomBytes = randomBytes
    this.#epoch = epoch
    this.#source = incarnationSource(nodeId, epoch, randomBytes(RANDOM_BYTES))
  }

  /**
   * Begins the incarnation after the one the store recorded (the first when none, or when the
   * record is unreadable) and records it before any replica writes.
   * @throws what the store throws.
   */
  static async begin(store: Store, nodeId: string, randomBytes: (n: number) => Uint8Array): Promise<Incarnation> {
    const stored = await store.getMeta(META_INCARNATION)
    let last = 0
    if (stored !== undefined) {
      try {
        last = decodeWith(stored, (d) => (readSafeUint(d) === FORMAT ? readSafeUint(d) : 0))
      } catch {
        // A damaged counter costs nothing but the count: the random part keeps sources apart.
      }
    }
    const inc = new Incarnation(nodeId, store, randomBytes, last + 1)
    await inc.#save()
    return inc
  }

  /** The source every local update is written under now. */
  get source(): ReplicaId {
    return this.#source
  }

  /** How many incarnations this node began (counted in its store; a restored store counts from the backup). */
  get epoch(): number {
    return this.#epoch
  }

  /** True when `source` is one this node wrote under: its bare id (before incarnations) or one of its incarnations. */
  owns(source: string): boolean {
    if (source === this.nodeId) return true
    const at = source.lastIndexOf('.', source.lastIndexOf('.') - 1)
    if (at <= 0 || !SUFFIX.test(source.slice(at + 1))) return false
    const prefix = source.slice(0, at)
    // A long node id is cut to fit: then the source is as long as a replica id may be.
    return prefix === this.nodeId || (source.length === MAX_REPLICA_ID_LENGTH && this.nodeId.startsWith(prefix))
  }

  /**
   * Moves to the next incarnation at once; the promise says when the store recorded it (a
   * record lost to a crash is harmless, the next start draws a new source anyway).
   */
  next(): Promise<void> {
    this.#epoch++
    this.#source = incarnationSource(this.nodeId, this.#epoch, this.#randomBytes(RANDOM_BYTES))
    return this.#save()
  }

  #save(): Promise<void> {
    return this.#store.putMeta(
      META_INCARNATION,
      encodeWith((e) => {
        encoding.writeVarUint(e, FORMAT)
        encoding.writeVarUint(e, this.#epoch)
      }),
    )
  }
}
