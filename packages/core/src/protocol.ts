import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { HearsayError, ErrorCodes } from './errors.js'
import type { ReplicaId } from './ids.js'
import { readBytes, readReplicaId, readSafeUint, packValue, unpackValue, type Value } from './encoding.js'
import { readVersionVector, writeVersionVector, type ReadonlyVersionVector, type VersionVector } from './VersionVector.js'

/** Version of the single-object stream protocol spoken by `createStream()`. */
export const STREAM_PROTOCOL_VERSION = 1

/** Version of the state encoding written by `encodeState()`. */
export const STATE_FORMAT_VERSION = 1

/** Message kinds of the stream protocol; each frame's payload starts with one. */
export const MessageKind = {
  /** Version, type id, replica id, digest, flags, meta. Always the first frame from a sending side. */
  Hello: 1,
  /** A list of ranges. */
  Ranges: 2,
  /** Marker: every range the receiver lacked as of its digest has now been sent. */
  Sync: 3,
  /** "This is what I have now; send what I lack." Sent after the causal buffer had to drop ranges. */
  Digest: 4,
} as const

/** The handshake each sending side opens with. */
export interface Hello {
  readonly version: number
  readonly typeId: number
  readonly replicaId: ReplicaId
  readonly clock: VersionVector
  /** The sender will send ranges. */
  readonly sends: boolean
  /** The sender accepts ranges (so wants ours). */
  readonly accepts: boolean
  readonly meta: Value | undefined
}

const SENDS = 1
const ACCEPTS = 2
const HAS_META = 4

/** Writes a Hello message body (after the kind). */
export function writeHello(encoder: encoding.Encoder, h: Omit<Hello, 'version' | 'clock'>, clock: ReadonlyVersionVector): void {
  encoding.writeVarUint(encoder, STREAM_PROTOCOL_VERSION)
  encoding.writeVarUint(encoder, h.typeId)
  encoding.writeVarString(encoder, h.replicaId)
  writeVersionVector(encoder, clock)
  encoding.writeVarUint(encoder, (h.sends ? SENDS : 0) | (h.accepts ? ACCEPTS : 0) | (h.meta !== undefined ? HAS_META : 0))
  if (h.meta !== undefined) encoding.writeVarUint8Array(encoder, packValue(h.meta))
}

/** Reads a Hello message body; refuses unknown protocol versions. */
export function readHello(decoder: decoding.Decoder): Hello {
  const at = decoder.pos
  const version = readSafeUint(decoder)
  if (version !== STREAM_PROTOCOL_VERSION) {
    throw new HearsayError(ErrorCodes.PROTOCOL_VERSION, `peer speaks stream protocol ${version}, this build speaks ${STREAM_PROTOCOL_VERSION}`, { offset: at })
  }
  const typeId = readSafeUint(decoder)
  const replicaId = readReplicaId(decoder, 'bad replica id in hello')
  const clock = readVersionVector(decoder)
  const flags = readSafeUint(decoder)
  const meta = flags & HAS_META ? unpackValue(readBytes(decoder)) : undefined
  return { version, typeId, replicaId, clock, sends: (flags & SENDS) !== 0, accepts: (flags & ACCEPTS) !== 0, meta }
}
