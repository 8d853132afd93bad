import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { LWWMap } from '@hearsay/model'
import { ErrorCodes, encoding, isHearsayError, type HearsayError, type MemoryConnection } from '@hearsay/core'
import { GossipKind } from '@hearsay/gossip'
import { RecordingTransport, TestNet, waitFor } from './helpers/net.ts'
import { RawPeer } from './helpers/raw.ts'

/** Node `a` listening on `net`, with the peer errors it reports. */
async function listeningNode(net: TestNet): Promise<{ a: ReturnType<TestNet['node']>; errors: HearsayError[] }> {
  const a = net.node({ id: 'a' })
  const errors: HearsayError[] = []
  a.on('peer-error', (e: HearsayError) => errors.push(e))
  await a.listen(net.address('a'))
  return { a, errors }
}

describe('gossip session', () => {
  it('refuses a node with a wrong key: no data either way, and it learns nothing but the refusal', async () => {
    const net = new TestNet()
    try {
      const recA = new RecordingTransport(net.transport())
      const recC = new RecordingTransport(net.transport())
      const a = net.node({ id: 'a', transports: [recA], inspect: recA.inspect })
      const c = net.node({ id: 'c', networkKey: 'not-the-key', transports: [recC], backoff: 60_000, inspect: recC.inspect })
      const errorsA: HearsayError[] = []
      const errorsC: HearsayError[] = []
      a.on('peer-error', (e: HearsayError) => errorsA.push(e))
      c.on('peer-error', (e: HearsayError) => errorsC.push(e))
      const secret = await a.open('secret', LWWMap)
      secret.set('password', 'hunter2')
      const mine = await c.open('mine', LWWMap)
      mine.set('x', 1)
      await a.listen(net.address('a'))
      await assert.rejects(c.connect(net.address('a')), (e: unknown) => isHearsayError(e, ErrorCodes.AUTH_FAILED) || isHearsayError(e, ErrorCodes.TRANSPORT_ERROR) || isHearsayError(e, ErrorCodes.TIMEOUT))
      await new Promise((r) => setTimeout(r, 50))
      // a refused at the third handshake message: nothing of a session reached either side.
      assert.equal(recA.plain.filter((f) => f.dir === 'in').length, 0, 'a read no session frame from c')
      assert.equal(recC.plain.filter((f) => f.dir === 'in').length, 0, 'c read no session frame from a')
      // What c received from a: the one 96-byte handshake reply (a's ephemeral key, its static
      // key sealed to c's ephemeral, an empty sealed payload), then the close.
      const fromA = recC.frames.filter((f) => f.dir === 'in').map((f) => f.bytes.length)
      assert.deepEqual(fromA, [96])
      assert.equal(c.get('secret'), undefined)
      assert.equal(a.get('mine'), undefined)
      assert.ok(errorsA.some((e) => e.code === ErrorCodes.AUTH_FAILED) || a.status().peers.length === 0)
      assert.equal(a.status().peers.some((p) => p.connected), false)
      // The key never travels: neither side's bytes contain it.
      const all = Buffer.concat([...recA.frames, ...recC.frames].map((f) => f.bytes))
      assert.equal(all.includes(Buffer.from('test-key')), false)
      assert.equal(all.includes(Buffer.from('not-the-key')), false)
    } finally {
      await net.close()
    }
  })

  it('refuses data sent before authentication: the link closes, nothing is read from it', async () => {
    const net = new TestNet()
    try {
      const a = net.node({ id: 'a' })
      await a.listen(net.address('a'))
      const raw = await RawPeer.connect(net.transport(), net.address('a'))
      raw.send((e) => {
        encoding.writeVarUint(e, GossipKind.Root)
        encoding.writeVarUint(e, 0)
        encoding.writeVarUint(e, 0)
        encoding.writeUint8Array(e, new Uint8Array(16))
      })
      await waitFor(() => raw.closedWith !== null, 'raw peer closed')
      assert.deepEqual(raw.frames, [], 'the node sent nothing back')
    } finally {
      await net.close()
    }
  })

  it('reports bad frames from an authenticated peer, drops them, and drops a peer that keeps sending them', async () => {
    const net = new TestNet()
    try {
      const { a, errors } = await listeningNode(net)
      const raw = await RawPeer.connect(net.transport(), net.address('a'))
      await raw.authenticate('raw', 'test-key')
      raw.sendBytes(Uint8Array.of(99, 1, 2))
      raw.sendBytes(Uint8Array.of(GossipKind.Root, 0))
      // Ranges for an object of a type nobody registered.
      raw.send((e) => {
        encoding.writeVarUint(e, GossipKind.Ranges)
        encoding.writeVarString(e, 'ghost')
        encoding.writeVarUint(e, 31337)
        encoding.writeVarUint(e, 0)
      })
      // Ranges for an LWWMap that do not decode.
      raw.send((e) => {
        encoding.writeVarUint(e, GossipKind.Ranges)
        encoding.writeVarString(e, 'm')
        encoding.writeVarUint(e, LWWMap.typeId)
        encoding.writeVarUint(e, 5)
        encoding.writeVarString(e, 'x')
      })
      await waitFor(() => errors.length >= 4, 'four errors reported')
      assert.ok(errors.some((e) => e.code === ErrorCodes.UNKNOWN_TYPE))
      assert.ok(errors.every((e) => isHearsayError(e)))
      assert.equal(a.get('ghost'), undefined)
      assert.equal(a.get('m'), undefined, 'an object is not created from ranges that fail to decode')
      assert.equal(raw.closedWith, null, 'a few bad frames do not cost the connection')
      // The node still works.
      const b = net.node({ id: 'b' })
      await b.connect(net.address('a'))
      const m = await a.open('ok', LWWMap)
      m.set('k', 1)
      await waitFor(() => (b.get('ok') as LWWMap | undefined)?.get('k') === 1, 'b syncs')
      for (let i = 0; i < 20; i++) raw.sendBytes(Uint8Array.of(99))
      await waitFor(() => raw.closedWith !== null, 'the noisy peer is dropped')
    } finally {
      await net.close()
    }
  })

  it('object and node ids follow one rule everywhere: a control character or a lone surrogate is refused locally and from a peer', async () => {
    const net = new TestNet()
    try {
      const { a, errors } = await listeningNode(net)
      // Locally: a lone surrogate would arrive as U+FFFD on every peer and split the object in two.
      await assert.rejects(a.open('notes\ud800', LWWMap), TypeError)
      await assert.rejects(a.open('notes\u001b[2J', LWWMap), TypeError)
      await assert.rejects(a.open('rlo\u202e', LWWMap), TypeError)
      const raw = await RawPeer.connect(net.transport(), net.address('a'))
      await raw.authenticate('raw', 'test-key')
      raw.send((e) => {
        encoding.writeVarUint(e, GossipKind.Ranges)
        encoding.writeVarString(e, 'evil\u001b[2J\n12:00:00 peer admin connected')
        encoding.writeVarUint(e, LWWMap.typeId)
        encoding.writeVarUint(e, 0)
      })
      await waitFor(() => errors.length >= 1, 'the bad object id is reported')
      assert.equal(errors[0]!.code, ErrorCodes.DECODE_ERROR)
      assert.deepEqual(a.status().objects.map((o) => o.id).filter((id) => id.startsWith('evil')), [], 'no object was created')
      // A hello whose node id holds a line break is refused: such a peer never joins.
      const liar = await RawPeer.connect(net.transport(), net.address('a'))
      await liar.authenticate('liar\n12:00:00 node ready', 'test-key').catch(() => {})
      await waitFor(() => liar.closedWith !== null, 'the liar is dropped')
      assert.ok(!a.status().peers.some((p) => p.id.startsWith('liar')), 'the liar is no peer')
    } finally {
      await net.close()
    }
  })

  it('disconnects a peer that stops reading (HEARSAY_BACKPRESSURE)', async () => {
    const net = new TestNet()
    try {
      const a = net.node({ id: 'a', maxSendBuffer: 64 * 1024 })
      const reasons: Array<Error | undefined> = []
      a.on('peer-disconnected', (_id: string, reason?: Error) => reasons.push(reason))
      await a.listen(net.address('a'))
      const raw = await RawPeer.connect(net.transport({ maxSendBuffer: 64 * 1024 }), net.address('a'))
      await raw.authenticate('slow', 'test-key')
      await waitFor(() => a.status().peers.some((p) => p.id === 'slow' && p.connected), 'slow peer connected')
      ;(raw.connection as MemoryConnection).pause()
      const m = await a.open('big', LWWMap)
      const blob = 'x'.repeat(1000)
      for (let i = 0; i < 400; i++) {
        m.set(`k${i}`, blob)
        if (i % 20 === 0) await new Promise((r) => setImmediate(r))
      }
      await waitFor(() => reasons.length > 0, 'a drops the slow peer')
      assert.ok(isHearsayError(reasons[0], ErrorCodes.BACKPRESSURE), `reason ${reasons[0]?.message}`)
      assert.equal(a.status().pendingSend, 0)
    } finally {
      await net.close()
    }
  })

  it('splits history across frames under a small frame cap; a write over what a frame carries is refused at once, and later writes still travel', async () => {
    const net = new TestNet()
    try {
      const opts = { maxFrame: 4096, interval: 3_600_000 }
      const rec = new RecordingTransport(net.transport({ maxFrame: 4096 }))
      const a = net.node({ id: 'a', ...opts })
      const b = net.node({ id: 'b', ...opts, transports: [rec], inspect: rec.inspect })
      const errors: HearsayError[] = []
      a.on('peer-error', (e: HearsayError) => errors.push(e))
      const m = await a.open('m', LWWMap)
      for (let i = 0; i < 300; i++) m.set(`k${i}`, 'v'.repeat(100))
      const huge = await a.open('huge', LWWMap)
      // Before the limit, this write was taken, never sent, and blocked every later write of
      // a to this object on b (ranges of one source apply in order).
      assert.throws(() => huge.set('big', 'x'.repeat(10_000)), (e: unknown) => isHearsayError(e, ErrorCodes.VALUE_TOO_LARGE))
      huge.set('small', 1)
      await a.listen(net.address('a'))
      await b.connect(net.address('a'))
      await waitFor(() => (b.get('m') as LWWMap | undefined)?.size === 300, 'b gets all 300 keys')
      await waitFor(() => (b.get('huge') as LWWMap | undefined)?.get('small') === 1, 'the write after the refused one arrives')
      assert.ok(rec.frames.every((f) => f.bytes.length <= 4096))
      assert.ok(rec.plain.filter((f) => f.dir === 'in' && f.bytes[0] === GossipKind.Ranges).length >= 8, 'history came in several frames')
      assert.deepEqual(errors.filter((e) => e.code === ErrorCodes.FRAME_TOO_LARGE), [])
    } finally {
      await net.close()
    }
  })

  it('sends a catch-up far larger than the send bound without tripping it (history is encoded as the link drains)', async () => {
    const net = new TestNet()
    try {
      const bound = 128 * 1024
      const a = net.node({ id: 'a', maxSendBuffer: bound, interval: 3_600_000 })
      const b = net.node({ id: 'b', maxSendBuffer: bound, interval: 3_600_000 })
      const reasons: Array<Error | undefined> = []
      a.on('peer-disconnected', (_: string, r?: Error) => reasons.push(r))
      for (let o = 0; o < 20; o++) {
        const m = await a.open(`obj${o}`, LWWMap)
        for (let i = 0; i < 100; i++) m.set(`k${i}`, 'y'.repeat(500))
      }
      await a.listen(net.address('a'))
      await b.connect(net.address('a'))
      await waitFor(() => Array.from({ length: 20 }, (_, o) => (b.get(`obj${o}`) as LWWMap | undefined)?.size === 100).every(Boolean), 'b gets about 1 MB of history')
      assert.deepEqual(reasons, [])
      assert.ok(a.status().bytesOut > 4 * bound)
    } finally {
      await net.close()
    }
  })
})
