import { createHmac, timingSafeEqual } from 'node:crypto'
import { encoding } from '@hearsay/core'
import { PROOF_BYTES } from './messages.js'

const AUTH_LABEL = 'hearsay-gossip-auth-v1'
const BUNDLE_LABEL = 'hearsay-bundle-v1'

/** The network key as bytes. @throws TypeError on an empty or non-string/bytes key. */
export function toKeyBytes(key: unknown): Uint8Array {
  if (typeof key === 'string' && key.length > 0) return new TextEncoder().encode(key)
  if (key instanceof Uint8Array && key.length > 0) return key.slice()
  throw new TypeError('networkKey is a non-empty string or Uint8Array shared by every node of the network')
}

/**
 * The proof a node sends to show it holds the network key: HMAC-SHA256 keyed with it over a
 * label, the prover's id, the verifier's id, the prover's nonce and the verifier's nonce. The
 * verifier's fresh nonce makes a proof useless for any other session; the order of the ids
 * makes a proof useless when reflected back to its sender.
 */
export function computeProof(key: Uint8Array, proverId: string, verifierId: string, proverNonce: Uint8Array, verifierNonce: Uint8Array): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeVarString(e, AUTH_LABEL)
  encoding.writeVarString(e, proverId)
  encoding.writeVarString(e, verifierId)
  encoding.writeVarUint8Array(e, proverNonce)
  encoding.writeVarUint8Array(e, verifierNonce)
  return new Uint8Array(createHmac('sha256', key).update(encoding.toUint8Array(e)).digest())
}

/** Checks a proof in constant time. */
export function verifyProof(key: Uint8Array, proof: Uint8Array, proverId: string, verifierId: string, proverNonce: Uint8Array, verifierNonce: Uint8Array): boolean {
  if (proof.length !== PROOF_BYTES) return false
  return timingSafeEqual(proof, computeProof(key, proverId, verifierId, proverNonce, verifierNonce))
}

/** The tag closing a bundle: HMAC-SHA256 keyed with the network key over a label and the body. */
export function bundleTag(key: Uint8Array, body: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', key).update(BUNDLE_LABEL).update(body).digest())
}
