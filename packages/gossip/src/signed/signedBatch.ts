import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { ErrorCodes, HearsayError, decodeWith, encodeWith, readBytes, readCount, readSafeUint } from '@hearsay/core'
import { SIGNATURE_BYTES, readSegment, writeSegment, type Segment } from './segment.js'

/** Format of a signed batch; the first var-uint of one in the store. */
const FORMAT = 1
/** Largest encoded write policy a batch may carry (256 writers of 32 bytes, and headers). */
const MAX_POLICY_BYTES = 256 * 32 + 16

/**
 * Segments of one signed object with the object's write policy, as they travel in a `Signed`
 * message, a bundle and a store batch. The policy rides along so that a node that never opened
 * the object can check who may write it: the object id certifies the policy's digest, so no
 * carrier can swap it.
 */
export interface SignedBatch {
  /** The policy's bytes ({@link encodeWritePolicy}), unchecked until verified against the id. */
  readonly policy: Uint8Array
  readonly segments: readonly Segment[]
}

/** Streams a batch: policy bytes (length-prefixed), count, segments ({@link writeSegment}). */
export function writeSignedBatch(e: encoding.Encoder, batch: SignedBatch): void {
  encoding.writeVarUint8Array(e, batch.policy)
  encoding.writeVarUint(e, batch.segments.length)
  for (const s of batch.segments) writeSegment(e, s)
}

/**
 * Reads what {@link writeSignedBatch} wrote. Nothing is verified here.
 * @throws HearsayError `HEARSAY_DECODE_ERROR` with the offset.
 */
export function readSignedBatch(d: decoding.Decoder): SignedBatch {
  const at = d.pos
  const policy = readBytes(d).slice()
  if (policy.length > MAX_POLICY_BYTES) throw new HearsayError(ErrorCodes.DECODE_ERROR, `write policy of ${policy.length} bytes`, { offset: at })
  const n = readCount(d, SIGNATURE_BYTES)
  const segments: Segment[] = []
  for (let i = 0; i < n; i++) segments.push(readSegment(d))
  return { policy, segments }
}

/** A batch as store bytes: format, then {@link writeSignedBatch}. */
export function encodeStoredBatch(batch: SignedBatch): Uint8Array {
  return encodeWith((e) => {
    encoding.writeVarUint(e, FORMAT)
    writeSignedBatch(e, batch)
  })
}

/** Reads {@link encodeStoredBatch}'s bytes. @throws HearsayError `HEARSAY_DECODE_ERROR`. */
export function decodeStoredBatch(bytes: Uint8Array): SignedBatch {
  return decodeWith(bytes, (d) => {
    const v = readSafeUint(d)
    if (v !== FORMAT) throw new HearsayError(ErrorCodes.DECODE_ERROR, `signed store batch format ${v} is not ${FORMAT}`, { offset: 0 })
    return readSignedBatch(d)
  })
}
