import { randomBytes, toBase64Url } from './bytes.js'

declare const replicaIdBrand: unique symbol

/**
 * The id of a replica, the *source* of the updates it writes: a {@link isSafeName safe name}
 * of at most 128 UTF-16 units.
 */
export type ReplicaId = string & { readonly [replicaIdBrand]: 'ReplicaId' }

/** Longest replica id accepted, locally or from a peer. */
export const MAX_REPLICA_ID_LENGTH = 128

// C0 and C1 controls, DEL, the line and paragraph separators, and the bidirectional
// embedding, override and isolate controls: characters that end a log line or reorder what a
// terminal shows (a name holding U+202E displays its end backwards).
const UNSAFE_CHARACTER = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/

/**
 * True when `s` is a name every node reads back the same and prints safely: a non-empty string
 * of at most `maxLength` UTF-16 units, well-formed (a lone surrogate becomes U+FFFD in UTF-8, so
 * a peer would read another name), with no control character, line separator or bidirectional
 * control. Replica ids and object ids follow this rule locally and from peers.
 */
export function isSafeName(s: unknown, maxLength: number): s is string {
  return typeof s === 'string' && s.length > 0 && s.length <= maxLength && !UNSAFE_CHARACTER.test(s) && (s as string & { isWellFormed(): boolean }).isWellFormed()
}

// Ids seen valid: every decoded update names its source, and a stream names the same few
// sources over and over; checking each with the regex and isWellFormed cost a quarter of the
// node-to-node stream's throughput (bench gossip: 190k against 262k writes/s). Bounded.
const knownIds = new Set<string>()
const MAX_KNOWN_IDS = 4096

/** True when `s` can be a replica id (a {@link isSafeName safe name} of at most {@link MAX_REPLICA_ID_LENGTH} units). */
export function isReplicaId(s: unknown): s is ReplicaId {
  if (typeof s === 'string' && knownIds.has(s)) return true
  if (!isSafeName(s, MAX_REPLICA_ID_LENGTH)) return false
  if (knownIds.size >= MAX_KNOWN_IDS) knownIds.clear()
  knownIds.add(s)
  return true
}

/**
 * Checks and brands a replica id.
 * @throws TypeError when `s` is not a {@link isSafeName safe name} of at most {@link MAX_REPLICA_ID_LENGTH} units.
 */
export function toReplicaId(s: string): ReplicaId {
  if (!isReplicaId(s)) throw new TypeError(`a replica id is a non-empty string of at most ${MAX_REPLICA_ID_LENGTH} characters, well-formed, with no control characters, got ${JSON.stringify(s)}`)
  return s
}

/** A fresh random replica id (64 random bits, base64url). */
export function randomReplicaId(): ReplicaId {
  return toBase64Url(randomBytes(8)) as ReplicaId
}
