import { sha256 } from '@noble/hashes/sha2.js'
import { encodeVersionVector, encoding, toHex, type ReadonlyVersionVector } from '@hearsay/core'
import { BUCKET_HASH_BYTES, MAX_PREFIX_DEPTH, ROOT_HASH_BYTES, type BucketSummary } from './messages.js'

/** What the index needs from a hosted object. */
export interface IndexedObject {
  readonly objectId: string
  readonly typeId: number
  readonly clock: ReadonlyVersionVector
}

interface Entry {
  readonly object: IndexedObject
  /** 16 hex digits: the first 64 bits of SHA-256(object id); places the object in the bucket tree. */
  readonly key: string
  /** SHA-256 over id, type and vector, cut to 16 bytes; undefined while the clock is empty. */
  hash: Uint8Array | undefined
  dirty: boolean
}

const UTF8 = new TextEncoder()
const EMPTY_BUCKET_HASH = new Uint8Array(BUCKET_HASH_BYTES)

/** The bucket key of an object id: the first 64 bits of its SHA-256, as 16 hex digits. */
export function objectKey(objectId: string): string {
  return toHex(sha256(UTF8.encode(objectId)).subarray(0, MAX_PREFIX_DEPTH / 2))
}

/** The entry hash of an object: SHA-256 over its id, type id and canonical vector, cut to 16 bytes. */
export function entryHash(objectId: string, typeId: number, clock: ReadonlyVersionVector): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeVarString(e, objectId)
  encoding.writeVarUint(e, typeId)
  const head = encoding.toUint8Array(e)
  return sha256.create().update(head).update(encodeVersionVector(clock)).digest().slice(0, ROOT_HASH_BYTES)
}

function xorInto(target: Uint8Array, src: Uint8Array, n: number): void {
  for (let i = 0; i < n; i++) target[i]! ^= src[i]!
}

/**
 * The digest of every object a node hosts, kept incrementally. The root hash is the XOR of
 * every non-empty object's entry hash (so one changed object costs one hash, not a rescan);
 * objects sit in a 16-ary tree by the hex digits of their key, and a bucket's summary is its
 * object count and the XOR of its entries' hashes cut to 8 bytes. Objects whose clock is empty
 * are left out: they hold nothing to exchange.
 */
export class DigestIndex {
  readonly #entries = new Map<string, Entry>()
  #sorted: Entry[] | undefined
  readonly #root = new Uint8Array(ROOT_HASH_BYTES)
  #count = 0
  readonly #dirty = new Set<Entry>()

  /** Adds an object (its clock may be empty) or ignores one already present. */
  add(object: IndexedObject): void {
    if (this.#entries.has(object.objectId)) return
    const entry: Entry = { object, key: objectKey(object.objectId), hash: undefined, dirty: true }
    this.#entries.set(object.objectId, entry)
    this.#dirty.add(entry)
    this.#sorted = undefined
  }

  /** Removes an object. */
  delete(objectId: string): void {
    const entry = this.#entries.get(objectId)
    if (entry === undefined) return
    this.#refresh()
    if (entry.hash !== undefined) {
      xorInto(this.#root, entry.hash, ROOT_HASH_BYTES)
      this.#count--
    }
    this.#entries.delete(objectId)
    this.#sorted = undefined
  }

  /** Records that an object's clock changed; its hash is recomputed when next needed. */
  touch(objectId: string): void {
    const entry = this.#entries.get(objectId)
    if (entry !== undefined && !entry.dirty) {
      entry.dirty = true
      this.#dirty.add(entry)
    }
  }

  #refresh(): void {
    if (this.#dirty.size === 0) return
    for (const entry of this.#dirty) {
      entry.dirty = false
      if (!this.#entries.has(entry.object.objectId)) continue
      if (entry.hash !== undefined) {
        xorInto(this.#root, entry.hash, ROOT_HASH_BYTES)
        this.#count--
      }
      const { objectId, typeId, clock } = entry.object
      entry.hash = clock.size === 0 ? undefined : entryHash(objectId, typeId, clock)
      if (entry.hash !== undefined) {
        xorInto(this.#root, entry.hash, ROOT_HASH_BYTES)
        this.#count++
      }
    }
    this.#dirty.clear()
  }

  /** Non-empty objects and the root hash (a copy). */
  root(): { count: number; hash: Uint8Array } {
    this.#refresh()
    return { count: this.#count, hash: this.#root.slice() }
  }

  #range(prefix: string): [number, number, Entry[]] {
    const sorted = (this.#sorted ??= [...this.#entries.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)))
    const lower = (bound: string): number => {
      let lo = 0
      let hi = sorted.length
      while (lo < hi) {
        const mid = (lo + hi) >>> 1
        if (sorted[mid]!.key < bound) lo = mid + 1
        else hi = mid
      }
      return lo
    }
    // 'g' sorts after every hex digit, so prefix + 'g' bounds the prefix's keys from above.
    return [lower(prefix), prefix.length === 0 ? sorted.length : lower(prefix + 'g'), sorted]
  }

  /** Count and hash of each of the 16 children of a bucket. */
  summarize(prefix: string): BucketSummary[] {
    this.#refresh()
    const counts = new Array<number>(16).fill(0)
    const hashes: Uint8Array[] = Array.from({ length: 16 }, () => new Uint8Array(BUCKET_HASH_BYTES))
    if (prefix.length < MAX_PREFIX_DEPTH) {
      const [from, to, sorted] = this.#range(prefix)
      const d = prefix.length
      for (let i = from; i < to; i++) {
        const entry = sorted[i]!
        if (entry.hash === undefined) continue
        const c = parseInt(entry.key[d]!, 16)
        counts[c]!++
        xorInto(hashes[c]!, entry.hash, BUCKET_HASH_BYTES)
      }
    }
    return counts.map((count, c) => ({ count, hash: count === 0 ? EMPTY_BUCKET_HASH : hashes[c]! }))
  }

  /** The non-empty objects under a bucket prefix. */
  under(prefix: string): IndexedObject[] {
    this.#refresh()
    const [from, to, sorted] = this.#range(prefix)
    const out: IndexedObject[] = []
    for (let i = from; i < to; i++) if (sorted[i]!.hash !== undefined) out.push(sorted[i]!.object)
    return out
  }

  /** True when the object id's key starts with the prefix. */
  static within(objectId: string, prefix: string): boolean {
    return objectKey(objectId).startsWith(prefix)
  }

  /** Every object indexed, empty or not. */
  get size(): number {
    return this.#entries.size
  }
}
