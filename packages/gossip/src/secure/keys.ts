import { sha256 } from '@noble/hashes/sha2.js'
import { keyPairFromSecret, type KeyPair } from './noise.js'

const PSK_LABEL = 'hearsay network key v1\0'
const BUNDLE_LABEL = 'hearsay bundle key v2\0'

/** Bytes of an encoded node identity (the static secret key). */
export const IDENTITY_BYTES = 32

/**
 * The 32-byte Noise psk from the network key: SHA-256 over a label and the key's bytes (a
 * string is UTF-8), so a passphrase of any length gives a uniformly distributed psk and the
 * same key never serves another purpose unlabelled.
 * @throws TypeError on an empty or non-string/bytes key.
 */
export function pskFromNetworkKey(key: unknown): Uint8Array {
  return labelledKey(PSK_LABEL, key)
}

/**
 * The 32-byte key that seals bundles (XChaCha20-Poly1305), from the network key under its own
 * label, so it is never the handshake's psk.
 * @throws TypeError on an empty or non-string/bytes key.
 */
export function bundleKeyFromNetworkKey(key: unknown): Uint8Array {
  return labelledKey(BUNDLE_LABEL, key)
}

function labelledKey(labelText: string, key: unknown): Uint8Array {
  let bytes: Uint8Array
  if (typeof key === 'string' && key.length > 0) bytes = new TextEncoder().encode(key)
  else if (key instanceof Uint8Array && key.length > 0) bytes = key
  else throw new TypeError('networkKey is a non-empty string or Uint8Array shared by every node of the network')
  const label = new TextEncoder().encode(labelText)
  const input = new Uint8Array(label.length + bytes.length)
  input.set(label)
  input.set(bytes, label.length)
  return sha256(input)
}

/** A fresh static keypair (WebCrypto randomness unless `randomBytes` is given). */
export function generateIdentity(randomBytes: (n: number) => Uint8Array = (n) => crypto.getRandomValues(new Uint8Array(n))): KeyPair {
  return keyPairFromSecret(randomBytes(IDENTITY_BYTES))
}

/** The bytes to persist for an identity (its secret key; the public key follows from it). */
export function encodeIdentity(kp: KeyPair): Uint8Array {
  return kp.secretKey.slice()
}

/** The identity persisted by {@link encodeIdentity}. @throws TypeError when the bytes are not 32 long. */
export function decodeIdentity(bytes: Uint8Array): KeyPair {
  if (!(bytes instanceof Uint8Array) || bytes.length !== IDENTITY_BYTES) throw new TypeError(`an identity is ${IDENTITY_BYTES} bytes`)
  return keyPairFromSecret(bytes)
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/**
 * The node id bound to a static public key: the key in unpadded base64url (43 characters).
 * A peer that presents this id must complete the handshake with the matching secret key.
 */
export function nodeIdFromPublicKey(publicKey: Uint8Array): string {
  let s = ''
  let bits = 0
  let acc = 0
  for (const b of publicKey) {
    acc = (acc << 8) | b
    bits += 8
    while (bits >= 6) {
      bits -= 6
      s += B64URL[(acc >> bits) & 63]
    }
    acc &= (1 << bits) - 1
  }
  if (bits > 0) s += B64URL[(acc << (6 - bits)) & 63]
  return s
}

/** True when an id has the form of a key-bound id (43 base64url characters), so it must match the peer's static key. */
export function isKeyBoundId(id: string): boolean {
  return /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/.test(id)
}
