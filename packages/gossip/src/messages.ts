import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { readSignedBatch, writeSignedBatch, type SignedBatch } from './signed/signedBatch.js'
import {
  ErrorCodes,
  HearsayError,

  isSafeName,
  readBoundedString,
  readCount,
  readSafeUint,
  readVersionVector,
  writeVersionVector,
  type ReadonlyVersionVector,
  type VersionVector,
  readReplicaId,
} from '@hearsay/core'

/**
 * Version of the gossip session protocol; sent in every hello. 4 added `Signed` (segments of
 * signed objects) and refuses unsigned ranges of them; a peer of another version is refused at
 * the hello with `HEARSAY_PROTOCOL_VERSION`, naming both versions.
 */
export const GOSSIP_PROTOCOL_VERSION = 4

/** Longest object id accepted, locally or from a peer (UTF-16 units). */
export const MAX_OBJECT_ID_LENGTH = 512

/** Bytes of the root hash. */
export const ROOT_HASH_BYTES = 16

/** Bytes of a bucket hash in a `Nodes` message. */
export const BUCKET_HASH_BYTES = 8

/** Deepest bucket prefix, in hex digits of the 64-bit object key. */
export const MAX_PREFIX_DEPTH = 16

/** Message kinds of the gossip session protocol: the first var-uint of every frame. */
export const GossipKind = {
  /** Protocol version and node id: the first sealed frame from each side. */
  Hello: 1,
  // 2 was Auth, the home-made proof of protocol 1; never reused.
  /** The sender refuses the session (code, message) and closes. */
  Refuse: 3,
  /** Object count and root hash; a reply means "equal to mine". */
  Root: 4,
  /** Bucket summaries (count and hash of each of 16 children) for some prefixes. */
  Nodes: 5,
  /** Every object the sender holds under some prefixes, with its type and vector. */
  Vectors: 6,
  /** Ranges of one object's history. */
  Ranges: 7,
  /** Per object, a hash of its vector and of its content: the content check (protocol 3). */
  Contents: 8,
  /** One object's whole encoded state, for a node whose content differed under equal vectors (protocol 3). */
  State: 9,
  /** Signed segments of one signed object, with its write policy (protocol 4). */
  Signed: 10,
} as const

/** Bytes of an object's vector hash and of its content hash in a `Contents` message. */
export const CONTENT_ENTRY_HASH_BYTES = 8

/** One entry of a `Contents` message. */
export interface ContentEntry {
  readonly objectId: string
  /** The first bytes of the object's entry hash (id, type, vector). */
  readonly vector: Uint8Array
  /** The first bytes of its content hash (SHA-256 over the id and `encodeState()`). */
  readonly content: Uint8Array
}

/** One child bucket as summarised in a `Nodes` message. */
export interface BucketSummary {
  /** Non-empty objects whose key falls in the bucket. */
  readonly count: number
  /** XOR of the first 8 bytes of their entry hashes; all zero when the count is 0. */
  readonly hash: Uint8Array
}

/** One entry of a `Vectors` message. */
export interface VectorEntry {
  readonly objectId: string
  readonly typeId: number
  readonly vector: VersionVector
}

/** A decoded gossip frame (all but `Ranges`, which needs the object's type to decode). */
export type GossipMessage =
  | { readonly kind: typeof GossipKind.Hello; readonly version: number; readonly nodeId: string }
  | { readonly kind: typeof GossipKind.Refuse; readonly code: string; readonly message: string }
  | { readonly kind: typeof GossipKind.Root; readonly flags: number; readonly count: number; readonly hash: Uint8Array; readonly content: Uint8Array | undefined }
  | { readonly kind: typeof GossipKind.Contents; readonly reply: boolean; readonly entries: readonly ContentEntry[] }
  | { readonly kind: typeof GossipKind.State; readonly objectId: string; readonly typeId: number; readonly state: Uint8Array }
  | { readonly kind: typeof GossipKind.Nodes; readonly nodes: ReadonlyArray<{ readonly prefix: string; readonly children: readonly BucketSummary[] }> }
  | { readonly kind: typeof GossipKind.Vectors; readonly reply: boolean; readonly prefixes: readonly string[]; readonly entries: readonly VectorEntry[] }
  | { readonly kind: typeof GossipKind.Ranges; readonly objectId: string; readonly typeId: number; readonly decoder: decoding.Decoder }
  | { readonly kind: typeof GossipKind.Signed; readonly objectId: string; readonly typeId: number; readonly batch: SignedBatch }

const HEX = '0123456789abcdef'

/** Writes a hex-digit prefix: its depth, then the digits packed two per byte (high nibble first). */
export function writePrefix(e: encoding.Encoder, prefix: string): void {
  encoding.writeVarUint(e, prefix.length)
  for (let i = 0; i < prefix.length; i += 2) {
    const hi = HEX.indexOf(prefix[i]!)
    const lo = i + 1 < prefix.length ? HEX.indexOf(prefix[i + 1]!) : 0
    encoding.writeUint8(e, (hi << 4) | lo)
  }
}

/** Reads what {@link writePrefix} wrote; refuses depths past {@link MAX_PREFIX_DEPTH} and non-zero padding. */
export function readPrefix(d: decoding.Decoder): string {
  const at = d.pos
  const depth = readSafeUint(d)
  if (depth > MAX_PREFIX_DEPTH) throw new HearsayError(ErrorCodes.DECODE_ERROR, `bucket prefix of depth ${depth}`, { offset: at })
  const bytes = Math.ceil(depth / 2)
  if (d.arr.length - d.pos < bytes) throw new HearsayError(ErrorCodes.DECODE_ERROR, 'truncated prefix', { offset: at })
  let s = ''
  for (let i = 0; i < bytes; i++) {
    const b = decoding.readUint8(d)
    s += HEX[b >> 4]
    if (s.length < depth) s += HEX[b & 15]
    else if ((b & 15) !== 0) throw new HearsayError(ErrorCodes.DECODE_ERROR, 'non-zero prefix padding', { offset: at })
  }
  return s
}

function readFixed(d: decoding.Decoder, n: number): Uint8Array {
  if (d.arr.length - d.pos < n) throw new HearsayError(ErrorCodes.DECODE_ERROR, `expected ${n} more bytes`, { offset: d.pos })
  return decoding.readUint8Array(d, n)
}

/** Reads an object id (bounded, non-empty). */
export function readObjectId(d: decoding.Decoder): string {
  const at = d.pos
  const s = readBoundedString(d, MAX_OBJECT_ID_LENGTH * 3)
  if (!isSafeName(s, MAX_OBJECT_ID_LENGTH)) throw new HearsayError(ErrorCodes.DECODE_ERROR, `bad object id ${JSON.stringify((s as string).slice(0, 64))} (empty, too long, ill-formed or holding a control character)`, { offset: at })
  return s
}

/** Writes a Hello body. */
export function writeHelloMessage(e: encoding.Encoder, nodeId: string): void {
  encoding.writeVarUint(e, GossipKind.Hello)
  encoding.writeVarUint(e, GOSSIP_PROTOCOL_VERSION)
  encoding.writeVarString(e, nodeId)
}

/** Writes a Refuse body. */
export function writeRefuseMessage(e: encoding.Encoder, code: string, message: string): void {
  encoding.writeVarUint(e, GossipKind.Refuse)
  encoding.writeVarString(e, code)
  encoding.writeVarString(e, message)
}

/** Flags of a Root message. */
export const RootFlags = {
  /** An answer: the sender's root equals the one it was sent. */
  Equal: 1,
  /** Reconcile at once if the roots differ (a new connection, an explicit sync). */
  Now: 2,
  /** An answer: the roots differ; reconcile on the next round if they still do. */
  Deferred: 4,
  /** The content root (16 bytes) follows the hash: check content too when the roots are equal. */
  Content: 8,
} as const

/** Writes a Root body. */
export function writeRootMessage(e: encoding.Encoder, flags: number, count: number, hash: Uint8Array, content?: Uint8Array): void {
  encoding.writeVarUint(e, GossipKind.Root)
  encoding.writeVarUint(e, content === undefined ? flags & ~RootFlags.Content : flags | RootFlags.Content)
  encoding.writeVarUint(e, count)
  encoding.writeUint8Array(e, hash)
  if (content !== undefined) encoding.writeUint8Array(e, content)
}

/** Writes a Contents body. */
export function writeContentsMessage(e: encoding.Encoder, reply: boolean, entries: readonly ContentEntry[]): void {
  encoding.writeVarUint(e, GossipKind.Contents)
  encoding.writeVarUint(e, reply ? 1 : 0)
  encoding.writeVarUint(e, entries.length)
  for (const x of entries) {
    encoding.writeVarString(e, x.objectId)
    encoding.writeUint8Array(e, x.vector.subarray(0, CONTENT_ENTRY_HASH_BYTES))
    encoding.writeUint8Array(e, x.content.subarray(0, CONTENT_ENTRY_HASH_BYTES))
  }
}

/** Writes a State body. */
export function writeStateMessage(e: encoding.Encoder, objectId: string, typeId: number, state: Uint8Array): void {
  encoding.writeVarUint(e, GossipKind.State)
  encoding.writeVarString(e, objectId)
  encoding.writeVarUint(e, typeId)
  encoding.writeVarUint8Array(e, state)
}

/** Writes a Nodes body: per prefix a 16-bit mask of non-empty children, then count and hash of each. */
export function writeNodesMessage(e: encoding.Encoder, nodes: ReadonlyArray<{ prefix: string; children: readonly BucketSummary[] }>): void {
  encoding.writeVarUint(e, GossipKind.Nodes)
  encoding.writeVarUint(e, nodes.length)
  for (const n of nodes) {
    writePrefix(e, n.prefix)
    let mask = 0
    for (let c = 0; c < 16; c++) if (n.children[c]!.count > 0) mask |= 1 << c
    encoding.writeVarUint(e, mask)
    for (let c = 0; c < 16; c++) {
      const child = n.children[c]!
      if (child.count === 0) continue
      encoding.writeVarUint(e, child.count)
      encoding.writeUint8Array(e, child.hash)
    }
  }
}

/** Writes a Vectors body. */
export function writeVectorsMessage(e: encoding.Encoder, reply: boolean, prefixes: readonly string[], entries: ReadonlyArray<{ objectId: string; typeId: number; vector: ReadonlyVersionVector }>): void {
  encoding.writeVarUint(e, GossipKind.Vectors)
  encoding.writeVarUint(e, reply ? 1 : 0)
  encoding.writeVarUint(e, prefixes.length)
  for (const p of prefixes) writePrefix(e, p)
  encoding.writeVarUint(e, entries.length)
  for (const x of entries) {
    encoding.writeVarString(e, x.objectId)
    encoding.writeVarUint(e, x.typeId)
    writeVersionVector(e, x.vector)
  }
}

/** Writes a Signed body: kind, object id, type id, then the policy and segments ({@link writeSignedBatch}). */
export function writeSignedMessage(e: encoding.Encoder, objectId: string, typeId: number, batch: SignedBatch): void {
  encoding.writeVarUint(e, GossipKind.Signed)
  encoding.writeVarString(e, objectId)
  encoding.writeVarUint(e, typeId)
  writeSignedBatch(e, batch)
}

/** Writes the head of a Ranges body; the object's type writes the ranges after it. */
export function writeRangesHead(e: encoding.Encoder, objectId: string, typeId: number): void {
  encoding.writeVarUint(e, GossipKind.Ranges)
  encoding.writeVarString(e, objectId)
  encoding.writeVarUint(e, typeId)
}

/**
 * Decodes one gossip frame. For `Ranges` only the head is read: the returned decoder stands at
 * the ranges, which the object's type must read (and then check that every byte was used).
 * @throws HearsayError `HEARSAY_DECODE_ERROR` (with the offset) or `HEARSAY_PROTOCOL_VERSION`.
 */
export function readGossipMessage(d: decoding.Decoder): GossipMessage {
  const at = d.pos
  const kind = readSafeUint(d)
  switch (kind) {
    case GossipKind.Hello: {
      const vat = d.pos
      const version = readSafeUint(d)
      if (version !== GOSSIP_PROTOCOL_VERSION) {
        throw new HearsayError(ErrorCodes.PROTOCOL_VERSION, `peer speaks gossip protocol ${version}, this build speaks ${GOSSIP_PROTOCOL_VERSION}`, { offset: vat })
      }
      const nodeId = readReplicaId(d, 'bad node id in hello')
      return { kind, version, nodeId }
    }
    case GossipKind.Refuse:
      return { kind, code: readBoundedString(d, 64), message: readBoundedString(d, 1024) }
    case GossipKind.Root: {
      const fat = d.pos
      const flags = readSafeUint(d)
      if (flags > 15) throw new HearsayError(ErrorCodes.DECODE_ERROR, `unknown root flags ${flags}`, { offset: fat })
      const count = readSafeUint(d)
      const hash = readFixed(d, ROOT_HASH_BYTES)
      return { kind, flags, count, hash, content: flags & RootFlags.Content ? readFixed(d, ROOT_HASH_BYTES) : undefined }
    }
    case GossipKind.Contents: {
      const reply = (readSafeUint(d) & 1) === 1
      const n = readCount(d, 1 + 2 * CONTENT_ENTRY_HASH_BYTES)
      const entries: ContentEntry[] = []
      for (let i = 0; i < n; i++) {
        const objectId = readObjectId(d)
        entries.push({ objectId, vector: readFixed(d, CONTENT_ENTRY_HASH_BYTES), content: readFixed(d, CONTENT_ENTRY_HASH_BYTES) })
      }
      return { kind, reply, entries }
    }
    case GossipKind.State: {
      const objectId = readObjectId(d)
      const typeId = readSafeUint(d)
      const sat = d.pos
      const len = readSafeUint(d)
      if (len > d.arr.length - d.pos) throw new HearsayError(ErrorCodes.DECODE_ERROR, 'truncated state', { offset: sat })
      return { kind, objectId, typeId, state: decoding.readUint8Array(d, len) }
    }
    case GossipKind.Nodes: {
      const n = readCount(d, 2)
      const nodes: Array<{ prefix: string; children: BucketSummary[] }> = []
      for (let i = 0; i < n; i++) {
        const prefix = readPrefix(d)
        const mat = d.pos
        const mask = readSafeUint(d)
        if (mask > 0xffff) throw new HearsayError(ErrorCodes.DECODE_ERROR, 'bad child mask', { offset: mat })
        const children: BucketSummary[] = []
        for (let c = 0; c < 16; c++) {
          if (mask & (1 << c)) {
            const cat = d.pos
            const count = readSafeUint(d)
            if (count === 0) throw new HearsayError(ErrorCodes.DECODE_ERROR, 'empty child marked non-empty', { offset: cat })
            children.push({ count, hash: readFixed(d, BUCKET_HASH_BYTES) })
          } else children.push({ count: 0, hash: new Uint8Array(BUCKET_HASH_BYTES) })
        }
        nodes.push({ prefix, children })
      }
      return { kind, nodes }
    }
    case GossipKind.Vectors: {
      const reply = (readSafeUint(d) & 1) === 1
      const np = readCount(d, 1)
      const prefixes: string[] = []
      for (let i = 0; i < np; i++) prefixes.push(readPrefix(d))
      const n = readCount(d, 3)
      const entries: VectorEntry[] = []
      for (let i = 0; i < n; i++) {
        const objectId = readObjectId(d)
        const typeId = readSafeUint(d)
        entries.push({ objectId, typeId, vector: readVersionVector(d) })
      }
      return { kind, reply, prefixes, entries }
    }
    case GossipKind.Ranges: {
      const objectId = readObjectId(d)
      const typeId = readSafeUint(d)
      return { kind, objectId, typeId, decoder: d }
    }
    case GossipKind.Signed: {
      const objectId = readObjectId(d)
      const typeId = readSafeUint(d)
      const batch = readSignedBatch(d)
      for (const s of batch.segments) {
        if (s.objectId !== objectId || s.typeId !== typeId) throw new HearsayError(ErrorCodes.DECODE_ERROR, 'a segment of another object in a Signed message', { offset: d.pos })
      }
      return { kind, objectId, typeId, batch }
    }
    default:
      throw new HearsayError(ErrorCodes.DECODE_ERROR, `unknown gossip message kind ${kind}`, { offset: at })
  }
}

/** A frame's bytes from a writer. */
export function buildFrame(write: (e: encoding.Encoder) => void): Uint8Array {
  const e = encoding.createEncoder()
  write(e)
  return encoding.toUint8Array(e)
}

/**
 * Checks a local object id: the rule of core's `isSafeName`, as every peer checks it.
 * @throws TypeError when it is empty, not a string, too long, holds a lone surrogate or a control character.
 */
export function assertObjectId(objectId: unknown): asserts objectId is string {
  if (!isSafeName(objectId, MAX_OBJECT_ID_LENGTH)) {
    throw new TypeError(`an object id is a non-empty string of at most ${MAX_OBJECT_ID_LENGTH} characters, well-formed, with no control characters, got ${JSON.stringify(objectId)}`)
  }
}
