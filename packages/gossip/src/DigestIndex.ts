import { sha256 } from '@noble/hashes/sha2.js'
import * as encoding from 'lib0/encoding'
import { encodeVersionVector, toHex, type ReadonlyVersionVector } from '@hearsay/core'
import { BUCKET_HASH_BYTES, MAX_PREFIX_DEPTH, ROOT_HASH_BYTES, type BucketSummary } from './messages.js'

/** What the index needs from a hosted object. */
export interface IndexedObject {
  readonly objectId: string
  readonly typeId: number
  readonly clock: ReadonlyVersionVector
  /** The clock canonically encoded, when the object holds it so (an object not loaded): read instead of `clock`. */
  readonly vectorBytes?: Uint8Array
}

interface Entry {
  object: IndexedObject
  /**
   * The entry's slot in the index's pool: 8 bytes of key (the first 64 bits of SHA-256(object
   * id), which place it in the bucket tree) and 16 of entry hash (SHA-256 over id, type and
   * vector, cut to 16 bytes). A typed array per entry cost ~220 B of heap each.
   */
  readonly slot: number
  /** The hash slot holds a hash (the clock was non-empty when last hashed). */
  hashed: boolean
  dirty: boolean
  /** The index's change count when this entry last changed (see {@link DigestIndex.changedSince}). */
  changedAt: number
}

/** A bucket of the tree kept incrementally: objects under a prefix and the XOR of their hashes. */
interface Bucket {
  count: number
  readonly hash: Uint8Array
}

/**
 * Prefixes up to this length keep their bucket summary incrementally (one update per level when
 * an object changes), so a round that differs costs in proportion to what differs, not to the
 * number of objects. Deeper buckets are summed from the entries of their depth-3 bucket (about
 * n / 4096 objects: 24 at 100k).
 */
const TREE_DEPTH = 3

const UTF8 = new TextEncoder()
const EMPTY_BUCKET_HASH = new Uint8Array(BUCKET_HASH_BYTES)
const KEY_BYTES = MAX_PREFIX_DEPTH / 2
const SLOT_BYTES = KEY_BYTES + ROOT_HASH_BYTES
const HEX = '0123456789abcdef'

/** The bucket key of an object id: the first 64 bits of its SHA-256, as 16 hex digits. */
export function objectKey(objectId: string): string {
  return toHex(keyBytes(objectId))
}

function keyBytes(objectId: string): Uint8Array {
  return sha256(utf8(objectId)).subarray(0, KEY_BYTES)
}

// UTF-8 of an id, ASCII copied by hand: a TextEncoder call per id was a tenth of a start at 100k objects.
function utf8(s: string): Uint8Array {
  const out = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0x80) return UTF8.encode(s)
    out[i] = c
  }
  return out
}

/** The entry hash of an object: SHA-256 over its id, type id and canonical vector, cut to 16 bytes. */
export function entryHash(objectId: string, typeId: number, clock: ReadonlyVersionVector): Uint8Array {
  return entryHashOf(objectId, typeId, encodeVersionVector(clock))
}

/** {@link entryHash} from the canonically encoded vector. */
export function entryHashOf(objectId: string, typeId: number, vectorBytes: Uint8Array): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeVarString(e, objectId)
  encoding.writeVarUint(e, typeId)
  const head = encoding.toUint8Array(e)
  return sha256.create().update(head).update(vectorBytes).digest().slice(0, ROOT_HASH_BYTES)
}

/** The entry hash of an indexed object, undefined while its clock is empty. */
function hashOf(o: IndexedObject): Uint8Array | undefined {
  const bytes = o.vectorBytes
  if (bytes !== undefined) return bytes.length === 1 && bytes[0] === 0 ? undefined : entryHashOf(o.objectId, o.typeId, bytes)
  return o.clock.size === 0 ? undefined : entryHash(o.objectId, o.typeId, o.clock)
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
  readonly #root = new Uint8Array(ROOT_HASH_BYTES)
  #count = 0
  /** Entries to rehash (each once: its `dirty` flag guards the push). */
  #dirty: Entry[] = []
  /** Buckets of prefixes of length 1..TREE_DEPTH holding at least one non-empty object. */
  readonly #buckets = new Map<string, Bucket>()
  /** Every entry (empty or not) by the first TREE_DEPTH digits of its key. */
  readonly #leaves = new Map<string, Set<Entry>>()
  /** Entries in the order they changed (an entry may appear more than once; its last slot counts). */
  #changes: Entry[] = []
  #changeAt: number[] = []
  #version = 0
  /** Key and hash of every entry, SLOT_BYTES per slot. */
  #pool = new Uint8Array(SLOT_BYTES * 256)
  #slots = 0
  readonly #freeSlots: number[] = []

  #allocSlot(): number {
    const free = this.#freeSlots.pop()
    if (free !== undefined) return free
    if ((this.#slots + 1) * SLOT_BYTES > this.#pool.length) {
      const grown = new Uint8Array(this.#pool.length * 2)
      grown.set(this.#pool)
      this.#pool = grown
    }
    return this.#slots++
  }

  /** Hex digit `d` of an entry's key. */
  #digit(entry: Entry, d: number): number {
    const b = this.#pool[entry.slot * SLOT_BYTES + (d >> 1)]!
    return d & 1 ? b & 15 : b >> 4
  }

  /** The first `n` hex digits of an entry's key. */
  #prefix(entry: Entry, n: number): string {
    let p = ''
    for (let d = 0; d < n; d++) p += HEX[this.#digit(entry, d)]
    return p
  }

  #startsWith(entry: Entry, prefix: string): boolean {
    for (let d = 0; d < prefix.length; d++) if (HEX[this.#digit(entry, d)] !== prefix[d]) return false
    return true
  }

  #compareKeys(a: Entry, b: Entry): number {
    const pool = this.#pool
    for (let i = 0; i < KEY_BYTES; i++) {
      const x = pool[a.slot * SLOT_BYTES + i]!
      const y = pool[b.slot * SLOT_BYTES + i]!
      if (x !== y) return x - y
    }
    return 0
  }

  #hash(entry: Entry): Uint8Array {
    const at = entry.slot * SLOT_BYTES + KEY_BYTES
    return this.#pool.subarray(at, at + ROOT_HASH_BYTES)
  }

  /** Adds an object (its clock may be empty) or ignores one already present. */
  add(object: IndexedObject): void {
    if (this.#entries.has(object.objectId)) return
    const slot = this.#allocSlot()
    this.#pool.set(keyBytes(object.objectId), slot * SLOT_BYTES)
    const entry: Entry = { object, slot, hashed: false, dirty: true, changedAt: 0 }
    this.#entries.set(object.objectId, entry)
    const leaf = this.#prefix(entry, TREE_DEPTH)
    let set = this.#leaves.get(leaf)
    if (set === undefined) this.#leaves.set(leaf, (set = new Set()))
    set.add(entry)
    this.#dirty.push(entry)
    this.#changed(entry)
  }

  /**
   * Puts `object` in the place of the indexed object of the same id (an object loaded in the
   * place of its index line) and rehashes it when it is next needed.
   */
  rebind(object: IndexedObject): void {
    const entry = this.#entries.get(object.objectId)
    if (entry === undefined) return this.add(object)
    entry.object = object
    this.touch(object.objectId)
  }

  /** Removes an object. */
  delete(objectId: string): void {
    const entry = this.#entries.get(objectId)
    if (entry === undefined) return
    this.#refresh()
    if (entry.hashed) this.#toggle(entry, this.#hash(entry), -1)
    entry.hashed = false
    this.#entries.delete(objectId)
    const leaf = this.#prefix(entry, TREE_DEPTH)
    const set = this.#leaves.get(leaf)!
    set.delete(entry)
    if (set.size === 0) this.#leaves.delete(leaf)
    // Nothing reads a deleted entry's slot again: the change log and the dirty set skip
    // entries that are no longer the id's (and the dirty set was just emptied).
    this.#freeSlots.push(entry.slot)
  }

  /** Records that an object's clock changed; its hash is recomputed when next needed. */
  touch(objectId: string): void {
    const entry = this.#entries.get(objectId)
    if (entry === undefined) return
    if (!entry.dirty) {
      entry.dirty = true
      this.#dirty.push(entry)
    }
    this.#changed(entry)
  }

  #changed(entry: Entry): void {
    entry.changedAt = ++this.#version
    this.#changes.push(entry)
    this.#changeAt.push(entry.changedAt)
    // Keep only each entry's last slot once the log holds twice as many slots as entries, so
    // the log stays O(objects) and the cost per change amortised O(1).
    if (this.#changes.length > 2 * this.#entries.size + 1024) {
      const changes: Entry[] = []
      const at: number[] = []
      for (let i = 0; i < this.#changes.length; i++) {
        const e = this.#changes[i]!
        if (e.changedAt === this.#changeAt[i] && this.#entries.get(e.object.objectId) === e) {
          changes.push(e)
          at.push(e.changedAt)
        }
      }
      this.#changes = changes
      this.#changeAt = at
    }
  }

  /** Counts every change (add or touch); {@link changedSince} takes one as its mark. */
  get version(): number {
    return this.#version
  }

  /** The objects added or touched after the change count `version`, each once, in the order of their last change. */
  changedSince(version: number): IndexedObject[] {
    const at = this.#changeAt
    let lo = 0
    let hi = at.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (at[mid]! <= version) lo = mid + 1
      else hi = mid
    }
    const out: IndexedObject[] = []
    for (let i = lo; i < at.length; i++) {
      const e = this.#changes[i]!
      if (e.changedAt === at[i] && this.#entries.get(e.object.objectId) === e) out.push(e.object)
    }
    return out
  }

  // XORs a hash into (sign 1) or out of (sign -1) the root and every kept bucket on the entry's path.
  #toggle(entry: Entry, hash: Uint8Array, sign: 1 | -1): void {
    xorInto(this.#root, hash, ROOT_HASH_BYTES)
    this.#count += sign
    let prefix = ''
    for (let d = 1; d <= TREE_DEPTH; d++) {
      prefix += HEX[this.#digit(entry, d - 1)]
      let b = this.#buckets.get(prefix)
      if (b === undefined) this.#buckets.set(prefix, (b = { count: 0, hash: new Uint8Array(BUCKET_HASH_BYTES) }))
      b.count += sign
      xorInto(b.hash, hash, BUCKET_HASH_BYTES)
      if (b.count === 0) this.#buckets.delete(prefix)
    }
  }

  #refresh(): void {
    if (this.#dirty.length === 0) return
    const dirty = this.#dirty
    this.#dirty = []
    for (const entry of dirty) {
      entry.dirty = false
      if (this.#entries.get(entry.object.objectId) !== entry) continue
      if (entry.hashed) this.#toggle(entry, this.#hash(entry), -1)
      const h = hashOf(entry.object)
      entry.hashed = h !== undefined
      if (h !== undefined) {
        this.#pool.set(h, entry.slot * SLOT_BYTES + KEY_BYTES)
        this.#toggle(entry, h, 1)
      }
    }
  }

  /** Non-empty objects and the root hash (a copy). */
  root(): { count: number; hash: Uint8Array } {
    this.#refresh()
    return { count: this.#count, hash: this.#root.slice() }
  }

  /** Count and hash of each of the 16 children of a bucket. */
  summarize(prefix: string): BucketSummary[] {
    this.#refresh()
    const out: BucketSummary[] = []
    if (prefix.length >= MAX_PREFIX_DEPTH) {
      for (let c = 0; c < 16; c++) out.push({ count: 0, hash: EMPTY_BUCKET_HASH })
      return out
    }
    if (prefix.length < TREE_DEPTH) {
      for (let c = 0; c < 16; c++) {
        const b = this.#buckets.get(prefix + c.toString(16))
        out.push(b === undefined ? { count: 0, hash: EMPTY_BUCKET_HASH } : { count: b.count, hash: b.hash.slice() })
      }
      return out
    }
    const counts = new Array<number>(16).fill(0)
    const hashes: Uint8Array[] = Array.from({ length: 16 }, () => new Uint8Array(BUCKET_HASH_BYTES))
    const d = prefix.length
    for (const entry of this.#leaves.get(prefix.slice(0, TREE_DEPTH)) ?? []) {
      if (!entry.hashed || !this.#startsWith(entry, prefix)) continue
      const c = this.#digit(entry, d)
      counts[c]!++
      xorInto(hashes[c]!, this.#hash(entry), BUCKET_HASH_BYTES)
    }
    for (let c = 0; c < 16; c++) out.push({ count: counts[c]!, hash: counts[c] === 0 ? EMPTY_BUCKET_HASH : hashes[c]! })
    return out
  }

  /** The non-empty objects under a bucket prefix, in key order. */
  under(prefix: string): IndexedObject[] {
    this.#refresh()
    const found: Entry[] = []
    const collect = (leaf: string): void => {
      for (const entry of this.#leaves.get(leaf) ?? []) if (entry.hashed && this.#startsWith(entry, prefix)) found.push(entry)
    }
    if (prefix.length >= TREE_DEPTH) collect(prefix.slice(0, TREE_DEPTH))
    else {
      // Only the kept buckets that hold something are walked.
      const walk = (p: string): void => {
        if (p.length === TREE_DEPTH) return collect(p)
        for (let c = 0; c < 16; c++) {
          const child = p + c.toString(16)
          if (this.#buckets.has(child)) walk(child)
        }
      }
      walk(prefix)
    }
    found.sort((a, b) => this.#compareKeys(a, b))
    return found.map((e) => e.object)
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
