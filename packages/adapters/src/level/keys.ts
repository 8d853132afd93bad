// Every LevelDB key the store writes comes from a function in this file, so the layout lives in
// one place (and in PROTOCOL.md). Keys are bytes: the layout version, a section tag, then
// fields. Numbers are fixed-width big-endian so byte order equals numeric order, and inside an
// object's data section that makes key order equal append order.
import { HearsayError, ErrorCodes } from '@hearsay/core'

/** Version of the key layout; the first byte of every key. */
export const LAYOUT_VERSION = 1

/** Section tags (second byte of every key). */
export const Section = {
  /** `[v, 'h']`: the header, written once when the store is created. */
  Header: 0x68,
  /** `[v, 'o', objectId utf8]`: an object's handle and type. */
  Object: 0x6f,
  /** `[v, 'd', handle u32, ...]`: an object's snapshot and batches. */
  Data: 0x64,
  /** `[v, 'm', key utf8]`: node metadata. */
  Meta: 0x6d,
} as const

/** Record kinds inside an object's data section (the byte after the handle). */
export const DataKind = {
  /** `[v, 'd', handle, 0x00]`: the snapshot record (cutoff u64, then the snapshot bytes). */
  Snapshot: 0x00,
  /** `[v, 'd', handle, 0x01, batch u64]`: one appended batch. */
  Batch: 0x01,
} as const

/** Largest batch number the 8-byte field holds exactly as a JS number. */
export const MAX_BATCH = Number.MAX_SAFE_INTEGER

const utf8 = new TextEncoder()
const utf8d = new TextDecoder('utf-8', { fatal: true })

function writeU32(out: Uint8Array, at: number, n: number): void {
  out[at] = (n >>> 24) & 0xff
  out[at + 1] = (n >>> 16) & 0xff
  out[at + 2] = (n >>> 8) & 0xff
  out[at + 3] = n & 0xff
}

function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0
}

/** Writes `n` (0..2^53-1) as 8 bytes big-endian at `at`. */
export function writeU64(out: Uint8Array, at: number, n: number): void {
  writeU32(out, at, Math.floor(n / 0x1_0000_0000))
  writeU32(out, at + 4, n >>> 0)
}

/** Reads 8 bytes big-endian at `at`. @throws HearsayError `HEARSAY_DECODE_ERROR` beyond 2^53-1. */
export function readU64(b: Uint8Array, at: number): number {
  if (b.length < at + 8) throw new HearsayError(ErrorCodes.DECODE_ERROR, 'truncated 8-byte number in store record', { offset: at })
  const n = readU32(b, at) * 0x1_0000_0000 + readU32(b, at + 4)
  if (!Number.isSafeInteger(n)) throw new HearsayError(ErrorCodes.DECODE_ERROR, 'store number out of range', { offset: at })
  return n
}

function tagged(section: number, rest: number): Uint8Array {
  const k = new Uint8Array(2 + rest)
  k[0] = LAYOUT_VERSION
  k[1] = section
  return k
}

/** The header key. */
export function headerKey(): Uint8Array {
  return tagged(Section.Header, 0)
}

/** The key of an object's record. */
export function objectKey(objectId: string): Uint8Array {
  const id = utf8.encode(objectId)
  const k = tagged(Section.Object, id.length)
  k.set(id, 2)
  return k
}

/** Every object record lies in `[objectsStart, objectsEnd)`. */
export function objectsStart(): Uint8Array {
  return tagged(Section.Object, 0)
}

/** End (exclusive) of the object records. */
export function objectsEnd(): Uint8Array {
  return tagged(Section.Object + 1, 0)
}

/** The object id of an object record's key. @throws HearsayError `HEARSAY_DECODE_ERROR` on bad UTF-8. */
export function objectIdOfKey(key: Uint8Array): string {
  try {
    return utf8d.decode(key.subarray(2))
  } catch (err) {
    throw new HearsayError(ErrorCodes.DECODE_ERROR, 'object key is not UTF-8', { offset: 2, cause: err })
  }
}

/** The key of an object's snapshot record. */
export function snapshotKey(handle: number): Uint8Array {
  const k = tagged(Section.Data, 5)
  writeU32(k, 2, handle)
  k[6] = DataKind.Snapshot
  return k
}

/** The key of an object's batch number `n`. */
export function batchKey(handle: number, n: number): Uint8Array {
  const k = tagged(Section.Data, 13)
  writeU32(k, 2, handle)
  k[6] = DataKind.Batch
  writeU64(k, 7, n)
  return k
}

/** The batch number of a batch key. */
export function batchOfKey(key: Uint8Array): number {
  return readU64(key, 7)
}

/** Start (inclusive) of an object's data section: its snapshot, then its batches. */
export function dataStart(handle: number): Uint8Array {
  const k = tagged(Section.Data, 4)
  writeU32(k, 2, handle)
  return k
}

/** End (exclusive) of an object's data section. */
export function dataEnd(handle: number): Uint8Array {
  const k = tagged(Section.Data, 5)
  writeU32(k, 2, handle)
  k[6] = 0xff
  return k
}

/** Start (inclusive) of an object's batches. */
export function batchesStart(handle: number): Uint8Array {
  return batchKey(handle, 0)
}

/** The key of one metadata entry. */
export function metaKey(key: string): Uint8Array {
  const id = utf8.encode(key)
  const k = tagged(Section.Meta, id.length)
  k.set(id, 2)
  return k
}

/** Is `key` a snapshot key (rather than a batch key) of its data section? */
export function isSnapshotKey(key: Uint8Array): boolean {
  return key.length === 7 && key[6] === DataKind.Snapshot
}

/** Values of object records: handle u32 BE, then the type id as u32 BE. */
export function encodeObjectRecord(handle: number, typeId: number): Uint8Array {
  const v = new Uint8Array(8)
  writeU32(v, 0, handle)
  writeU32(v, 4, typeId)
  return v
}

/** Reads an object record. @throws HearsayError `HEARSAY_DECODE_ERROR` when malformed. */
export function decodeObjectRecord(v: Uint8Array): { handle: number; typeId: number } {
  if (v.length !== 8) throw new HearsayError(ErrorCodes.DECODE_ERROR, `object record of ${v.length} bytes, expected 8`, { offset: 0 })
  return { handle: readU32(v, 0), typeId: readU32(v, 4) }
}

/** Values of snapshot records: the cutoff batch number u64 BE, then the snapshot bytes. */
export function encodeSnapshotRecord(cutoff: number, snapshot: Uint8Array): Uint8Array {
  const v = new Uint8Array(8 + snapshot.length)
  writeU64(v, 0, cutoff)
  v.set(snapshot, 8)
  return v
}

/** Reads a snapshot record. */
export function decodeSnapshotRecord(v: Uint8Array): { cutoff: number; snapshot: Uint8Array } {
  return { cutoff: readU64(v, 0), snapshot: v.subarray(8) }
}

/** The header value: magic "hearsay" then the layout version. */
export function encodeHeader(): Uint8Array {
  const magic = utf8.encode('hearsay')
  const v = new Uint8Array(magic.length + 1)
  v.set(magic, 0)
  v[magic.length] = LAYOUT_VERSION
  return v
}
