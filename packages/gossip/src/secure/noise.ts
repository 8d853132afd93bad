import { chacha20poly1305 } from '@noble/ciphers/chacha.js'
import { x25519 } from '@noble/curves/ed25519.js'
import { blake2b } from '@noble/hashes/blake2.js'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'

// The Noise Protocol Framework, revision 34 (noiseprotocol.org/noise.html), as the spec writes it:
// §5.1 CipherState, §5.2 SymmetricState, §5.3 HandshakeState, §4 the 25519 DH, the ChaChaPoly
// cipher and the SHA256/BLAKE2b hashes, §7 handshake patterns, §9 the psk modifier. Only the
// primitives come from libraries (@noble); nothing here departs from the spec's definitions.
// test/noise.interop.test.ts checks it against rweather's noise-c (compiled to wasm).

/** Bytes of a 25519 public key and of a DH output (DHLEN). */
export const DHLEN = 32
/** Bytes of a cipher key. */
const KEYLEN = 32
/** Bytes of an AEAD tag. */
export const TAGLEN = 16
/** Largest Noise message (§3). */
export const MAX_NOISE_MESSAGE = 65535
/** The nonce 2^64-1, reserved for Rekey (§5.1, §11.3). */
const MAX_NONCE = 2n ** 64n - 1n

/** A hash function as Noise uses it (§4.3). */
export interface NoiseHash {
  readonly name: 'SHA256' | 'BLAKE2b'
  readonly hashLen: number
  hash(data: Uint8Array): Uint8Array
  hmac(key: Uint8Array, data: Uint8Array): Uint8Array
}

/** SHA-256 (HASHLEN 32, BLOCKLEN 64). */
export const SHA256: NoiseHash = {
  name: 'SHA256',
  hashLen: 32,
  hash: (d) => sha256(d),
  hmac: (k, d) => hmac(sha256, k, d),
}

/** BLAKE2b-512 (HASHLEN 64, BLOCKLEN 128). */
export const BLAKE2b: NoiseHash = {
  name: 'BLAKE2b',
  hashLen: 64,
  hash: (d) => blake2b(d),
  hmac: (k, d) => hmac(blake2b, k, d),
}

/** A Curve25519 keypair. */
export interface KeyPair {
  readonly publicKey: Uint8Array
  readonly secretKey: Uint8Array
}

/** A failure of the handshake or of a transport message: wrong key, altered bytes, out of order, too long. */
export class NoiseError extends Error {
  override readonly name = 'NoiseError'
}

/** GENERATE_KEYPAIR from 32 random bytes (x25519 clamps them). */
export function keyPairFromSecret(secretKey: Uint8Array): KeyPair {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== 32) throw new TypeError('a 25519 secret key is 32 bytes')
  return { secretKey: secretKey.slice(), publicKey: x25519.getPublicKey(secretKey) }
}

function dh(kp: KeyPair, publicKey: Uint8Array): Uint8Array {
  try {
    return x25519.getSharedSecret(kp.secretKey, publicKey)
  } catch (err) {
    // noble refuses low-order points (an all-zero output); §12.1 lets an implementation abort then.
    throw new NoiseError(`DH failed: ${(err as Error).message}`)
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/** The ChaChaPoly nonce: 32 bits of zeros, then n as 64-bit little-endian (§12.3). */
function chachaNonce(n: bigint): Uint8Array {
  const nonce = new Uint8Array(12)
  new DataView(nonce.buffer).setBigUint64(4, n, true)
  return nonce
}

function encrypt(k: Uint8Array, n: bigint, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return chacha20poly1305(k, chachaNonce(n), ad).encrypt(plaintext)
}

function decrypt(k: Uint8Array, n: bigint, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  try {
    return chacha20poly1305(k, chachaNonce(n), ad).decrypt(ciphertext)
  } catch {
    throw new NoiseError('authentication failed: the message was altered, reordered, replayed or sealed with another key')
  }
}

/** HKDF(chaining_key, input_key_material, num_outputs) of §4.3. */
export function hkdf(hash: NoiseHash, chainingKey: Uint8Array, ikm: Uint8Array, outputs: 2 | 3): Uint8Array[] {
  const tempKey = hash.hmac(chainingKey, ikm)
  const out1 = hash.hmac(tempKey, Uint8Array.of(0x01))
  const out2 = hash.hmac(tempKey, concat(out1, Uint8Array.of(0x02)))
  if (outputs === 2) return [out1, out2]
  return [out1, out2, hash.hmac(tempKey, concat(out2, Uint8Array.of(0x03)))]
}

/** §5.1: a cipher key and a nonce; encrypts and decrypts transport messages. */
export class CipherState {
  #k: Uint8Array | undefined
  #n = 0n

  /** InitializeKey(key): sets k and n = 0; `undefined` empties k. */
  initializeKey(key: Uint8Array | undefined): void {
    this.#k = key?.slice()
    this.#n = 0n
  }

  hasKey(): boolean {
    return this.#k !== undefined
  }

  setNonce(nonce: bigint): void {
    this.#n = nonce
  }

  /** The next nonce (for tests and for the rekey schedule). */
  get nonce(): bigint {
    return this.#n
  }

  /** EncryptWithAd; with an empty key it returns the plaintext. @throws NoiseError when the nonces are used up. */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (this.#k === undefined) return plaintext
    if (this.#n === MAX_NONCE) throw new NoiseError('nonce exhausted')
    const c = encrypt(this.#k, this.#n, ad, plaintext)
    this.#n++
    return c
  }

  /** DecryptWithAd; on failure n is not incremented. @throws NoiseError on a bad tag. */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    if (this.#k === undefined) return ciphertext
    if (this.#n === MAX_NONCE) throw new NoiseError('nonce exhausted')
    const p = decrypt(this.#k, this.#n, ad, ciphertext)
    this.#n++
    return p
  }

  /** A copy with the same key and nonce (to try a later Rekey() epoch without committing to it). */
  fork(): CipherState {
    const c = new CipherState()
    c.#k = this.#k?.slice()
    c.#n = this.#n
    return c
  }

  /** Rekey(): k = first 32 bytes of ENCRYPT(k, 2^64-1, empty, 32 zero bytes) (§11.3, §12.3). */
  rekey(): void {
    if (this.#k === undefined) return
    this.#k = encrypt(this.#k, MAX_NONCE, new Uint8Array(0), new Uint8Array(32)).subarray(0, KEYLEN).slice()
  }
}

/** §5.2: the chaining key and the handshake hash. */
export class SymmetricState {
  readonly hash: NoiseHash
  readonly cipher = new CipherState()
  #ck: Uint8Array
  #h: Uint8Array

  /** InitializeSymmetric(protocol_name). */
  constructor(hash: NoiseHash, protocolName: string) {
    this.hash = hash
    const name = new TextEncoder().encode(protocolName)
    if (name.length <= hash.hashLen) {
      this.#h = new Uint8Array(hash.hashLen)
      this.#h.set(name)
    } else {
      this.#h = hash.hash(name)
    }
    this.#ck = this.#h.slice()
    this.cipher.initializeKey(undefined)
  }

  #truncate(k: Uint8Array): Uint8Array {
    return k.length > KEYLEN ? k.subarray(0, KEYLEN) : k
  }

  mixKey(ikm: Uint8Array): void {
    const [ck, tempK] = hkdf(this.hash, this.#ck, ikm, 2)
    this.#ck = ck!
    this.cipher.initializeKey(this.#truncate(tempK!))
  }

  mixHash(data: Uint8Array): void {
    this.#h = this.hash.hash(concat(this.#h, data))
  }

  mixKeyAndHash(ikm: Uint8Array): void {
    const [ck, tempH, tempK] = hkdf(this.hash, this.#ck, ikm, 3)
    this.#ck = ck!
    this.mixHash(tempH!)
    this.cipher.initializeKey(this.#truncate(tempK!))
  }

  getHandshakeHash(): Uint8Array {
    return this.#h.slice()
  }

  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const c = this.cipher.encryptWithAd(this.#h, plaintext)
    this.mixHash(c)
    return c
  }

  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const p = this.cipher.decryptWithAd(this.#h, ciphertext)
    this.mixHash(ciphertext)
    return p
  }

  /** Split(): the two transport CipherStates, initiator-to-responder first. */
  split(): [CipherState, CipherState] {
    const [k1, k2] = hkdf(this.hash, this.#ck, new Uint8Array(0), 2)
    const c1 = new CipherState()
    const c2 = new CipherState()
    c1.initializeKey(this.#truncate(k1!))
    c2.initializeKey(this.#truncate(k2!))
    return [c1, c2]
  }
}

/** A token of a message pattern (§7.1, §9). */
export type Token = 'e' | 's' | 'ee' | 'es' | 'se' | 'ss' | 'psk'

/** A handshake pattern: pre-messages and messages, initiator's first. */
export interface HandshakePattern {
  readonly name: string
  readonly preInitiator: readonly ('e' | 's')[]
  readonly preResponder: readonly ('e' | 's')[]
  readonly messages: ReadonlyArray<readonly Token[]>
}

/** XX (§7.5): mutual authentication, static keys sent encrypted. */
export const XX: HandshakePattern = {
  name: 'XX',
  preInitiator: [],
  preResponder: [],
  messages: [['e'], ['e', 'ee', 's', 'es'], ['s', 'se']],
}

/** XXpsk3 (§9.4): XX with the pre-shared key mixed in at the end of the third message. */
export const XXpsk3: HandshakePattern = {
  name: 'XXpsk3',
  preInitiator: [],
  preResponder: [],
  messages: [['e'], ['e', 'ee', 's', 'es'], ['s', 'se', 'psk']],
}

/** Initialize() arguments of a {@link HandshakeState}. */
export interface HandshakeOptions {
  readonly pattern: HandshakePattern
  readonly initiator: boolean
  readonly hash: NoiseHash
  readonly prologue?: Uint8Array
  /** The local static keypair. */
  readonly s?: KeyPair
  /** A fixed ephemeral keypair (test vectors only); otherwise made from `randomBytes`. */
  readonly e?: KeyPair
  readonly rs?: Uint8Array
  readonly re?: Uint8Array
  /** The pre-shared key (32 bytes) of a psk pattern. */
  readonly psk?: Uint8Array
  /** Random bytes for the ephemeral key (seed it for deterministic simulations). */
  readonly randomBytes?: (n: number) => Uint8Array
}

/** The result of a completed handshake. */
export interface HandshakeResult {
  /** Encrypts what this side sends. */
  readonly send: CipherState
  /** Decrypts what this side receives. */
  readonly receive: CipherState
  /** The handshake hash h, a transcript digest both sides share. */
  readonly handshakeHash: Uint8Array
  /** The peer's static public key. */
  readonly remoteStatic: Uint8Array | undefined
}

/**
 * §5.3: runs one side of a handshake. `writeMessage` and `readMessage` must alternate as the
 * pattern says; a call out of turn, a message of the wrong length or one that fails
 * authentication throws a {@link NoiseError} and leaves the state unusable (every later call
 * throws too), so a failed handshake can never be resumed.
 */
export class HandshakeState {
  readonly protocolName: string
  readonly initiator: boolean
  readonly #ss: SymmetricState
  readonly #messages: Array<readonly Token[]>
  readonly #psk: Uint8Array | undefined
  readonly #pskMode: boolean
  readonly #random: (n: number) => Uint8Array
  #s: KeyPair | undefined
  #e: KeyPair | undefined
  #rs: Uint8Array | undefined
  #re: Uint8Array | undefined
  #turn = 0
  #failed: Error | undefined
  #result: HandshakeResult | undefined

  constructor(o: HandshakeOptions) {
    this.initiator = o.initiator
    this.protocolName = `Noise_${o.pattern.name}_25519_ChaChaPoly_${o.hash.name}`
    this.#pskMode = o.pattern.messages.some((m) => m.includes('psk'))
    if (this.#pskMode && (!(o.psk instanceof Uint8Array) || o.psk.length !== 32)) throw new TypeError('a psk pattern needs a 32-byte psk')
    this.#psk = o.psk?.slice()
    this.#random = o.randomBytes ?? ((n) => crypto.getRandomValues(new Uint8Array(n)))
    this.#s = o.s
    this.#e = o.e
    this.#rs = o.rs
    this.#re = o.re
    this.#messages = [...o.pattern.messages]
    this.#ss = new SymmetricState(o.hash, this.protocolName)
    this.#ss.mixHash(o.prologue ?? new Uint8Array(0))
    // Pre-messages: the initiator's keys first (§7.1); with a psk each "e" is also MixKey'd (§9.2).
    for (const [mine, tokens] of [[o.initiator, o.pattern.preInitiator], [!o.initiator, o.pattern.preResponder]] as const) {
      for (const t of tokens) {
        const key = t === 'e' ? (mine ? this.#e?.publicKey : this.#re) : mine ? this.#s?.publicKey : this.#rs
        if (key === undefined) throw new TypeError(`pre-message key ${t} missing`)
        this.#ss.mixHash(key)
        if (t === 'e' && this.#pskMode) this.#ss.mixKey(key)
      }
    }
  }

  /** True when it is this side's turn to write. */
  get writing(): boolean {
    return this.#turn % 2 === (this.initiator ? 0 : 1)
  }

  /** Set once every message of the pattern was written or read. */
  get result(): HandshakeResult | undefined {
    return this.#result
  }

  /** The peer's static public key, once received. */
  get remoteStatic(): Uint8Array | undefined {
    return this.#rs
  }

  #check(write: boolean): readonly Token[] {
    if (this.#failed !== undefined) throw new NoiseError(`handshake already failed: ${this.#failed.message}`)
    if (this.#result !== undefined || this.#turn >= this.#messages.length) throw new NoiseError('handshake already complete')
    if (this.writing !== write) throw new NoiseError(write ? 'not our turn to write' : 'message out of turn')
    return this.#messages[this.#turn]!
  }

  #dh(token: 'ee' | 'es' | 'se' | 'ss'): Uint8Array {
    const need = (k: KeyPair | Uint8Array | undefined, what: string) => {
      if (k === undefined) throw new NoiseError(`token ${token} without ${what}`)
      return k as never
    }
    const i = this.initiator
    switch (token) {
      case 'ee':
        return dh(need(this.#e, 'e'), need(this.#re, 're'))
      case 'es':
        return i ? dh(need(this.#e, 'e'), need(this.#rs, 'rs')) : dh(need(this.#s, 's'), need(this.#re, 're'))
      case 'se':
        return i ? dh(need(this.#s, 's'), need(this.#re, 're')) : dh(need(this.#e, 'e'), need(this.#rs, 'rs'))
      case 'ss':
        return dh(need(this.#s, 's'), need(this.#rs, 'rs'))
    }
  }

  #finish(): void {
    this.#turn++
    if (this.#turn < this.#messages.length) return
    const [c1, c2] = this.#ss.split()
    this.#result = {
      send: this.initiator ? c1 : c2,
      receive: this.initiator ? c2 : c1,
      handshakeHash: this.#ss.getHandshakeHash(),
      remoteStatic: this.#rs,
    }
  }

  #fail(err: unknown): never {
    const e = err instanceof NoiseError ? err : new NoiseError((err as Error)?.message ?? String(err))
    this.#failed = e
    throw e
  }

  /** WriteMessage(payload): the next handshake message. @throws NoiseError out of turn. */
  writeMessage(payload: Uint8Array = new Uint8Array(0)): Uint8Array {
    const tokens = this.#check(true)
    try {
      const out: Uint8Array[] = []
      for (const t of tokens) {
        if (t === 'e') {
          if (this.#e === undefined) this.#e = keyPairFromSecret(this.#random(32))
          out.push(this.#e.publicKey)
          this.#ss.mixHash(this.#e.publicKey)
          if (this.#pskMode) this.#ss.mixKey(this.#e.publicKey)
        } else if (t === 's') {
          if (this.#s === undefined) throw new NoiseError('token s without a static key')
          out.push(this.#ss.encryptAndHash(this.#s.publicKey))
        } else if (t === 'psk') {
          this.#ss.mixKeyAndHash(this.#psk!)
        } else {
          this.#ss.mixKey(this.#dh(t))
        }
      }
      out.push(this.#ss.encryptAndHash(payload))
      const message = concat(...out)
      if (message.length > MAX_NOISE_MESSAGE) throw new NoiseError(`handshake message of ${message.length} bytes exceeds ${MAX_NOISE_MESSAGE}`)
      this.#finish()
      return message
    } catch (err) {
      this.#fail(err)
    }
  }

  /** ReadMessage(message): the payload. @throws NoiseError out of turn, truncated, or failing authentication. */
  readMessage(message: Uint8Array): Uint8Array {
    const tokens = this.#check(false)
    try {
      if (message.length > MAX_NOISE_MESSAGE) throw new NoiseError(`handshake message of ${message.length} bytes exceeds ${MAX_NOISE_MESSAGE}`)
      let at = 0
      const take = (n: number): Uint8Array => {
        if (at + n > message.length) throw new NoiseError('handshake message truncated')
        const b = message.subarray(at, at + n)
        at += n
        return b
      }
      for (const t of tokens) {
        if (t === 'e') {
          if (this.#re !== undefined) throw new NoiseError('token e twice')
          this.#re = take(DHLEN).slice()
          this.#ss.mixHash(this.#re)
          if (this.#pskMode) this.#ss.mixKey(this.#re)
        } else if (t === 's') {
          if (this.#rs !== undefined) throw new NoiseError('token s twice')
          const temp = take(this.#ss.cipher.hasKey() ? DHLEN + TAGLEN : DHLEN)
          this.#rs = this.#ss.decryptAndHash(temp).slice()
        } else if (t === 'psk') {
          this.#ss.mixKeyAndHash(this.#psk!)
        } else {
          this.#ss.mixKey(this.#dh(t))
        }
      }
      const rest = message.subarray(at)
      if (this.#ss.cipher.hasKey() && rest.length < TAGLEN) throw new NoiseError('handshake message truncated')
      const payload = this.#ss.decryptAndHash(rest).slice()
      this.#finish()
      return payload
    } catch (err) {
      this.#fail(err)
    }
  }
}
