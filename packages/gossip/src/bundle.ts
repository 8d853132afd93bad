import { timingSafeEqual } from 'node:crypto'
import {
  ErrorCodes,
  HearsayError,
  VersionVector,
  decodeWith,
  isHearsayError,
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
  type Range,
  type ReadonlyVersionVector,
} from '@hearsay/core'
import { bundleTag } from './auth.js'
import { readObjectId } from './messages.js'
import type { ObjectHost } from './ObjectHost.js'
import type { SeenDigests } from './SeenDigests.js'

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

/** What {@link Node.importBundle} did. */
export interface ImportResult {
  /** The node that exported the bundle. */
  readonly from: string
  readonly objects: number
  readonly applied: number
  /** Updates of this bundle now waiting in causal buffers for ones that have not arrived. */
  readonly waiting: number
}

/** The parts of a node that bundles are made from and applied to. */
export interface BundleHost {
  readonly nodeId: string
  readonly key: Uint8Array
  readonly objects: ObjectHost
  readonly seen: SeenDigests
  now(): number
  /** Reports an object of a bundle that could not be applied (the rest of the bundle is). */
  report(err: HearsayError, from: string): void
}

/**
 * A bundle holding everything peer `forPeer` may lack since the last digest seen from it, or
 * everything when no peer is named, plus this node's digest. Waits until the local writes it
 * carries are durable.
 */
export async function exportBundle(host: BundleHost, forPeer: string | undefined): Promise<Uint8Array> {
  const { objects } = host
  await objects.persister.flush()
  const seen = forPeer === undefined ? undefined : await host.seen.load(forPeer)
  // Writes made while we waited must be durable too: the history below is read at once.
  while (objects.persister.backlog > 0) await objects.persister.flush()
  const digest: Array<{ objectId: string; typeId: number; vector: ReadonlyVersionVector }> = []
  const carried: Array<{ objectId: string; typeId: number; ranges: Uint8Array }> = []
  for (const id of objects.ids()) {
    const o = objects.get(id)!
    if (o.clock.size === 0) continue
    digest.push({ objectId: id, typeId: o.typeId, vector: o.clock })
    const theirs = seen?.objects.get(id)
    if (theirs !== undefined && theirs.typeId !== o.typeId) continue
    const since = theirs?.vector ?? new VersionVector()
    const cmp = o.clock.compare(since)
    if (cmp !== 'after' && cmp !== 'concurrent') continue
    carried.push({ objectId: id, typeId: o.typeId, ranges: o.replica.encodeRanges(o.replica.historySince(since)) })
  }
  return encodeBundle(host.key, { from: host.nodeId, for: forPeer, time: host.now(), digest, objects: carried })
}

/**
 * Applies a bundle from {@link exportBundle} (ranges that arrive early wait in the causal
 * buffer) and records the sender's digest. An object that cannot be applied (another type here,
 * an unregistered type, bad bytes) is reported and skipped.
 * @throws HearsayError `HEARSAY_AUTH_FAILED` (another network key or altered bytes), `HEARSAY_DECODE_ERROR`.
 */
export async function importBundle(host: BundleHost, bytes: Uint8Array): Promise<ImportResult> {
  const content = decodeBundle(host.key, bytes)
  let applied = 0
  let waiting = 0
  for (const x of content.objects) {
    try {
      const have = host.objects.get(x.objectId)
      if (have !== undefined && have.typeId !== x.typeId) throw new HearsayError(ErrorCodes.TYPE_MISMATCH, `object ${x.objectId} is type ${have.typeId} here; the bundle has type ${x.typeId}`)
      const replica = have?.replica ?? host.objects.create(x.typeId)
      let ranges: Range<any>[]
      try {
        ranges = replica.decodeRanges(x.ranges)
      } catch (err) {
        if (have === undefined) replica.dispose()
        throw err
      }
      if (have === undefined) host.objects.adopt(x.objectId, replica)
      const before = replica.pendingCount
      const r = replica.applyRanges(ranges, 'bundle')
      applied += r.applied
      waiting += Math.max(0, replica.pendingCount - before)
    } catch (err) {
      host.report(isHearsayError(err) ? err : new HearsayError(ErrorCodes.DECODE_ERROR, String(err), { cause: err }), content.from)
    }
  }
  // The sender holds what it listed: record that, so the next bundle back carries only what it lacks.
  if (content.from !== host.nodeId) await host.seen.acknowledge(content.from, content.time, content.digest)
  return { from: content.from, objects: content.objects.length, applied, waiting }
}
