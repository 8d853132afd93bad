import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ed25519 } from '@noble/curves/ed25519.js'
import { LWWMap } from '@hearsay/model'
import { decodeIdentity, encodeIdentity, generateIdentity, idMatchesStatic, identityPublicKey, nodeIdFromPublicKey, publicKeyFromNodeId, type NodeIdentity } from '@hearsay/gossip'
import { keyPairFromSecret } from '../src/secure/noise.ts'
import { TestNet, waitFor } from './helpers/net.ts'

const legacy = (): NodeIdentity => keyPairFromSecret(crypto.getRandomValues(new Uint8Array(32)))

describe('node identity', () => {
  it('is an Ed25519 key whose X25519 form is the Noise static key, and round-trips', () => {
    const id = generateIdentity()
    assert.ok(id.signing, 'a fresh identity can sign')
    assert.deepEqual(id.publicKey, ed25519.utils.toMontgomery(id.signing.publicKey))
    const again = decodeIdentity(encodeIdentity(id))
    assert.deepEqual(again.signing!.publicKey, id.signing.publicKey)
    assert.deepEqual(again.publicKey, id.publicKey)
    const nodeId = nodeIdFromPublicKey(identityPublicKey(id))
    assert.deepEqual(publicKeyFromNodeId(nodeId), id.signing.publicKey)
    assert.ok(idMatchesStatic(nodeId, id.publicKey))
    assert.ok(!idMatchesStatic(nodeId, generateIdentity().publicKey), 'another key cannot claim the id')
    // A legacy 32-byte X25519 secret stays readable under its old id; it cannot sign.
    const old = legacy()
    const read = decodeIdentity(encodeIdentity(old))
    assert.equal(read.signing, undefined)
    assert.ok(idMatchesStatic(nodeIdFromPublicKey(identityPublicKey(read)), old.publicKey))
    assert.throws(() => decodeIdentity(new Uint8Array(33)), TypeError, 'an unknown format byte')
    assert.throws(() => decodeIdentity(new Uint8Array(31)), TypeError)
  })

  it('binds ids on the wire: Ed25519 and legacy ids sync, an id claimed with another key is refused', async () => {
    const net = new TestNet()
    try {
      const ka = generateIdentity()
      const kc = legacy()
      const a = net.node({ identity: ka, requireBoundIds: true })
      const b = net.node({ identity: generateIdentity(), requireBoundIds: true })
      const c = net.node({ identity: kc, requireBoundIds: true })
      await Promise.all([a.start(), b.start(), c.start()])
      assert.equal(a.id, nodeIdFromPublicKey(ka.signing!.publicKey), 'the node id is the Ed25519 public key')
      assert.equal(c.id, nodeIdFromPublicKey(kc.publicKey), 'a legacy node keeps its X25519 id')
      await a.listen(net.address('a'))
      await b.connect(net.address('a'))
      await c.connect(net.address('a'))
      const ma = await a.open('m', LWWMap)
      ma.set('k', 1)
      const mb = await b.open('m', LWWMap)
      const mc = await c.open('m', LWWMap)
      await waitFor(() => mb.get('k') === 1 && mc.get('k') === 1, 'b and c got the write')
      // An impostor claims a's id with its own key: the Noise static key does not match the id.
      const errors: string[] = []
      const d = net.node({ id: a.id, identity: generateIdentity(), backoff: 60_000 })
      a.on('peer-error', (err: Error) => errors.push(String(err.message)))
      // (not awaited: a refused dial keeps retrying under the backoff)
      void d.connect(net.address('a')).catch(() => {})
      await waitFor(() => errors.some((m) => m.includes('not its key')), 'a refused the impostor')
    } finally {
      await net.close()
    }
  })
})
