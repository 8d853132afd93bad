import { sha256 } from '@noble/hashes/sha2.js'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import {
  ErrorCodes,
  HearsayError,
  VersionVector,
  bytesEqual,
  decodeWith,
  encodeVersionVector,
  readSafeUint,
  readVersionVector,
  type Range,
  type ReadonlyVersionVector,
  type Store,
  type StoreEntry,
} from '@hearsay/core'
import { ROOT_HASH_BYTES } from './messages.js'

/**
 * Store id of the object index. It holds a control character, which no object id may
 * (`assertObjectId`), so no peer or user object can take it.
 */
export const INDEX_OBJECT_ID = '\u0000hearsay/object-index'
/** Type id the index is stored under (below 1000: reserved for hearsay; never registered as a replicated type). */
export const INDEX_TYPE_ID = 999

const FORMAT = 1
const KIND_RECORD = 1
const KIND_SNAPSHOT = 2
const CHECKSUM_BYTES = 8
/** Index records below this many bytes are never worth a snapshot of the whole index. */
const MIN_COMPACT_BYTES = 64 * 1024

/**
 * One object's line in the index: what gossip needs of an object without its replica, namely
 * its type, its version vector as stored (canonical bytes) and, once known, its content hash
 * at that vector. A line keeps offsets into the bytes it was decoded from (one buffer per
 * record, shared by its lines; a typed array per field cost ~100 B of heap each), and decodes
 * its vector when read, so an idle object costs little more than its bytes.
 */
export class IndexLine {
  readonly objectId: string
  readonly typeId: number
  readonly #bytes: Uint8Array
  readonly #at: number
  readonly #length: number
  /** Offset of the content hash in `#bytes`, -1 when none. */
  readonly #contentAt: number

  /** A line over `bytes`: the vector at `at` (`length` bytes), the content hash at `contentAt` (-1: none). */
  constructor(objectId: string, typeId: number, bytes: Uint8Array, at: number, length: number, contentAt: number) {
    this.objectId = objectId
    this.typeId = typeId
    this.#bytes = bytes
    this.#at = at
    this.#length = length
    this.#contentAt = contentAt
  }

  /** A line of its own bytes. */
  static of(objectId: string, typeId: number, vectorBytes: Uint8Array, content: Uint8Array | undefined): IndexLine {
    const bytes = new Uint8Array(vectorBytes.length + (content === undefined ? 0 : ROOT_HASH_BYTES))
    bytes.set(vectorBytes)
    if (content !== undefined) bytes.set(content.subarray(0, ROOT_HASH_BYTES), vectorBytes.length)
    return new IndexLine(objectId, typeId, bytes, 0, vectorBytes.length, content === undefined ? -1 : vectorBytes.length)
  }

  /** The vector the store holds for the object, canonically encoded (a view). */
  get vectorBytes(): Uint8Array {
    return this.#bytes.subarray(this.#at, this.#at + this.#length)
  }

  /** True when the stored vector is empty. */
  get empty(): boolean {
    return this.#length === 1 && this.#bytes[this.#at] === 0
  }

  /** The content hash (16 bytes, see `ContentHashes`) of the object's state at `vectorBytes`, when known (a view). */
  get content(): Uint8Array | undefined {
    return this.#contentAt < 0 ? undefined : this.#bytes.subarray(this.#contentAt, this.#contentAt + ROOT_HASH_BYTES)
  }

  /** True when the line holds a content hash. */
  get hasContent(): boolean {
    return this.#contentAt >= 0
  }

  /** The stored vector (decoded on every read: an idle line keeps bytes, not a map). */
  get clock(): ReadonlyVersionVector {
    return decodeWith(this.vectorBytes, readVersionVector)
  }
}

interface Note {
  readonly vectorBytes: Uint8Array
  readonly hash: Uint8Array
}

/** What {@link ObjectIndex.record} prepared: the store entry to append and what it commits once durable. */
export interface IndexRecord {
  readonly entry: StoreEntry
  readonly lines: readonly IndexLine[]
}

/** What {@link ObjectIndex.read} found in the store. */
export interface LoadedIndex {
  /** Why the stored index could not be read (it is then empty and must be rebuilt), if it could not. */
  readonly damage: string | undefined
  /** False when the store held no index at all. */
  readonly found: boolean
}

/**
 * The object index: per stored object its type, stored version vector and content hash, so
 * that a node answers digests without decoding any object's state, and materializes a replica
 * only when it is used. The index lives in the store as one reserved object
 * ({@link INDEX_OBJECT_ID}): every append of updates carries, in the same atomic append, a
 * record of the new lines of the objects it touches (so a crash never leaves updates without
 * their line, or a line ahead of its updates), and the index is compacted into a snapshot of
 * every line when its records outweigh the last snapshot. Each record and snapshot ends with
 * a checksum (SHA-256 cut to 8 bytes); one that does not check or decode makes the whole
 * stored index damaged, to be rebuilt from the updates, never trusted.
 *
 * The lines held here are the committed ones: what the store holds once the appends handed
 * out by {@link record} are durable.
 */
export class ObjectIndex {
  readonly #lines = new Map<string, IndexLine>()
  /** Content hashes computed since the last record, with the vector they hold for. */
  readonly #notes = new Map<string, Note>()
  /** Lines changed outside an append (corrections at load); written with the next record. */
  readonly #corrections = new Map<string, IndexLine>()
  #recordBytes = 0
  #snapshotBytes = 0

  /**
   * Reads the stored index into this one (which it empties first). Damage (a bad checksum, a record that does not decode) is reported
   * in `damage`, with an empty index: the caller rebuilds it from the objects' updates.
   */
  async read(store: Store): Promise<LoadedIndex> {
    this.#clear()
    const stored = await store.load(INDEX_OBJECT_ID)
    if (stored === undefined) return { damage: undefined, found: false }
    try {
      if (stored.typeId !== INDEX_TYPE_ID) throw new HearsayError(ErrorCodes.STORE_CORRUPT, `the index is stored under type ${stored.typeId}`)
      if (stored.snapshot !== undefined) {
        this.#apply(stored.snapshot, KIND_SNAPSHOT)
        this.#snapshotBytes = stored.snapshot.length
      }
      for (const b of stored.batches) {
        this.#apply(b, KIND_RECORD)
        this.#recordBytes += b.length
      }
    } catch (err) {
      this.#clear()
      return { damage: (err as Error).message, found: true }
    }
    return { damage: undefined, found: true }
  }

  #clear(): void {
    this.#lines.clear()
    this.#notes.clear()
    this.#corrections.clear()
    this.#recordBytes = 0
    this.#snapshotBytes = 0
  }

  /** The committed line of an object, if any. */
  line(objectId: string): IndexLine | undefined {
    return this.#corrections.get(objectId) ?? this.#lines.get(objectId)
  }

  /** Every committed line. */
  lines(): IterableIterator<IndexLine> {
    return this.#lines.values()
  }

  /** Lines held. */
  get size(): number {
    return this.#lines.size
  }

  /** Forgets the line of an object the store does not hold (it is dropped from the next snapshot). */
  drop(objectId: string): void {
    this.#lines.delete(objectId)
    this.#corrections.delete(objectId)
    this.#notes.delete(objectId)
  }

  /**
   * Sets an object's line to what its replica, just loaded from the store, holds: a line that
   * was missing or disagreed with the stored updates. Written with the next record.
   */
  correct(objectId: string, typeId: number, clock: ReadonlyVersionVector): void {
    const line = IndexLine.of(objectId, typeId, encodeVersionVector(clock), undefined)
    this.#corrections.set(objectId, line)
    this.#lines.set(objectId, line)
  }

  /** True when corrections or content hashes wait for a record. */
  get due(): boolean {
    return this.#corrections.size > 0 || this.#notes.size > 0
  }

  /**
   * Notes the content hash of an object whose state is at `clock`; recorded with the next
   * record if the object's stored vector is `clock` then.
   */
  noteContent(objectId: string, clock: ReadonlyVersionVector, hash: Uint8Array): void {
    const line = this.line(objectId)
    const vectorBytes = encodeVersionVector(clock)
    if (line !== undefined && line.hasContent && bytesEqual(line.vectorBytes, vectorBytes)) return
    this.#notes.set(objectId, { vectorBytes, hash: hash.slice(0, ROOT_HASH_BYTES) })
  }

  /**
   * The index record to append together with `batch` (the objects and the ranges appended for
   * them): each touched object's line with its vector moved to the ends of the ranges, plus
   * corrections and content hashes noted since. Undefined when there is nothing to record.
   */
  record(batch: ReadonlyArray<{ readonly objectId: string; readonly typeId: number; readonly ranges: readonly Range<any>[] }>): IndexRecord | undefined {
    const out = new Map<string, IndexLine>(this.#corrections)
    for (const b of batch) {
      const old = this.line(b.objectId)
      const v = old === undefined || old.typeId !== b.typeId ? new VersionVector() : decodeWith(old.vectorBytes, readVersionVector)
      for (const r of b.ranges) if (r.to > v.get(r.source)) v.set(r.source, r.to)
      const vectorBytes = encodeVersionVector(v)
      const keep = old !== undefined && old.typeId === b.typeId && bytesEqual(old.vectorBytes, vectorBytes) ? old.content : undefined
      out.set(b.objectId, IndexLine.of(b.objectId, b.typeId, vectorBytes, keep))
    }
    for (const [id, note] of this.#notes) {
      const line = out.get(id) ?? this.#lines.get(id)
      if (line === undefined || !bytesEqual(line.vectorBytes, note.vectorBytes)) continue
      out.set(id, IndexLine.of(id, line.typeId, line.vectorBytes, note.hash))
    }
    this.#notes.clear()
    this.#corrections.clear()
    if (out.size === 0) return undefined
    const lines = [...out.values()]
    return { entry: { objectId: INDEX_OBJECT_ID, typeId: INDEX_TYPE_ID, data: encodeLines(KIND_RECORD, lines) }, lines }
  }

  /** Takes the lines of a record the store acknowledged. */
  commit(record: IndexRecord): void {
    for (const l of record.lines) this.#lines.set(l.objectId, l)
    this.#recordBytes += record.entry.data.length
  }

  /** Puts back the corrections of a record the store refused (its lines stay uncommitted). */
  uncommit(record: IndexRecord): void {
    for (const l of record.lines) if (this.#lines.get(l.objectId) === l) this.#corrections.set(l.objectId, l)
  }

  /** True when the records appended since the last snapshot outweigh it. */
  get wantsSnapshot(): boolean {
    return this.#recordBytes > Math.max(this.#snapshotBytes, MIN_COMPACT_BYTES)
  }

  /** Every committed line, encoded as a snapshot for `store.compact`. */
  snapshot(): Uint8Array {
    return encodeLines(KIND_SNAPSHOT, [...this.#lines.values()])
  }

  /** Records that `snapshot` (of `bytes` bytes) replaced every record. */
  compacted(bytes: number): void {
    this.#snapshotBytes = bytes
    this.#recordBytes = 0
  }

  #apply(bytes: Uint8Array, kind: number): void {
    for (const line of decodeLines(bytes, kind)) this.#lines.set(line.objectId, line)
  }
}

function checksum(bytes: Uint8Array): Uint8Array {
  return sha256(bytes).subarray(0, CHECKSUM_BYTES)
}

function encodeLines(kind: number, lines: readonly IndexLine[]): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, FORMAT)
  encoding.writeVarUint(e, kind)
  encoding.writeVarUint(e, lines.length)
  for (const l of lines) {
    encoding.writeVarString(e, l.objectId)
    encoding.writeVarUint(e, l.typeId)
    encoding.writeVarUint8Array(e, l.vectorBytes)
    const content = l.content
    if (content === undefined) encoding.writeUint8(e, 0)
    else {
      encoding.writeUint8(e, 1)
      encoding.writeUint8Array(e, content)
    }
  }
  const body = encoding.toUint8Array(e)
  const out = new Uint8Array(body.length + CHECKSUM_BYTES)
  out.set(body)
  out.set(checksum(body), body.length)
  return out
}

/**
 * Decodes a record or snapshot. The lines keep views into `bytes` (one buffer per record, not
 * two arrays per line).
 * @throws HearsayError `HEARSAY_STORE_CORRUPT` on a bad checksum, `HEARSAY_DECODE_ERROR` on bad bytes.
 */
function decodeLines(bytes: Uint8Array, kind: number): IndexLine[] {
  if (bytes.length < CHECKSUM_BYTES) throw new HearsayError(ErrorCodes.STORE_CORRUPT, 'index record shorter than its checksum')
  const body = bytes.subarray(0, bytes.length - CHECKSUM_BYTES)
  if (!bytesEqual(checksum(body), bytes.subarray(body.length))) throw new HearsayError(ErrorCodes.STORE_CORRUPT, 'index record fails its checksum')
  return decodeWith(body, (d) => {
    const format = readSafeUint(d)
    if (format !== FORMAT) throw new HearsayError(ErrorCodes.STORE_CORRUPT, `index format ${format}, this build reads ${FORMAT}`)
    const k = readSafeUint(d)
    if (k !== kind) throw new HearsayError(ErrorCodes.STORE_CORRUPT, `index ${kind === KIND_SNAPSHOT ? 'snapshot' : 'record'} holds kind ${k}`)
    const n = readSafeUint(d)
    if (n > body.length) throw new HearsayError(ErrorCodes.STORE_CORRUPT, 'index line count beyond the record')
    const out: IndexLine[] = []
    for (let i = 0; i < n; i++) {
      const objectId = decoding.readVarString(d)
      const typeId = readSafeUint(d)
      const length = readSafeUint(d)
      const at = d.pos
      if (at + length > body.length) throw new HearsayError(ErrorCodes.STORE_CORRUPT, `index vector of ${objectId} runs past the record`)
      d.pos += length
      // The vector is decoded when read, not here (decoding and re-encoding 100k vectors took a
      // fifth of a start): the checksum above vouches for the bytes, which only
      // encodeVersionVector wrote.
      const flag = decoding.readUint8(d)
      if (flag > 1) throw new HearsayError(ErrorCodes.STORE_CORRUPT, `bad index flag ${flag}`)
      const contentAt = flag === 1 ? d.pos : -1
      if (flag === 1) {
        if (d.pos + ROOT_HASH_BYTES > body.length) throw new HearsayError(ErrorCodes.STORE_CORRUPT, `index content hash of ${objectId} runs past the record`)
        d.pos += ROOT_HASH_BYTES
      }
      out.push(new IndexLine(objectId, typeId, body, at, length, contentAt))
    }
    return out
  })
}
