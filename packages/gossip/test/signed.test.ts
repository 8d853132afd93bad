import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCodes, decodeWith, encodeWith, isHearsayError, type ErrorCode } from '@hearsay/core'
import { LWWMap } from '@hearsay/model'
import { ed25519 } from '@noble/curves/ed25519.js'
import {
  SegmentLog,
  createWritePolicy,
  decodeWritePolicy,
  encodeWritePolicy,
  generateIdentity,
  identityPublicKey,
  nodeIdFromPublicKey,
  readSegment,
  segmentSigningBytes,
  signSegment,
  signedObjectId,
  writeSegment,
  type NodeIdentity,
  type Segment,
} from '@hearsay/gossip'

const idOf = (k: NodeIdentity) => nodeIdFromPublicKey(identityPublicKey(k))
const encode = (s: Segment) => encodeWith((e) => writeSegment(e, s))
const decode = (b: Uint8Array) => decodeWith(b, readSegment)
const refusedWith = (...codes: ErrorCode[]) => (err: unknown) => codes.some((c) => isHearsayError(err, c))

/** The price list: the camp writes it; a relay and a field device hold replicas and logs. */
function world() {
  const camp = generateIdentity()
  const field = generateIdentity()
  const policy = createWritePolicy([idOf(camp)])
  const objectId = signedObjectId('prices', policy)
  const replica = (k: NodeIdentity, n: number) => new LWWMap({ id: `${idOf(k)}.${n}.AAAAAAAA` })
  const campLog = new SegmentLog(objectId, replica(camp, 1), policy)
  const relayLog = new SegmentLog(objectId, new LWWMap(), policy)
  const fieldLog = new SegmentLog(objectId, replica(field, 1), policy)
  return { camp, field, policy, objectId, campLog, relayLog, fieldLog }
}

describe('write policies', () => {
  it('are canonical, self-certifying, and refuse ids that are not Ed25519 keys', () => {
    const a = idOf(generateIdentity())
    const b = idOf(generateIdentity())
    const p = createWritePolicy([b, a, b])
    assert.deepEqual(p.writers, [a, b].sort())
    assert.deepEqual(decodeWritePolicy(encodeWritePolicy(p)), p)
    assert.equal(signedObjectId('x', p), signedObjectId('x', createWritePolicy([a, b])))
    assert.notEqual(signedObjectId('x', p), signedObjectId('x', createWritePolicy([a])))
    assert.throws(() => createWritePolicy(['laptop']), TypeError)
    assert.throws(() => createWritePolicy([]), TypeError)
    const other = createWritePolicy([a])
    assert.throws(() => new SegmentLog(signedObjectId('x', p), new LWWMap(), other), refusedWith(ErrorCodes.NOT_PERMITTED), 'a policy the id does not certify')
  })
})

describe('signed segments', () => {
  it('a relay that cannot write passes the camp\'s segments on byte for byte; every node applies them', () => {
    const w = world()
    w.campLog.replica.set('bread', 3)
    w.campLog.replica.set('salt', 1)
    const s1 = w.campLog.seal(w.camp)!
    assert.equal(w.campLog.seal(w.camp), undefined, 'nothing new to sign')
    assert.equal(w.relayLog.receive(decode(encode(s1))), 'applied')
    const relayed = w.relayLog.since(w.fieldLog.clock)
    assert.deepEqual(relayed.map(encode), [encode(s1)], 'the relay serves the bytes the camp signed')
    assert.equal(w.fieldLog.receive(decode(encode(relayed[0]!))), 'applied')
    assert.equal(w.fieldLog.replica.get('bread'), 3)
    assert.equal(w.relayLog.replica.get('salt'), 1)
  })

  it('a segment forged with the network key but not the source key is refused at the relay and beyond', () => {
    const w = world()
    w.campLog.replica.set('bread', 3)
    const honest = w.campLog.seal(w.camp)!
    const thief = generateIdentity()
    // The thief writes a lower price under the camp's source and signs with its own key.
    const forgedReplica = new LWWMap({ id: honest.source })
    forgedReplica.set('bread', 0)
    const fields = { objectId: w.objectId, typeId: honest.typeId, source: honest.source, from: 0, to: 1, ranges: forgedReplica.encodeRanges(forgedReplica.historySince()) }
    const forged: Segment = { ...fields, signature: ed25519.sign(segmentSigningBytes(fields), thief.signing!.secretKey) }
    assert.throws(() => signSegment(thief, fields), TypeError, 'signSegment refuses a source that is not the signer\'s')
    for (const log of [w.relayLog, w.fieldLog, w.campLog]) {
      assert.throws(() => log.receive(decode(encode(forged))), refusedWith(ErrorCodes.BAD_SIGNATURE))
    }
    assert.equal(w.relayLog.replica.get('bread'), undefined)
    assert.equal(w.relayLog.refusals.badSignature, 1)
    assert.equal(w.fieldLog.refusals.badSignature, 1)
    // Forwarded raw by a dishonest relay: still refused.
    assert.throws(() => w.fieldLog.receive(forged), refusedWith(ErrorCodes.BAD_SIGNATURE))
    assert.equal(w.fieldLog.receive(honest), 'applied')
    assert.equal(w.fieldLog.replica.get('bread'), 3)
  })

  it('any flipped bit of a relayed segment is refused and changes nothing', () => {
    const w = world()
    w.campLog.replica.set('bread', 3)
    w.campLog.replica.set('milk', 2)
    const bytes = encode(w.campLog.seal(w.camp)!)
    let refused = 0
    for (let i = 0; i < bytes.length; i++) {
      for (const bit of [0, 7]) {
        const bad = bytes.slice()
        bad[i]! ^= 1 << bit
        let err: unknown
        try {
          w.fieldLog.receive(decode(bad))
        } catch (e) {
          err = e
        }
        assert.ok(isHearsayError(err), `byte ${i} bit ${bit}: flipped segment was not refused`)
        refused++
      }
    }
    assert.equal(refused, bytes.length * 2)
    assert.equal(w.fieldLog.replica.clock.total(), 0, 'nothing applied')
    assert.equal(w.fieldLog.replica.get('bread'), undefined)
    assert.equal(w.fieldLog.receive(decode(bytes)), 'applied', 'the intact bytes still apply')
  })

  it('refuses the empty-range forgery that would advance a clock without the source\'s signature', () => {
    const w = world()
    const mallory = generateIdentity()
    const campSource = `${idOf(w.camp)}.1.AAAAAAAA`
    const probe = new LWWMap({ id: campSource })
    const empty = probe.encodeRanges([{ source: probe.id, from: 0, to: 1_000_000, updates: [] }])
    const fields = { objectId: w.objectId, typeId: probe.typeId, source: campSource, from: 0, to: 1_000_000, ranges: empty }
    for (const signature of [new Uint8Array(64), ed25519.sign(segmentSigningBytes(fields), mallory.signing!.secretKey)]) {
      assert.throws(() => w.relayLog.receive({ ...fields, signature }), refusedWith(ErrorCodes.BAD_SIGNATURE))
    }
    // Mallory as a writer of her own object cannot carry the camp's source either: the header
    // is hers and signed, the ranges inside name the camp.
    const both = createWritePolicy([idOf(w.camp), idOf(mallory)])
    const shared = signedObjectId('prices', both)
    const sharedLog = new SegmentLog(shared, new LWWMap(), both)
    const own = signSegment(mallory, { objectId: shared, typeId: probe.typeId, source: `${idOf(mallory)}.1.AAAAAAAA`, from: 0, to: 1_000_000, ranges: empty })
    assert.throws(() => sharedLog.receive(own), refusedWith(ErrorCodes.INVALID_UPDATE))
    assert.equal(w.relayLog.replica.clock.get(campSource), 0)
    assert.equal(sharedLog.replica.clock.get(campSource), 0)
    assert.equal(sharedLog.clock.get(own.source), 0)
    // The camp's own real first write still applies from seq 1.
    w.campLog.replica.set('bread', 3)
    assert.equal(w.relayLog.receive(w.campLog.seal(w.camp)!), 'applied')
  })

  it('a replayed old segment is harmless; one out of order waits for its predecessor', () => {
    const w = world()
    w.campLog.replica.set('bread', 3)
    const s1 = w.campLog.seal(w.camp)!
    w.campLog.replica.set('bread', 4)
    const s2 = w.campLog.seal(w.camp)!
    assert.equal(w.fieldLog.receive(s2), 'gap')
    assert.equal(w.fieldLog.replica.get('bread'), undefined)
    assert.equal(w.fieldLog.receive(s1), 'applied')
    assert.equal(w.fieldLog.receive(s2), 'applied')
    assert.equal(w.fieldLog.receive(s1), 'duplicate')
    assert.equal(w.fieldLog.receive(s2), 'duplicate')
    assert.equal(w.fieldLog.replica.get('bread'), 4)
  })

  it('a writer the policy does not name cannot change the object anywhere, signed or not', () => {
    const w = world()
    w.fieldLog.replica.set('bread', 0)
    assert.throws(() => w.fieldLog.seal(w.field), refusedWith(ErrorCodes.NOT_PERMITTED), 'the device cannot even sign a segment its policy refuses')
    const byField = signSegment(w.field, { objectId: w.objectId, typeId: w.fieldLog.replica.typeId, source: w.fieldLog.replica.id, from: 0, to: 1, ranges: w.fieldLog.replica.encodeRanges(w.fieldLog.replica.historySince()) })
    for (const log of [w.relayLog, w.campLog]) assert.throws(() => log.receive(decode(encode(byField))), refusedWith(ErrorCodes.NOT_PERMITTED))
    assert.equal(w.relayLog.refusals.notPermitted, 1)
    assert.equal(w.campLog.refusals.notPermitted, 1)
    assert.equal(w.relayLog.replica.get('bread'), undefined)
    assert.equal(w.campLog.replica.get('bread'), undefined)
  })
})
