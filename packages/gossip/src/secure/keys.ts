import { ed25519 } from '@noble/curves/ed25519.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { keyPairFromSecret, type KeyPair } from './noise.js'

const PSK_LABEL = 'hearsay network key v1\0'
const BUNDLE_LABEL = 'hearsay bundle key v2\0'


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

/**
 * A node's long-term keys. `signing` is its Ed25519 keypair (the node id is its public key);
 * `publicKey`/`secretKey` are the X25519 keypair of the Noise handshake, derived from it by the
 * standard Ed25519-to-X25519 conversion (as Secure Scuttlebutt does), so one secret serves both
 * and a peer checks a claimed id against the handshake's static key with no extra message.
 * A legacy identity (persisted before identities were Ed25519) has no `signing` key: its id is
 * its X25519 public key, and it cannot sign.
 */
export interface NodeIdentity extends KeyPair {
  readonly signing?: SigningKeyPair | undefined
}

/** An Ed25519 keypair: the 32-byte seed and the 32-byte public key. */
export interface SigningKeyPair {
  readonly publicKey: Uint8Array
  readonly secretKey: Uint8Array
}

/** Bytes of a legacy encoded identity (an X25519 secret key). */
export const IDENTITY_BYTES = 32
/** Bytes of an encoded Ed25519 identity: a format byte, then the 32-byte Ed25519 seed. */
export const SIGNING_IDENTITY_BYTES = 33
const IDENTITY_FORMAT_ED25519 = 1

/** The identity of an Ed25519 seed: the seed's keypair and the X25519 keypair derived from it. */
export function identityFromSeed(seed: Uint8Array): NodeIdentity {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new TypeError('an Ed25519 seed is 32 bytes')
  const signing = { secretKey: seed.slice(), publicKey: ed25519.getPublicKey(seed) }
  return { ...keyPairFromSecret(ed25519.utils.toMontgomerySecret(seed)), signing }
}

/** A fresh Ed25519 identity (WebCrypto randomness unless `randomBytes` is given). */
export function generateIdentity(randomBytes: (n: number) => Uint8Array = (n) => crypto.getRandomValues(new Uint8Array(n))): NodeIdentity {
  return identityFromSeed(randomBytes(32))
}

/** The bytes to persist for an identity: a format byte and the Ed25519 seed, or a legacy identity's 32-byte X25519 secret. */
export function encodeIdentity(kp: NodeIdentity): Uint8Array {
  if (kp.signing === undefined) return kp.secretKey.slice()
  const out = new Uint8Array(SIGNING_IDENTITY_BYTES)
  out[0] = IDENTITY_FORMAT_ED25519
  out.set(kp.signing.secretKey, 1)
  return out
}

/** True when `bytes` have the length of a persisted identity (either format). */
export function isIdentityBytes(bytes: Uint8Array): boolean {
  return bytes.length === IDENTITY_BYTES || (bytes.length === SIGNING_IDENTITY_BYTES && bytes[0] === IDENTITY_FORMAT_ED25519)
}

/**
 * The identity persisted by {@link encodeIdentity}: 33 bytes is an Ed25519 identity; 32 bytes
 * is a legacy X25519-only one, read as it was so the node keeps its id (it cannot sign).
 * @throws TypeError when the bytes are neither.
 */
export function decodeIdentity(bytes: Uint8Array): NodeIdentity {
  if (!(bytes instanceof Uint8Array) || !isIdentityBytes(bytes)) throw new TypeError(`an identity is ${SIGNING_IDENTITY_BYTES} bytes (format ${IDENTITY_FORMAT_ED25519}, Ed25519 seed) or ${IDENTITY_BYTES} (legacy X25519 secret)`)
  if (bytes.length === IDENTITY_BYTES) return keyPairFromSecret(bytes)
  return identityFromSeed(bytes.subarray(1))
}

/** The public key whose base64url form is this node's id: the Ed25519 key, or a legacy identity's X25519 key. */
export function identityPublicKey(kp: NodeIdentity): Uint8Array {
  return kp.signing?.publicKey ?? kp.publicKey
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

/** The 32 bytes of a key-bound id ({@link nodeIdFromPublicKey} reversed), or `undefined` when it has not that form. */
export function publicKeyFromNodeId(id: string): Uint8Array | undefined {
  if (!isKeyBoundId(id)) return undefined
  const out = new Uint8Array(32)
  let acc = 0
  let bits = 0
  let j = 0
  for (let i = 0; i < id.length; i++) {
    acc = (acc << 6) | B64URL.indexOf(id[i]!)
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out[j++] = (acc >> bits) & 255
    }
    acc &= (1 << bits) - 1
  }
  return out
}

/**
 * True when a peer that completed the handshake with X25519 static key `remoteStatic` may
 * use key-bound id `id`: the id is an Ed25519 public key whose X25519 form is that key, or
 * (a legacy identity) the X25519 key itself. Neither can be met without the secret key.
 */
export function idMatchesStatic(id: string, remoteStatic: Uint8Array): boolean {
  if (id === nodeIdFromPublicKey(remoteStatic)) return true
  const key = publicKeyFromNodeId(id)
  if (key === undefined) return false
  let x: Uint8Array
  try {
    x = ed25519.utils.toMontgomery(key)
  } catch {
    return false // not a point on the curve
  }
  if (x.length !== remoteStatic.length) return false
  let diff = 0
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ remoteStatic[i]!
  return diff === 0
}
