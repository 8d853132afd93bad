import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { ErrorCodes, HearsayError, decodeWith, encodeWith, readCount, toBase64Url } from '@hearsay/core'
import { sha256 } from '@noble/hashes/sha2.js'
import { ed25519 } from '@noble/curves/ed25519.js'
import { nodeIdFromPublicKey, publicKeyFromNodeId } from '../secure/keys.js'

const FORMAT = 1
const DIGEST_LABEL = new TextEncoder().encode('hearsay write policy v1\0')
/** Marks a signed object's id: `<name>~w1.<policy digest>`. */
export const SIGNED_ID_MARK = '~w1.'
/** Most writers one policy may name. */
export const MAX_POLICY_WRITERS = 256
const DIGEST_CHARS = 43

/**
 * Who may write a signed object: a set of node ids, each an Ed25519 public key (the key-bound
 * id of an Ed25519 identity). Fixed at creation: the object's id carries a digest of it
 * ({@link signedObjectId}), so any node checks a policy it is given against the id alone,
 * trusting no relay.
 */
export interface WritePolicy {
  /** The writers' node ids, sorted (code-unit order), without duplicates. */
  readonly writers: readonly string[]
}

/**
 * A policy naming `writers` (node ids of Ed25519 identities; order and duplicates do not matter).
 * @throws TypeError when a writer is not the id of an Ed25519 public key, or there are none or too many.
 */
export function createWritePolicy(writers: readonly string[]): WritePolicy {
  if (!Array.isArray(writers) || writers.length === 0 || writers.length > MAX_POLICY_WRITERS) throw new TypeError(`writers is a list of 1..${MAX_POLICY_WRITERS} node ids`)
  const set = new Set<string>()
  for (const w of writers) {
    if (typeof w !== 'string' || writerKey(w) === undefined) throw new TypeError(`writer ${JSON.stringify(w)} is not the node id of an Ed25519 key (43 base64url characters, a point on the curve)`)
    set.add(w)
  }
  return Object.freeze({ writers: Object.freeze([...set].sort()) })
}

/** The Ed25519 public key of a writer's node id, or `undefined` when the id is not one. */
export function writerKey(nodeId: string): Uint8Array | undefined {
  const key = publicKeyFromNodeId(nodeId)
  if (key === undefined) return undefined
  try {
    ed25519.Point.fromBytes(key)
  } catch {
    return undefined
  }
  return key
}

/** The policy's canonical bytes: format, count, the writers' 32-byte keys in the policy's order. */
export function encodeWritePolicy(policy: WritePolicy): Uint8Array {
  return encodeWith((e) => {
    encoding.writeVarUint(e, FORMAT)
    encoding.writeVarUint(e, policy.writers.length)
    for (const w of policy.writers) encoding.writeUint8Array(e, writerKey(w)!)
  })
}

/**
 * The policy of {@link encodeWritePolicy}'s bytes.
 * @throws HearsayError `HEARSAY_DECODE_ERROR` on bad bytes, a key off the curve, unsorted or repeated writers.
 */
export function decodeWritePolicy(bytes: Uint8Array): WritePolicy {
  return decodeWith(bytes, (d) => {
    const at = d.pos
    if (decoding.readVarUint(d) !== FORMAT) throw new HearsayError(ErrorCodes.DECODE_ERROR, 'unknown write policy format', { offset: at })
    const n = readCount(d, 32)
    if (n === 0 || n > MAX_POLICY_WRITERS) throw new HearsayError(ErrorCodes.DECODE_ERROR, `a write policy names 1..${MAX_POLICY_WRITERS} writers, not ${n}`, { offset: at })
    const writers: string[] = []
    for (let i = 0; i < n; i++) {
      const id = nodeIdFromPublicKey(decoding.readUint8Array(d, 32))
      if (writerKey(id) === undefined) throw new HearsayError(ErrorCodes.DECODE_ERROR, 'a writer key is not a point on the curve', { offset: d.pos - 32 })
      if (i > 0 && !(writers[i - 1]! < id)) throw new HearsayError(ErrorCodes.DECODE_ERROR, 'writers not sorted or repeated', { offset: d.pos - 32 })
      writers.push(id)
    }
    return Object.freeze({ writers: Object.freeze(writers) })
  })
}

/** SHA-256 over a label and the policy's bytes, in base64url (43 characters). */
export function policyDigest(policy: WritePolicy): string {
  const bytes = encodeWritePolicy(policy)
  const input = new Uint8Array(DIGEST_LABEL.length + bytes.length)
  input.set(DIGEST_LABEL)
  input.set(bytes, DIGEST_LABEL.length)
  return toBase64Url(sha256(input))
}

/**
 * The self-certifying id of a signed object: `<name>~w1.<policy digest>`. Two policies give
 * two objects; no node can swap an object's policy without changing its id.
 * @throws TypeError on an empty name or one holding the mark.
 */
export function signedObjectId(name: string, policy: WritePolicy): string {
  if (typeof name !== 'string' || name.length === 0 || name.includes(SIGNED_ID_MARK)) throw new TypeError(`a signed object's name is a non-empty string without ${JSON.stringify(SIGNED_ID_MARK)}`)
  return name + SIGNED_ID_MARK + policyDigest(policy)
}

/** True when `objectId` has the form of a signed object's id (its updates must come signed, by a writer of its policy). */
export function isSignedObjectId(objectId: string): boolean {
  const i = objectId.lastIndexOf(SIGNED_ID_MARK)
  return i > 0 && objectId.length - i - SIGNED_ID_MARK.length === DIGEST_CHARS && /^[A-Za-z0-9_-]+$/.test(objectId.slice(i + SIGNED_ID_MARK.length))
}

/**
 * Checks that `policy` is the one `objectId` certifies.
 * @throws HearsayError `HEARSAY_NOT_PERMITTED` when the id is not a signed object's or names another policy.
 */
export function checkPolicyForId(objectId: string, policy: WritePolicy): void {
  if (!isSignedObjectId(objectId) || !objectId.endsWith(SIGNED_ID_MARK + policyDigest(policy))) {
    throw new HearsayError(ErrorCodes.NOT_PERMITTED, `the write policy does not match object ${JSON.stringify(objectId.slice(0, 80))}`)
  }
}

/**
 * The node id a source writes for: a source is `<nodeId>` or an incarnation
 * `<nodeId>.<n>.<8 characters>`; a key-bound node id is 43 characters and holds no dot.
 */
export function nodeIdOfSource(source: string): string {
  const dot = source.indexOf('.')
  return dot < 0 ? source : source.slice(0, dot)
}

/** True when `source` writes for a node the policy names. */
export function mayWrite(policy: WritePolicy, source: string): boolean {
  return policy.writers.includes(nodeIdOfSource(source))
}
