import { randomBytes, toBase64Url } from './bytes.js'

declare const replicaIdBrand: unique symbol

/** The id of a replica, the *source* of the updates it writes. Non-empty, at most 128 UTF-16 units. */
export type ReplicaId = string & { readonly [replicaIdBrand]: 'ReplicaId' }

/** Longest replica id accepted, locally or from a peer. */
export const MAX_REPLICA_ID_LENGTH = 128

/** True when `s` can be a replica id. */
export function isReplicaId(s: unknown): s is ReplicaId {
  return typeof s === 'string' && s.length > 0 && s.length <= MAX_REPLICA_ID_LENGTH
}

/**
 * Checks and brands a replica id.
 * @throws TypeError when `s` is empty, not a string or longer than {@link MAX_REPLICA_ID_LENGTH}.
 */
export function toReplicaId(s: string): ReplicaId {
  if (!isReplicaId(s)) throw new TypeError(`a replica id is a non-empty string of at most ${MAX_REPLICA_ID_LENGTH} characters, got ${JSON.stringify(s)}`)
  return s
}

/** A fresh random replica id (64 random bits, base64url). */
export function randomReplicaId(): ReplicaId {
  return toBase64Url(randomBytes(8)) as ReplicaId
}
