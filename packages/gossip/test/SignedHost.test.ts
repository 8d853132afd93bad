import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCodes, MemoryStore, decoding, encoding, isHearsayError, type ErrorCode } from '@hearsay/core'
import { LWWMap } from '@hearsay/model'
import {
  GossipKind,
  createWritePolicy,
  decodeBundle,
  encodeBundle,
  encodeWritePolicy,
  generateIdentity,
  identityPublicKey,
  nodeIdFromPublicKey,
  readGossipMessage,
  signSegment,
  signedObjectId,
  writeSignedMessage,
  type Node,
  type Segment,
  type SignedBatch,
} from '@hearsay/gossip'
import { TestNet, waitFor } from './helpers/net.ts'
import { RawPeer } from './helpers/raw.ts'

const refusedWith = (code: ErrorCode) => (err: unknown) => isHearsayError(err, code)
const mapOf = (n: Node, id: string) => n.get(id) as LWWMap | undefined

/** A (the only writer) and C, each connected only to R, a relay that holds the network key but is not in the policy. */
async function chain(net: TestNet, options: { storeA?: MemoryStore } = {}) {
  const captured: Uint8Array[] = []
  const r = net.node({
    inspect: (dir, frame) => {
      if (dir === 'in' && frame[0] === GossipKind.Signed) captured.push(frame.slice())
    },
  })
  const a = net.node({ store: options.storeA ?? new MemoryStore() })
  const c = net.node()
  await r.listen(net.address('r'))
  // A and C listen nowhere: they cannot dial each other, so everything C gets passes through R.
  await a.connect(net.address('r'))
  await c.connect(net.address('r'))
  const id = signedObjectId('prices', createWritePolicy([a.id]))
  return { a, r, c, id, captured }
}

function decodeSigned(frame: Uint8Array): { objectId: string; typeId: number; batch: SignedBatch } {
  const msg = readGossipMessage(decoding.createDecoder(frame))
  if (msg.kind !== GossipKind.Signed) throw new Error('not a Signed frame')
  return msg
}

function sendSigned(raw: RawPeer, objectId: string, typeId: number, batch: SignedBatch): void {
  raw.send((e) => writeSignedMessage(e, objectId, typeId, batch))
}

describe('signed objects through nodes', () => {
  it('a writer\'s updates reach C through a relay with their signatures; the relay cannot write', async () => {
    const net = new TestNet()
    try {
      const { a, r, c, id } = await chain(net)
      const prices = await a.open('prices', LWWMap, { writers: [a.id] })
      assert.equal(a.get(id), prices, 'a name with writers opens the policy-bound id')
      for (let i = 0; i < 100; i++) prices.set(`item${i}`, i)
      await waitFor(() => mapOf(c, id)?.size === 100, 'C holds the 100 prices relayed by R')
      assert.deepEqual(mapOf(c, id)!.toJSON(), prices.toJSON())
      assert.deepEqual(mapOf(r, id)!.toJSON(), prices.toJSON())
      for (const n of [a, r, c]) assert.deepEqual(n.status().refused, { badSignature: 0, notPermitted: 0, invalid: 0 })

      // The relay's own writes are refused before anything changes, through either form of open.
      const atR = await r.open(id, LWWMap)
      const before = atR.clock.toJSON()
      assert.throws(() => atR.set('item0', 999), refusedWith(ErrorCodes.NOT_PERMITTED))
      assert.throws(() => atR.delete('item1'), refusedWith(ErrorCodes.NOT_PERMITTED))
      assert.deepEqual(atR.clock.toJSON(), before, 'the refused write took no seq')
      assert.equal(atR.get('item0'), 0)
      await assert.rejects(r.open(id, LWWMap, { writers: [r.id] }), refusedWith(ErrorCodes.NOT_PERMITTED), 'a policy the id does not certify')
      // A signed id opened before its policy is known refuses writes too.
      const unknown = await c.open(signedObjectId('other', createWritePolicy([c.id])), LWWMap)
      assert.throws(() => unknown.set('k', 1), refusedWith(ErrorCodes.NOT_PERMITTED))

      // Later writes flow live.
      prices.set('item0', -1)
      await waitFor(() => mapOf(c, id)?.get('item0') === -1, 'C sees the live update')
    } finally {
      await net.close()
    }
  })

  it('forgeries by a peer holding the network key are refused at C and at A, counted, and change nothing', async () => {
    const net = new TestNet()
    try {
      const { a, c, id, captured } = await chain(net)
      const prices = await a.open(id, LWWMap, { writers: [a.id] })
      prices.set('bread', 3)
      prices.set('milk', 2)
      await waitFor(() => mapOf(c, id)?.get('milk') === 2, 'C holds the genuine prices')
      prices.set('eggs', 5)
      await waitFor(() => mapOf(c, id)?.get('eggs') === 5, 'C holds the second segment')
      assert.ok(captured.length >= 2, 'R saw A\'s signed frames')
      const first = decodeSigned(captured[0]!)
      const last = decodeSigned(captured.at(-1)!)
      const genuine = first.batch.segments[0]!
      const second = last.batch.segments.at(-1)!
      assert.notEqual(genuine.to, second.to)

      // The forger knows the network key, so it gets a session to both nodes.
      const attacker = generateIdentity()
      const attackerId = nodeIdFromPublicKey(identityPublicKey(attacker))
      const forgeries: Array<{ what: string; code: ErrorCode; batch: SignedBatch }> = []
      // 1. An altered value under A's signature.
      const scratch = new LWWMap()
      const ranges = scratch.decodeRanges(genuine.ranges)
      const altered = ranges.map((rg) => ({ ...rg, updates: rg.updates.map((u) => ({ ...u, op: { ...u.op, value: 0 } })) }))
      forgeries.push({ what: 'an altered value', code: ErrorCodes.BAD_SIGNATURE, batch: { policy: first.batch.policy, segments: [{ ...genuine, ranges: scratch.encodeRanges(altered) }] } })
      // 2. A's signature over other bytes: the first segment's signature on the second's header and ranges.
      forgeries.push({ what: 'a reused signature', code: ErrorCodes.BAD_SIGNATURE, batch: { policy: first.batch.policy, segments: [{ ...second, signature: genuine.signature }] } })
      // 3. A segment claiming A's source, signed with the attacker's key.
      const claimed = signSegment(attacker, { ...genuine, source: attackerId, ranges: scratch.encodeRanges(altered) })
      forgeries.push({ what: 'A\'s source with another key', code: ErrorCodes.BAD_SIGNATURE, batch: { policy: first.batch.policy, segments: [{ ...claimed, source: genuine.source }] } })
      // 4. The attacker's own write, properly signed by itself: not in the policy.
      const own = new LWWMap({ id: attackerId })
      own.set('bread', 0)
      const ownSegment: Segment = signSegment(attacker, { objectId: id, typeId: LWWMap.typeId, source: attackerId, from: 0, to: 1, ranges: own.encodeRanges(own.historySince()) })
      forgeries.push({ what: 'a writer not in the policy', code: ErrorCodes.NOT_PERMITTED, batch: { policy: first.batch.policy, segments: [ownSegment] } })
      // 5. The same write under a policy that names the attacker: the id does not certify it.
      const swapped = { policy: encodeWritePolicy(createWritePolicy([attackerId])), segments: [ownSegment] }
      forgeries.push({ what: 'a swapped policy', code: ErrorCodes.NOT_PERMITTED, batch: swapped })

      for (const target of [c, a]) {
        const errors: Array<{ code: string }> = []
        target.on('peer-error', (e) => errors.push(e))
        const raw = await RawPeer.connect(net.transport(), target === c ? await listenAt(net, c, 'c') : await listenAt(net, a, 'a'))
        await raw.authenticate('forger', 'test-key')
        const before = target.status().refused
        for (const f of forgeries) sendSigned(raw, id, LWWMap.typeId, f.batch)
        // 6. Unsigned ranges of the signed object.
        raw.send((e) => {
          encoding.writeVarUint(e, GossipKind.Ranges)
          encoding.writeVarString(e, id)
          encoding.writeVarUint(e, LWWMap.typeId)
          own.writeRanges(e, own.historySince())
        })
        await waitFor(() => errors.length >= forgeries.length + 1, `every forgery is reported at ${target === c ? 'C' : 'A'}`)
        assert.deepEqual(errors.map((e) => e.code), [...forgeries.map((f) => f.code), ErrorCodes.BAD_SIGNATURE], forgeries.map((f) => f.what).join(', ') + ', unsigned ranges')
        const after = target.status().refused
        assert.equal(after.badSignature - before.badSignature, 4)
        assert.equal(after.notPermitted - before.notPermitted, 2)
        assert.deepEqual(mapOf(target, id)!.toJSON(), { bread: 3, milk: 2, eggs: 5 }, 'nothing of a forgery applied')
        assert.deepEqual(Object.keys(mapOf(target, id)!.clock.toJSON()), [prices.id], 'no other source entered the clock')
      }
    } finally {
      await net.close()
    }
  })

  it('bundles carry the signatures; a forged or unsigned update inside a bundle is refused', async () => {
    const net = new TestNet()
    try {
      const [a, c, d, e] = [net.node(), net.node(), net.node(), net.node()]
      await Promise.all([a.start(), c.start(), d.start(), e.start()])
      const id = signedObjectId('prices', createWritePolicy([a.id]))
      const m = await a.open(id, LWWMap, { writers: [a.id] })
      m.set('bread', 3)
      m.set('milk', 2)
      const bundle = await a.exportBundle()
      await c.importBundle(bundle)
      assert.deepEqual(mapOf(c, id)!.toJSON(), { bread: 3, milk: 2 })
      // C carries A's segments on in its own bundle, signatures intact; C still cannot write.
      await d.importBundle(await c.exportBundle())
      assert.deepEqual(mapOf(d, id)!.toJSON(), { bread: 3, milk: 2 })
      assert.throws(() => mapOf(c, id)!.set('bread', 0), refusedWith(ErrorCodes.NOT_PERMITTED))

      // A holder of the network key opens the bundle, alters a value, seals it again.
      const content = decodeBundle('test-key', bundle)
      const entry = content.signed![0]!
      const seg = entry.batch.segments[0]!
      const scratch = new LWWMap()
      const altered = scratch.decodeRanges(seg.ranges).map((rg) => ({ ...rg, updates: rg.updates.map((u) => ({ ...u, op: { ...u.op, value: 0 } })) }))
      const forged = encodeBundle('test-key', { ...content, signed: [{ ...entry, batch: { ...entry.batch, segments: [{ ...seg, ranges: scratch.encodeRanges(altered) }] } }] })
      const unsigned = encodeBundle('test-key', { ...content, signed: [], objects: [{ objectId: id, typeId: LWWMap.typeId, ranges: scratch.encodeRanges(altered) }] })
      const errors: string[] = []
      e.on('peer-error', (err) => errors.push(err.code))
      await e.importBundle(forged)
      await e.importBundle(unsigned)
      assert.deepEqual(errors, [ErrorCodes.BAD_SIGNATURE, ErrorCodes.BAD_SIGNATURE])
      assert.equal(e.get(id), undefined, 'no object was created from a forgery')
      assert.equal(e.status().refused.badSignature, 2)
      // And the genuine bundle still applies there afterwards.
      await e.importBundle(bundle)
      assert.deepEqual(mapOf(e, id)!.toJSON(), { bread: 3, milk: 2 })
    } finally {
      await net.close()
    }
  })

  it('gathers writes for sealDelay ms into one signature; flush and close sign what is gathering', async () => {
    const net = new TestNet()
    try {
      const store = new MemoryStore()
      const identity = generateIdentity()
      const signedFrames: Uint8Array[] = []
      const a = net.node({ store, identity, sealDelay: 60_000, inspect: (dir, f) => dir === 'out' && f[0] === GossipKind.Signed && signedFrames.push(f.slice()) })
      await a.listen(net.address('a'))
      const c = net.node()
      await c.connect(net.address('a'))
      const m = await a.open('prices', LWWMap, { writers: [a.id] })
      const id = a.objectIds().find((x) => x.startsWith('prices~'))!
      for (let i = 0; i < 10; i++) {
        m.set(`k${i}`, i)
        await new Promise((r) => setImmediate(r))
      }
      await new Promise((r) => setTimeout(r, 50))
      assert.equal(mapOf(c, id), undefined, 'nothing left before the delay')
      await a.flush()
      await waitFor(() => mapOf(c, id)?.size === 10, 'C receives the batch signed by flush')
      // A live push and a round's history may both carry it: count segments, not frames.
      const segments = new Set(signedFrames.flatMap((f) => decodeSigned(f).batch.segments.map((x) => `${x.source}:${x.from}:${x.to}`)))
      assert.equal(segments.size, 1, 'ten writes in ten ticks: one segment')
      m.set('last', 1)
      await a.close()
      const again = net.node({ store, identity })
      assert.equal((await again.open(id, LWWMap)).get('last'), 1, 'a write gathering at close was signed and stored')
    } finally {
      await net.close()
    }
  })

  it('a restart of A keeps its signed segments and serves them to a node that joins later', async () => {
    const net = new TestNet()
    try {
      const store = new MemoryStore()
      const identity = generateIdentity()
      const a1 = net.node({ store, identity })
      await a1.start()
      const id = signedObjectId('prices', createWritePolicy([a1.id]))
      const m1 = await a1.open(id, LWWMap, { writers: [a1.id] })
      for (let i = 0; i < 50; i++) m1.set(`old${i}`, i)
      await a1.close()

      const problems: string[] = []
      const logger = { warn: (_d: unknown, m: string) => problems.push(m), error: (_d: unknown, m: string) => problems.push(m) }
      const a2 = net.node({ store, identity, logger })
      await a2.listen(net.address('a2'))
      assert.equal(a2.get(id), undefined, 'after the restart the object is hosted by its index line, not loaded')
      const c = net.node()
      await c.connect(net.address('a2'))
      await waitFor(() => mapOf(c, id)?.size === 50, 'C receives the stored segments of an object A has not opened')
      // Opened without writers: the policy comes back from the store with the segments.
      const m2 = await a2.open(id, LWWMap)
      assert.equal(m2.size, 50)
      m2.set('new', 1)
      await waitFor(() => mapOf(c, id)?.size === 51, 'C receives the segments from before and after the restart')
      assert.deepEqual(mapOf(c, id)!.toJSON(), m2.toJSON())
      assert.equal(Object.keys(mapOf(c, id)!.clock.toJSON()).length, 2, 'two incarnations of A wrote it')
      assert.deepEqual(c.status().refused, { badSignature: 0, notPermitted: 0, invalid: 0 })
      assert.deepEqual(problems.filter((m) => !/peer/.test(m)), [], 'the store\'s index and the stored segments agree')
    } finally {
      await net.close()
    }
  })
})

const listening = new WeakMap<Node, string>()
async function listenAt(net: TestNet, n: Node, name: string): Promise<string> {
  let url = listening.get(n)
  if (url === undefined) listening.set(n, (url = await n.listen(net.address(name))))
  return url
}
