import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import {
  ErrorCodes,
  HearsayError,
  VersionVector,
  decodeWith,
  isHearsayError,

  readBoundedString,
  readBytes,
  readCount,
  readSafeUint,
  readVersionVector,
  writeVersionVector,
  MAX_REPLICA_ID_LENGTH,
  encodeWith,
  type Range,
  type ReadonlyVersionVector,
  readReplicaId,
} from '@hearsay/core'
import { bundleKeyFromNetworkKey } from './secure/keys.js'
import { readObjectId } from './messages.js'
import type { HostedObject, ObjectHost } from './ObjectHost.js'
import type { SeenDigests } from './SeenDigests.js'
import type { SentBundles } from './SentBundles.js'
import { OldestFirst, largestFitting } from './Budget.js'
import type { SignedHost } from './signed/SignedHost.js'
import { readSignedBatch, writeSignedBatch, type SignedBatch } from './signed/signedBatch.js'

/** The four bytes every bundle starts with: `HSBD`. */
export const BUNDLE_MAGIC = Uint8Array.of(0x48, 0x53, 0x42, 0x44)

/**
 * Version of the bundle format written (3: signed objects as segments; 2: sealed with
 * XChaCha20-Poly1305, read still; 1 had a bare HMAC tag, refused).
 */
export const BUNDLE_FORMAT_VERSION = 3
/** The oldest bundle format read. */
const OLDEST_BUNDLE_FORMAT = 2

/** Bytes of a bundle's random nonce. */
export const BUNDLE_NONCE_BYTES = 24

const TAG_BYTES = 16

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
  /** Per signed object: its type, policy and segments, as their writers signed them (none in format 2). */
  readonly signed?: ReadonlyArray<{ readonly objectId: string; readonly typeId: number; readonly batch: SignedBatch }> | undefined
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
 * Encodes a bundle: magic, format version and a random 24-byte nonce in the clear, then the
 * body (sender, recipient, time, digest, objects) sealed with XChaCha20-Poly1305 under a key
 * derived from the network key, the clear header as associated data. Only holders of the
 * network key can read it; any altered byte makes it refuse to open.
 * @param nonce 24 fresh random bytes (default WebCrypto); never reuse one with the same key.
 * @throws TypeError on an empty network key or a nonce of the wrong length.
 */
export function encodeBundle(networkKey: string | Uint8Array, content: BundleContent, nonce: Uint8Array = crypto.getRandomValues(new Uint8Array(BUNDLE_NONCE_BYTES))): Uint8Array {
  if (!(nonce instanceof Uint8Array) || nonce.length !== BUNDLE_NONCE_BYTES) throw new TypeError(`a bundle nonce is ${BUNDLE_NONCE_BYTES} bytes`)
  const body = encodeWith((e) => writeBundleBody(e, content))
  const h = encoding.createEncoder()
  encoding.writeUint8Array(h, BUNDLE_MAGIC)
  encoding.writeVarUint(h, BUNDLE_FORMAT_VERSION)
  encoding.writeUint8Array(h, nonce)
  const header = encoding.toUint8Array(h)
  const sealed = xchacha20poly1305(bundleKeyFromNetworkKey(networkKey), nonce, header).encrypt(body)
  const out = new Uint8Array(header.length + sealed.length)
  out.set(header)
  out.set(sealed, header.length)
  return out
}

function writeBundleBody(e: encoding.Encoder, content: BundleContent): void {
  encoding.writeVarString(e, content.from)
  encoding.writeVarString(e, content.for ?? '')
  encoding.writeVarUint(e, Math.max(0, Math.floor(content.time)))
  writeDigest(e, content.digest)
  encoding.writeVarUint(e, content.objects.length)
  for (const o of content.objects) {
    writeObjectHead(e, o.objectId, o.typeId, o.ranges.length)
    encoding.writeUint8Array(e, o.ranges)
  }
  const signed = content.signed ?? []
  encoding.writeVarUint(e, signed.length)
  for (const o of signed) {
    encoding.writeVarString(e, o.objectId)
    encoding.writeVarUint(e, o.typeId)
    writeSignedBatch(e, o.batch)
  }
}

function writeObjectHead(e: encoding.Encoder, objectId: string, typeId: number, bytes: number): void {
  encoding.writeVarString(e, objectId)
  encoding.writeVarUint(e, typeId)
  encoding.writeVarUint(e, bytes)
}

/** Bytes of a sealed bundle besides its body: magic, format version, nonce, tag. */
const SEAL_BYTES = BUNDLE_MAGIC.length + 1 + BUNDLE_NONCE_BYTES + TAG_BYTES

/**
 * Opens a bundle and decodes it whole.
 * @throws HearsayError `HEARSAY_AUTH_FAILED` when it does not open with the network key
 * (another network, or altered bytes); `HEARSAY_PROTOCOL_VERSION` for another format version
 * (version 1 bundles, with a bare HMAC tag, are refused); `HEARSAY_DECODE_ERROR` otherwise.
 */
export function decodeBundle(networkKey: string | Uint8Array, bytes: Uint8Array): BundleContent {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('a bundle is a Uint8Array')
  const key = bundleKeyFromNetworkKey(networkKey)
  if (bytes.length < BUNDLE_MAGIC.length + 1 || !BUNDLE_MAGIC.every((b, i) => bytes[i] === b)) {
    throw new HearsayError(ErrorCodes.DECODE_ERROR, 'not a hearsay bundle', { offset: 0 })
  }
  const d0 = decoding.createDecoder(bytes)
  decoding.readUint8Array(d0, BUNDLE_MAGIC.length)
  const vat = d0.pos
  let version: number
  try {
    version = readSafeUint(d0)
  } catch (err) {
    throw new HearsayError(ErrorCodes.DECODE_ERROR, 'bad bundle header', { offset: vat, cause: err })
  }
  if (version < OLDEST_BUNDLE_FORMAT || version > BUNDLE_FORMAT_VERSION) throw new HearsayError(ErrorCodes.PROTOCOL_VERSION, `bundle format ${version} is not ${OLDEST_BUNDLE_FORMAT}..${BUNDLE_FORMAT_VERSION}`, { offset: vat })
  const headerEnd = d0.pos + BUNDLE_NONCE_BYTES
  if (bytes.length < headerEnd + TAG_BYTES) throw new HearsayError(ErrorCodes.DECODE_ERROR, 'bundle truncated', { offset: bytes.length })
  const nonce = bytes.subarray(d0.pos, headerEnd)
  let body: Uint8Array
  try {
    body = xchacha20poly1305(key, nonce, bytes.subarray(0, headerEnd)).decrypt(bytes.subarray(headerEnd))
  } catch {
    throw new HearsayError(ErrorCodes.AUTH_FAILED, 'bundle does not open with the network key (another network, or altered bytes)')
  }
  return decodeWith(body, (d) => {
    const from = readReplicaId(d, 'bad sender id')
    const to = readBoundedString(d, MAX_REPLICA_ID_LENGTH * 3)
    const time = readSafeUint(d)
    const digest = readDigest(d)
    const n = readCount(d, 3)
    const objects: Array<{ objectId: string; typeId: number; ranges: Uint8Array }> = []
    for (let i = 0; i < n; i++) objects.push({ objectId: readObjectId(d), typeId: readSafeUint(d), ranges: readBytes(d) })
    const signed: Array<{ objectId: string; typeId: number; batch: SignedBatch }> = []
    const m = version >= 3 ? readCount(d, 3) : 0
    for (let i = 0; i < m; i++) {
      const objectId = readObjectId(d)
      const typeId = readSafeUint(d)
      const at = d.pos
      const batch = readSignedBatch(d)
      if (batch.segments.some((s) => s.objectId !== objectId || s.typeId !== typeId)) throw new HearsayError(ErrorCodes.DECODE_ERROR, 'a segment of another object in a bundle entry', { offset: at })
      signed.push({ objectId, typeId, batch })
    }
    return { from, for: to === '' ? undefined : to, time, digest, objects, signed }
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
  /** The network key, from which the bundle key is derived. */
  readonly key: string | Uint8Array
  /** A fresh 24-byte nonce for a bundle (seeded in simulations). */
  nonce(): Uint8Array
  readonly objects: ObjectHost
  /** The signed objects: carried as their segments, verified on import. */
  readonly signed: SignedHost
  readonly seen: SeenDigests
  /** What was exported for each peer since it last acknowledged a bundle. */
  readonly sent: SentBundles
  now(): number
  /** Reports an object of a bundle that could not be applied (the rest of the bundle is). */
  report(err: HearsayError, from: string): void
}

/** What {@link exportBundle} made. */
export interface BundleExport {
  /** The bundle's bytes (at most `maxBytes`). */
  readonly bytes: Uint8Array
  /** Updates it carries. */
  readonly updates: number
  /** Objects it carries ranges of. */
  readonly objects: number
  /** False when `maxBytes` left updates out; the next export for the same peer carries on from there. */
  readonly complete: boolean
}

/**
 * A bundle holding what peer `forPeer` may lack, or everything when no peer is named, plus
 * this node's digest. Waits until the local writes it carries are durable.
 *
 * Without `maxBytes` it carries everything past the last digest seen from the peer (what it
 * acknowledged, or reported in a session), so a lost bundle is made good by the next one. With
 * `maxBytes` the whole file is at most that many bytes: each object's history goes oldest
 * first ({@link OldestFirst}), objects in id order, and the bundle ends at the first update
 * that does not fit; it starts past what earlier bundles for the peer carried since it last
 * acknowledged one ({@link SentBundles}), so bundles carried one way pick up where the last
 * stopped, and an acknowledgement (the peer's bundle back) makes the next one start from what
 * the peer holds, carrying again what was lost. Every export for a peer is recorded there.
 * @throws HearsayError `HEARSAY_LIMIT_EXCEEDED` when `maxBytes` cannot hold the bundle's header
 * and digest, or the first update to carry (nothing is recorded then).
 */
export async function exportBundle(host: BundleHost, forPeer: string | undefined, options: { maxBytes?: number | undefined } = {}): Promise<BundleExport> {
  const maxBytes = options.maxBytes ?? Infinity
  const { objects } = host
  await objects.persister.flush()
  const seen = forPeer === undefined ? undefined : await host.seen.load(forPeer)
  const sent = forPeer === undefined || maxBytes === Infinity ? undefined : await host.sent.load(forPeer)
  const sinceOf = (o: { objectId: string; typeId: number; clock: ReadonlyVersionVector }): VersionVector | undefined => {
    if (o.clock.size === 0) return undefined
    const theirs = seen?.objects.get(o.objectId)
    if (theirs !== undefined && theirs.typeId !== o.typeId) return undefined
    const since = theirs?.vector.clone() ?? new VersionVector()
    const mine = sent?.get(o.objectId)
    if (mine !== undefined && mine.typeId === o.typeId) since.merge(mine.vector)
    const cmp = o.clock.compare(since)
    return cmp === 'after' || cmp === 'concurrent' ? since : undefined
  }
  // Objects hosted by their index line that the bundle carries are loaded first.
  for (const id of objects.ids()) {
    const o = objects.entry(id)
    if (o !== undefined && objects.get(id) === undefined && sinceOf(o) !== undefined) await objects.load(id)
  }
  // Writes made while we waited must be durable too: the history below is read at once.
  while (objects.persister.backlog > 0) await objects.persister.flush()
  const digest: Array<{ objectId: string; typeId: number; vector: ReadonlyVersionVector }> = []
  const wanted: Array<{ o: HostedObject; since: VersionVector }> = []
  const signed: Array<{ objectId: string; typeId: number; batch: SignedBatch }> = []
  const record: Array<{ objectId: string; typeId: number; vector: ReadonlyVersionVector }> = []
  let skippedSigned = false
  for (const id of objects.ids()) {
    const o = objects.entry(id)!
    if (o.clock.size === 0) continue
    digest.push({ objectId: id, typeId: o.typeId, vector: o.clock })
    const since = sinceOf(o)
    if (since === undefined) continue
    const loaded = objects.get(id)
    if (loaded === undefined) throw new HearsayError(ErrorCodes.STORE_ERROR, `object ${id} could not be loaded for the bundle`)
    // A signed object travels as its segments, whole (a budget cannot cut a signed segment):
    // only in a bundle without a byte budget.
    if (host.signed.owns(id)) {
      const batch = maxBytes === Infinity ? host.signed.history(id, since) : undefined
      if (batch !== undefined) {
        signed.push({ objectId: id, typeId: o.typeId, batch })
        record.push({ objectId: id, typeId: o.typeId, vector: loaded.clock.clone() })
      } else if (maxBytes !== Infinity) skippedSigned = true
      continue
    }
    wanted.push({ o: loaded, since })
  }
  const time = host.now()
  const carried: Array<{ objectId: string; typeId: number; ranges: Uint8Array }> = []
  let updates = 0
  let complete = !skippedSigned
  if (maxBytes === Infinity) {
    for (const { o, since } of wanted) {
      const h = o.replica.historySince(since)
      carried.push({ objectId: o.objectId, typeId: o.typeId, ranges: o.replica.encodeRanges(h) })
      updates += h.reduce((n, r) => n + r.updates.length, 0)
      record.push({ objectId: o.objectId, typeId: o.typeId, vector: o.clock.clone() })
    }
  } else {
    // The sealed bundle without objects, plus a byte for an object count that may grow past 127.
    let used = SEAL_BYTES + encodeWith((e) => writeBundleBody(e, { from: host.nodeId, for: forPeer, time, digest, objects: [] })).length + 1
    if (used > maxBytes) throw new HearsayError(ErrorCodes.LIMIT_EXCEEDED, `a bundle${forPeer === undefined ? '' : ` for ${forPeer}`} needs ${used} bytes for its header and this node's digest; maxBytes is ${maxBytes}`)
    let perUpdate = 0
    for (const { o, since } of wanted) {
      const cursor = new OldestFirst(o.replica.historySince(since), { since, depsOf: (u) => o.replica.dependencies(u) })
      const room = maxBytes - used - (carried.length === 127 ? 1 : 0)
      let best: { n: number; ranges: Uint8Array } | undefined
      const fits = (n: number): boolean => {
        const ranges = o.replica.encodeRanges(cursor.peek(n))
        if (encodeWith((e) => writeObjectHead(e, o.objectId, o.typeId, ranges.length)).length + ranges.length > room) return false
        if (best === undefined || n > best.n) best = { n, ranges }
        return true
      }
      const n = cursor.remaining === 0 ? (fits(0) ? 0 : -1) : largestFitting(cursor.remaining, fits, perUpdate > 0 ? room / perUpdate : 1)
      if (n <= 0 && (n < 0 || cursor.remaining > 0)) {
        if (carried.length === 0) {
          const one = o.replica.encodeRanges(cursor.peek(1)).length
          throw new HearsayError(ErrorCodes.LIMIT_EXCEEDED, `the next update of ${o.objectId} for ${forPeer ?? 'the bundle'} takes ${one} bytes and the bundle's header and digest ${used}; maxBytes ${maxBytes} cannot hold them`)
        }
        complete = false
        break
      }
      const pieces = cursor.take(n)
      const vector = since.clone()
      for (const r of pieces) vector.advance(r.source, r.to)
      carried.push({ objectId: o.objectId, typeId: o.typeId, ranges: best!.ranges })
      record.push({ objectId: o.objectId, typeId: o.typeId, vector })
      used += encodeWith((e) => writeObjectHead(e, o.objectId, o.typeId, best!.ranges.length)).length + best!.ranges.length
      updates += n
      if (n > 0) perUpdate = best!.ranges.length / n
      if (!cursor.done) {
        complete = false
        break
      }
    }
  }
  for (const x of signed) updates += x.batch.segments.reduce((n, seg) => n + (seg.to - seg.from), 0)
  const bytes = encodeBundle(host.key, { from: host.nodeId, for: forPeer, time, digest, objects: carried, signed }, host.nonce())
  if (forPeer !== undefined) await host.sent.record(forPeer, record)
  return { bytes, updates, objects: carried.length, complete }
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
      // A signed object's updates count only inside segments that verify.
      if (host.signed.owns(x.objectId)) throw host.signed.refuseUnsigned(x.objectId)
      const have = host.objects.get(x.objectId) ?? (await host.objects.load(x.objectId))
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
  for (const x of content.signed ?? []) {
    if (!host.signed.owns(x.objectId)) {
      host.report(new HearsayError(ErrorCodes.DECODE_ERROR, `signed segments of ${JSON.stringify(x.objectId.slice(0, 80))}, which is not a signed object's id`), content.from)
      continue
    }
    if (host.objects.get(x.objectId) === undefined && host.objects.has(x.objectId)) {
      try {
        await host.objects.load(x.objectId)
      } catch (err) {
        host.report(isHearsayError(err) ? err : new HearsayError(ErrorCodes.STORE_ERROR, String(err), { cause: err }), content.from)
        continue
      }
    }
    const r = host.signed.receive(x.objectId, x.typeId, x.batch, 'bundle')
    applied += r.applied
    if (r.error !== undefined) host.report(r.error, content.from)
  }
  // The sender holds what it listed: record that, so the next bundle back carries only what it lacks.
  // What was sent before counts no more: the next budgeted bundle starts from what the sender holds.
  if (content.from !== host.nodeId && (await host.seen.acknowledge(content.from, content.time, content.digest))) await host.sent.clear(content.from)
  return { from: content.from, objects: content.objects.length, applied, waiting }
}
