import { timingSafeEqual } from 'node:crypto'
import {
  ErrorCodes,
  HearsayError,
  decodeWith,
  decoding,
  encoding,
  isReplicaId,
  readBoundedString,
  readBytes,
  readCount,
  readSafeUint,
  readVersionVector,
  writeVersionVector,
  MAX_REPLICA_ID_LENGTH,
  type ReadonlyVersionVector,
  type VersionVector,
} from '@hearsay/core'
import { bundleTag } from './auth.js'
import { readObjectId } from './messages.js'

/** The four bytes every bundle starts with: `HSBD`. */
export const BUNDLE_MAGIC = Uint8Array.of(0x48, 0x53, 0x42, 0x44)

/** Version of the bundle format. */
export const BUNDLE_FORMAT_VERSION = 1

const TAG_BYTES = 32

/** A sender's digest: every object it holds, with its type and vector. */
export type BundleDigest = ReadonlyArray<{ readonly objectId: string; readonly typeId: number; readonly vector: ReadonlyVersionVector }>

/** What a bundle carries. */
export interface BundleContent {
  /** The sending node. */
  readonly from: string
  /** The node it was exported for, when it was made for one. */
  readonly for: string | undefined
  /** The sender's wall time at export (ms). */
  readonly time: number
  /** What the sender held at export: the recipient acknowledges it by recording it. */
  readonly digest: BundleDigest
  /** Per object: its type and encoded ranges (`Replicated.encodeRanges`). */
  readonly objects: ReadonlyArray<{ readonly objectId: string; readonly typeId: number; readonly ranges: Uint8Array }>
}

/** Writes a digest: count, then (object id, type id, vector) sorted by object id. */
export function writeDigest(e: encoding.Encoder, digest: BundleDigest): void {
  const sorted = [...digest].sort((a, b) => (a.objectId < b.objectId ? -1 : a.objectId > b.objectId ? 1 : 0))
  encoding.writeVarUint(e, sorted.length)
  for (const x of sorted) {
    encoding.writeVarString(e, x.objectId)
    encoding.writeVarUint(e, x.typeId)
    writeVersionVector(e, x.vector)
  }
}

/** Reads what {@link writeDigest} wrote. */
export function readDigest(d: decoding.Decoder): Array<{ objectId: string; typeId: number; vector: VersionVector }> {
  const n = readCount(d, 3)
  const out: Array<{ objectId: string; typeId: number; vector: VersionVector }> = []
  for (let i = 0; i < n; i++) out.push({ objectId: readObjectId(d), typeId: readSafeUint(d), vector: readVersionVector(d) })
  return out
}

/**
 * Encodes a bundle: magic, format version, sender, recipient, time, digest, objects, then an
 * HMAC-SHA256 tag keyed with the network key over everything before it.
 */
export function encodeBundle(key: Uint8Array, content: BundleContent): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeUint8Array(e, BUNDLE_MAGIC)
  encoding.writeVarUint(e, BUNDLE_FORMAT_VERSION)
  encoding.writeVarString(e, content.from)
  encoding.writeVarString(e, content.for ?? '')
  encoding.writeVarUint(e, Math.max(0, Math.floor(content.time)))
  writeDigest(e, content.digest)
  encoding.writeVarUint(e, content.objects.length)
  for (const o of content.objects) {
    encoding.writeVarString(e, o.objectId)
    encoding.writeVarUint(e, o.typeId)
    encoding.writeVarUint8Array(e, o.ranges)
  }
  const body = encoding.toUint8Array(e)
  const out = new Uint8Array(body.length + TAG_BYTES)
  out.set(body)
  out.set(bundleTag(key, body), body.length)
  return out
}

/**
 * Checks a bundle's tag, then decodes it whole.
 * @throws HearsayError `HEARSAY_AUTH_FAILED` when the tag does not match the network key (another
 * network, or altered bytes); `HEARSAY_DECODE_ERROR` or `HEARSAY_PROTOCOL_VERSION` otherwise.
 */
export function decodeBundle(key: Uint8Array, bytes: Uint8Array): BundleContent {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('a bundle is a Uint8Array')
  if (bytes.length < BUNDLE_MAGIC.length + TAG_BYTES || !BUNDLE_MAGIC.every((b, i) => bytes[i] === b)) {
    throw new HearsayError(ErrorCodes.DECODE_ERROR, 'not a hearsay bundle', { offset: 0 })
  }
  const body = bytes.subarray(0, bytes.length - TAG_BYTES)
  const tag = bytes.subarray(bytes.length - TAG_BYTES)
  if (!timingSafeEqual(tag, bundleTag(key, body))) throw new HearsayError(ErrorCodes.AUTH_FAILED, 'bundle tag does not match the network key')
  return decodeWith(body, (d) => {
    decoding.readUint8Array(d, BUNDLE_MAGIC.length)
    const vat = d.pos
    const version = readSafeUint(d)
    if (version !== BUNDLE_FORMAT_VERSION) throw new HearsayError(ErrorCodes.PROTOCOL_VERSION, `bundle format ${version} is not ${BUNDLE_FORMAT_VERSION}`, { offset: vat })
    const fat = d.pos
    const from = readBoundedString(d, MAX_REPLICA_ID_LENGTH * 3)
    if (!isReplicaId(from)) throw new HearsayError(ErrorCodes.DECODE_ERROR, 'bad sender id', { offset: fat })
    const to = readBoundedString(d, MAX_REPLICA_ID_LENGTH * 3)
    const time = readSafeUint(d)
    const digest = readDigest(d)
    const n = readCount(d, 3)
    const objects: Array<{ objectId: string; typeId: number; ranges: Uint8Array }> = []
    for (let i = 0; i < n; i++) objects.push({ objectId: readObjectId(d), typeId: readSafeUint(d), ranges: readBytes(d) })
    return { from, for: to === '' ? undefined : to, time, digest, objects }
  })
}
