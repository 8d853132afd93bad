import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { ErrorCodes, HearsayError, encodeWith, readBoundedString, readBytes, readReplicaId, readSafeUint } from '@hearsay/core'
import { ed25519 } from '@noble/curves/ed25519.js'
import { sha256 } from '@noble/hashes/sha2.js'
import type { NodeIdentity } from '../secure/keys.js'
import { checkPolicyForId, mayWrite, nodeIdOfSource, writerKey, type WritePolicy } from './WritePolicy.js'

const SIGNING_LABEL = 'hearsay segment v1\0'
/** Bytes of an Ed25519 signature. */
export const SIGNATURE_BYTES = 64
const MAX_OBJECT_ID_BYTES = 512 * 3

/**
 * One signed batch of a source's writes to one object: the seqs `from+1..to` of `source`,
 * as the encoded ranges the source wrote, and the source's Ed25519 signature over them. Relays
 * keep and forward a segment byte for byte (never re-encoding it), so the signature verifies
 * wherever it arrives.
 */
export interface Segment {
  readonly objectId: string
  readonly typeId: number
  readonly source: string
  /** The source's clock before the segment (exclusive). */
  readonly from: number
  /** The source's clock after it (inclusive); `to > from`. */
  readonly to: number
  /** The encoded ranges, as the object's type writes them. */
  readonly ranges: Uint8Array
  readonly signature: Uint8Array
}

/** A segment before it is signed. */
export type UnsignedSegment = Omit<Segment, 'signature'>

/**
 * The bytes a segment's signature covers: a domain label, then the object id, type id,
 * source, from, to (each length-prefixed or a var-uint, so no two segments share them) and
 * the SHA-256 of the ranges.
 */
export function segmentSigningBytes(s: UnsignedSegment): Uint8Array {
  return encodeWith((e) => {
    encoding.writeVarString(e, SIGNING_LABEL)
    encoding.writeVarString(e, s.objectId)
    encoding.writeVarUint(e, s.typeId)
    encoding.writeVarString(e, s.source)
    encoding.writeVarUint(e, s.from)
    encoding.writeVarUint(e, s.to)
    encoding.writeUint8Array(e, sha256(s.ranges))
  })
}

/**
 * Signs a batch of this node's writes.
 * @throws TypeError when the identity cannot sign (a legacy X25519 identity), the source is not
 * this identity's, or `to <= from`.
 */
export function signSegment(identity: NodeIdentity, s: UnsignedSegment): Segment {
  if (identity.signing === undefined) throw new TypeError('this node identity cannot sign (a legacy X25519 identity): give the node an Ed25519 identity (generateIdentity) to write signed objects')
  const key = writerKey(nodeIdOfSource(s.source))
  if (key === undefined || !equalBytes(key, identity.signing.publicKey)) throw new TypeError(`source ${JSON.stringify(s.source)} is not this identity's`)
  if (!(Number.isSafeInteger(s.from) && Number.isSafeInteger(s.to) && s.from >= 0 && s.to > s.from)) throw new TypeError(`a segment covers seqs from+1..to with 0 <= from < to, got ${s.from}..${s.to}`)
  const signature = ed25519.sign(segmentSigningBytes(s), identity.signing.secretKey)
  return Object.freeze({ ...s, signature })
}

/**
 * Checks a segment before anything of it is applied: the source is bound to an Ed25519 key,
 * the signature is that key's over the segment, and, for an object with a policy, the policy is
 * the one the object id certifies and names the source's node.
 * @throws HearsayError `HEARSAY_BAD_SIGNATURE` (no key, a signature that does not verify, any
 * altered byte), `HEARSAY_NOT_PERMITTED` (a writer the policy does not name, a policy of
 * another object), `HEARSAY_INVALID_UPDATE` (`to <= from`).
 */
export function verifySegment(s: Segment, policy: WritePolicy | undefined): void {
  if (!(s.to > s.from && s.from >= 0)) throw new HearsayError(ErrorCodes.INVALID_UPDATE, `segment of ${JSON.stringify(s.source)} covers no seq (${s.from}..${s.to})`)
  const key = writerKey(nodeIdOfSource(s.source))
  if (key === undefined) throw new HearsayError(ErrorCodes.BAD_SIGNATURE, `source ${JSON.stringify(s.source)} is not bound to an Ed25519 key`)
  if (policy !== undefined) {
    checkPolicyForId(s.objectId, policy)
    if (!mayWrite(policy, s.source)) throw new HearsayError(ErrorCodes.NOT_PERMITTED, `source ${JSON.stringify(s.source)} may not write ${JSON.stringify(s.objectId)}`)
  }
  let ok = false
  try {
    ok = s.signature.length === SIGNATURE_BYTES && ed25519.verify(s.signature, segmentSigningBytes(s), key)
  } catch {
    ok = false
  }
  if (!ok) throw new HearsayError(ErrorCodes.BAD_SIGNATURE, `segment ${s.from + 1}..${s.to} of ${JSON.stringify(s.source)} on ${JSON.stringify(s.objectId)}: the signature does not verify`)
}

/** Streams a segment into an encoder: object id, type id, source, from, to, ranges, signature. */
export function writeSegment(e: encoding.Encoder, s: Segment): void {
  encoding.writeVarString(e, s.objectId)
  encoding.writeVarUint(e, s.typeId)
  encoding.writeVarString(e, s.source)
  encoding.writeVarUint(e, s.from)
  encoding.writeVarUint(e, s.to)
  encoding.writeVarUint8Array(e, s.ranges)
  encoding.writeUint8Array(e, s.signature)
}

/**
 * Reads a segment written by {@link writeSegment} (its ranges and signature copied out of the input).
 * Does not verify it: call {@link verifySegment}.
 * @throws HearsayError `HEARSAY_DECODE_ERROR` with the offset on bad bytes.
 */
export function readSegment(d: decoding.Decoder): Segment {
  const objectId = readBoundedString(d, MAX_OBJECT_ID_BYTES)
  const typeId = readSafeUint(d)
  const source = readReplicaId(d, 'bad source id in a segment')
  const from = readSafeUint(d)
  const to = readSafeUint(d)
  const ranges = readBytes(d).slice()
  if (d.arr.length - d.pos < SIGNATURE_BYTES) throw new HearsayError(ErrorCodes.DECODE_ERROR, 'segment signature truncated', { offset: d.pos })
  const signature = decoding.readUint8Array(d, SIGNATURE_BYTES).slice()
  return Object.freeze({ objectId, typeId, source, from, to, ranges, signature })
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
