// Our Noise framework (src/secure/noise.ts) against independent implementations. rweather's
// noise-c (the C reference library, compiled to wasm: npm `noise-c.wasm`, a devDependency):
// whole Noise_XX handshakes in both roles and with both hashes (same handshake hash, each side
// reads the other's payloads and transport messages), SymmetricState operations, transport
// ciphers after Rekey. noise-c.wasm predates the psk modifiers (it knows only the older
// NoisePSK_ scheme, and its MixKeyAndHash is an older draft's), so Noise_XXpsk3 is checked
// against a second SymmetricState written in this test on node:crypto (OpenSSL's hash, HKDF,
// X25519 and ChaCha20-Poly1305), replaying the pattern token by token, with noise-c's
// CipherState reading and writing the transport messages after Split.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { createCipheriv, createDecipheriv, createHash, createPrivateKey, hkdfSync, createPublicKey, diffieHellman } from 'node:crypto'
import { BLAKE2b, CipherState, HandshakeState, SHA256, SymmetricState, XX, XXpsk3, keyPairFromSecret, type KeyPair, type NoiseHash } from '../src/secure/noise.js'
import { createPrng, prng, testSeed } from '@hearsay/core/testing'

const require = createRequire(import.meta.url)
const createNoise = require('noise-c.wasm') as (cb: (noise: any) => void) => void
const noiseC: Promise<any> = new Promise((resolve) => createNoise(resolve))

const seed = testSeed()
const rng = createPrng(seed)
const bytes = (n: number) => Uint8Array.from({ length: n }, () => prng.uint32(rng, 0, 255))
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const note = `(SEED=${seed})`

function nodeDh(secret: Uint8Array, pub: Uint8Array): Uint8Array {
  // PKCS#8 / SPKI wrappers for raw X25519 keys, so node:crypto (OpenSSL) does the DH.
  const priv = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), secret]), format: 'der', type: 'pkcs8' })
  const pubKey = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b656e032100', 'hex'), pub]), format: 'der', type: 'spki' })
  return new Uint8Array(diffieHellman({ privateKey: priv, publicKey: pubKey }))
}

for (const hash of [SHA256, BLAKE2b]) {
  for (const oursInitiates of [true, false]) {
    test(`Noise_XX_25519_ChaChaPoly_${hash.name}: ours as ${oursInitiates ? 'initiator' : 'responder'} with noise-c ${note}`, async () => {
      const noise = await noiseC
      const name = `Noise_XX_25519_ChaChaPoly_${hash.name}`
      const prologue = bytes(11)
      const ours = keyPairFromSecret(bytes(32))
      const [theirSecret, theirPublic] = noise.CreateKeyPair(noise.constants.NOISE_DH_CURVE25519)
      const me = new HandshakeState({ pattern: XX, initiator: oursInitiates, hash, prologue, s: ours, randomBytes: bytes })
      assert.equal(me.protocolName, name)
      const them = noise.HandshakeState(name, oursInitiates ? noise.constants.NOISE_ROLE_RESPONDER : noise.constants.NOISE_ROLE_INITIATOR)
      them.Initialize(prologue, theirSecret, null, null)
      for (let i = 0; i < 3; i++) {
        const payload = bytes(i * 7)
        if (me.writing) {
          const m = me.writeMessage(payload)
          assert.deepEqual(new Uint8Array(them.ReadMessage(m, true) ?? []), payload, `message ${i + 1}`)
        } else {
          const m = them.WriteMessage(payload)
          assert.deepEqual(me.readMessage(m), payload, `message ${i + 1}`)
        }
      }
      const done = me.result!
      assert.ok(done)
      assert.equal(them.GetAction(), noise.constants.NOISE_ACTION_SPLIT)
      assert.equal(hex(done.handshakeHash), hex(them.GetHandshakeHash()))
      assert.equal(hex(done.remoteStatic!), hex(theirPublic))
      assert.equal(hex(them.GetRemotePublicKey()), hex(ours.publicKey))
      const [theirSend, theirReceive] = them.Split()
      for (let i = 0; i < 5; i++) {
        const a = bytes(1 + i * 13)
        assert.deepEqual(new Uint8Array(theirReceive.DecryptWithAd(new Uint8Array(0), done.send.encryptWithAd(new Uint8Array(0), a))), a)
        const b = bytes(3 + i)
        assert.deepEqual(done.receive.decryptWithAd(new Uint8Array(0), theirSend.EncryptWithAd(new Uint8Array(0), b)), b)
      }
      theirSend.free()
      theirReceive.free()
    })
  }
}

/**
 * A second SymmetricState (§5.2) written in this test on node:crypto (OpenSSL) alone: hash,
 * HKDF (RFC 5869, empty info, as §4.3 defines it), ChaCha20-Poly1305. noise-c.wasm cannot serve
 * here: its MixKeyAndHash is an older draft's (MixKey, then MixHash of the chaining key).
 */
function referenceSymmetric(hash: NoiseHash, protocolName: string) {
  const algo = hash.name === 'SHA256' ? 'sha256' : 'blake2b512'
  const H = (d: Uint8Array) => new Uint8Array(createHash(algo).update(d).digest())
  const name = Buffer.from(protocolName)
  let h = name.length <= hash.hashLen ? new Uint8Array(Buffer.concat([name, Buffer.alloc(hash.hashLen - name.length)])) : H(name)
  let ck = h
  let k: Uint8Array | undefined
  let n = 0n
  const kdf = (ikm: Uint8Array, outs: number) => {
    const okm = new Uint8Array(hkdfSync(algo, ikm, ck, new Uint8Array(0), outs * hash.hashLen))
    return Array.from({ length: outs }, (_, i) => okm.slice(i * hash.hashLen, (i + 1) * hash.hashLen))
  }
  const nonce = () => {
    const b = Buffer.alloc(12)
    b.writeBigUInt64LE(n, 4)
    return b
  }
  const cipher = {
    enc(key: Uint8Array | undefined, ad: Uint8Array, p: Uint8Array): Uint8Array {
      if (key === undefined) return p
      const c = createCipheriv('chacha20-poly1305', key, nonce(), { authTagLength: 16 })
      c.setAAD(ad, { plaintextLength: p.length })
      const out = Buffer.concat([c.update(p), c.final(), c.getAuthTag()])
      n++
      return new Uint8Array(out)
    },
    dec(key: Uint8Array | undefined, ad: Uint8Array, x: Uint8Array): Uint8Array {
      if (key === undefined) return x
      const d = createDecipheriv('chacha20-poly1305', key, nonce(), { authTagLength: 16 })
      d.setAAD(ad, { plaintextLength: x.length - 16 })
      d.setAuthTag(x.subarray(x.length - 16))
      const out = Buffer.concat([d.update(x.subarray(0, x.length - 16)), d.final()])
      n++
      return new Uint8Array(out)
    },
  }
  const mixHash = (d: Uint8Array) => (h = H(new Uint8Array(Buffer.concat([h, d]))))
  return {
    hasKey: () => k !== undefined,
    mixHash,
    mixKey(ikm: Uint8Array) {
      const [a, b] = kdf(ikm, 2)
      ck = a!
      k = b!.slice(0, 32)
      n = 0n
    },
    mixKeyAndHash(ikm: Uint8Array) {
      const [a, b, c] = kdf(ikm, 3)
      ck = a!
      mixHash(b!)
      k = c!.slice(0, 32)
      n = 0n
    },
    encryptAndHash(p: Uint8Array) {
      const c = cipher.enc(k, h, p)
      mixHash(c)
      return c
    },
    decryptAndHash(c: Uint8Array) {
      const p = cipher.dec(k, h, c)
      mixHash(c)
      return p
    },
    /** The transport keys, for a noise-c CipherState each. */
    splitKeys: () => kdf(new Uint8Array(0), 2).map((x) => x.slice(0, 32)),
  }
}

/** One side of a handshake replayed token by token (§5.3, §9.2) over the reference SymmetricState. */
function referenceSide(hash: NoiseHash, protocolName: string, initiator: boolean, s: KeyPair, e: KeyPair, psk: Uint8Array, prologue: Uint8Array) {
  const ss = referenceSymmetric(hash, protocolName)
  ss.mixHash(prologue)
  let re: Uint8Array | undefined
  let rs: Uint8Array | undefined
  const dh = (t: string) => {
    const ours = (t === 'ee' ? 'e' : t === 'ss' ? 's' : initiator ? t[0] : t[1]) === 'e' ? e : s
    const theirs = (t === 'ee' ? 'e' : t === 'ss' ? 's' : initiator ? t[1] : t[0]) === 'e' ? re! : rs!
    ss.mixKey(nodeDh(ours.secretKey, theirs))
  }
  return {
    write(tokens: readonly string[], payload: Uint8Array): Uint8Array {
      const out: Uint8Array[] = []
      for (const t of tokens) {
        if (t === 'e') {
          out.push(e.publicKey)
          ss.mixHash(e.publicKey)
          ss.mixKey(e.publicKey)
        } else if (t === 's') out.push(ss.encryptAndHash(s.publicKey))
        else if (t === 'psk') ss.mixKeyAndHash(psk)
        else dh(t)
      }
      out.push(ss.encryptAndHash(payload))
      return new Uint8Array(Buffer.concat(out))
    },
    read(tokens: readonly string[], m: Uint8Array): Uint8Array {
      let at = 0
      for (const t of tokens) {
        if (t === 'e') {
          re = m.slice(at, at + 32)
          at += 32
          ss.mixHash(re)
          ss.mixKey(re)
        } else if (t === 's') {
          const n = ss.hasKey() ? 48 : 32
          rs = ss.decryptAndHash(m.slice(at, at + n))
          at += n
        } else if (t === 'psk') ss.mixKeyAndHash(psk)
        else dh(t)
      }
      return ss.decryptAndHash(m.slice(at))
    },
    split(noise: any): [any, any] {
      return ss.splitKeys().map((key) => {
        const c = noise.CipherState(noise.constants.NOISE_CIPHER_CHACHAPOLY)
        c.InitializeKey(key)
        return c
      }) as [any, any]
    },
  }
}

for (const hash of [SHA256, BLAKE2b] as NoiseHash[]) {
  for (const oursInitiates of [true, false]) {
    test(`Noise_XXpsk3_25519_ChaChaPoly_${hash.name}: ours as ${oursInitiates ? 'initiator' : 'responder'} against a node:crypto replay, noise-c transport ${note}`, async () => {
      const noise = await noiseC
      const pattern = XXpsk3
      const protocolName = `Noise_XXpsk3_25519_ChaChaPoly_${hash.name}`
      const psk = bytes(32)
      const prologue = bytes(5)
      const ours = keyPairFromSecret(bytes(32))
      const ref = referenceSide(hash, protocolName, !oursInitiates, keyPairFromSecret(bytes(32)), keyPairFromSecret(bytes(32)), psk, prologue)
      const me = new HandshakeState({ pattern, initiator: oursInitiates, hash, prologue, s: ours, psk, randomBytes: bytes })
      XXpsk3.messages.forEach((tokens, i) => {
        const payload = bytes(i + 2)
        if (me.writing) assert.deepEqual(ref.read(tokens, me.writeMessage(payload)), payload, `message ${i + 1}`)
        else assert.deepEqual(me.readMessage(ref.write(tokens, payload)), payload, `message ${i + 1}`)
      })
      const [c1, c2] = ref.split(noise)
      const [refSend, refReceive] = oursInitiates ? [c2, c1] : [c1, c2]
      const done = me.result!
      const a = bytes(40)
      assert.deepEqual(new Uint8Array(refReceive.DecryptWithAd(new Uint8Array(0), done.send.encryptWithAd(new Uint8Array(0), a))), a)
      assert.deepEqual(done.receive.decryptWithAd(new Uint8Array(0), refSend.EncryptWithAd(new Uint8Array(0), a)), a)
      // A different psk on one side: the third message fails (the responder refuses it) or the
      // first transport message does (the initiator learns it then).
      const wrong = new HandshakeState({ pattern, initiator: oursInitiates, hash, prologue, s: ours, psk: bytes(32), randomBytes: bytes })
      const ref2 = referenceSide(hash, protocolName, !oursInitiates, keyPairFromSecret(bytes(32)), keyPairFromSecret(bytes(32)), psk, prologue)
      assert.throws(() => {
        XXpsk3.messages.forEach((tokens) => {
          if (wrong.writing) ref2.read(tokens, wrong.writeMessage())
          else wrong.readMessage(ref2.write(tokens, new Uint8Array(0)))
        })
        const [w1, w2] = ref2.split(noise)
        const refSend2 = oursInitiates ? w2 : w1
        wrong.result!.receive.decryptWithAd(new Uint8Array(0), refSend2.EncryptWithAd(new Uint8Array(0), a))
      })
    })
  }
}

test('MixKey, MixHash, EncryptAndHash and Split agree with noise-c', async () => {
  const noise = await noiseC
  for (const hash of [SHA256, BLAKE2b]) {
    const name = `Noise_XX_25519_ChaChaPoly_${hash.name}`
    const ours = new SymmetricState(hash, name)
    const theirs = noise.SymmetricState(name)
    for (let i = 0; i < 6; i++) {
      const x = bytes(32)
      if (i % 2 === 0) (ours.mixKey(x), theirs.MixKey(x))
      else (ours.mixHash(x), theirs.MixHash(x))
      const p = bytes(i * 5)
      assert.equal(hex(ours.encryptAndHash(p)), hex(theirs.EncryptAndHash(p)), `${hash.name} step ${i}`)
    }
    const [a1, a2] = ours.split()
    const [b1, b2] = theirs.Split()
    const p = bytes(20)
    assert.equal(hex(a1.encryptWithAd(new Uint8Array(0), p)), hex(b1.EncryptWithAd(new Uint8Array(0), p)))
    assert.equal(hex(a2.encryptWithAd(new Uint8Array(0), p)), hex(b2.EncryptWithAd(new Uint8Array(0), p)))
  }
})

test('Rekey is ENCRYPT(k, 2^64-1, empty, zeros)[0:32] (node:crypto ChaCha20-Poly1305, then noise-c) ' + note, async () => {
  const noise = await noiseC
  const k = bytes(32)
  const ours = new CipherState()
  ours.initializeKey(k)
  ours.encryptWithAd(new Uint8Array(0), bytes(3))
  ours.rekey()
  const c = createCipheriv('chacha20-poly1305', k, Buffer.from('00000000ffffffffffffffff', 'hex'), { authTagLength: 16 })
  const rekeyed = new Uint8Array(Buffer.concat([c.update(new Uint8Array(32)), c.final()]).subarray(0, 32))
  const theirs = noise.CipherState(noise.constants.NOISE_CIPHER_CHACHAPOLY)
  theirs.InitializeKey(rekeyed)
  theirs.SetNonce(1) // Rekey keeps the nonce.
  const p = bytes(17)
  const ad = bytes(4)
  assert.equal(hex(ours.encryptWithAd(ad, p)), hex(theirs.EncryptWithAd(ad, p)))
  theirs.free()
})
