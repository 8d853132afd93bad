import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { VersionVector } from '@hearsay/core'
import { prng, withSeed } from '@hearsay/core/testing'
import { LWWMap } from '@hearsay/model'
import { ContentHashes, DigestIndex, GossipKind, entryHash, objectKey, type HostedObject, type IndexedObject } from '@hearsay/gossip'
import { RecordingTransport, TestNet, waitFor } from './helpers/net.ts'

function obj(objectId: string, entries: Record<string, number>, typeId = 2): IndexedObject {
  return { objectId, typeId, clock: new VersionVector(entries) }
}

describe('DigestIndex', () => {
  it('keeps buckets, lists and the change log equal to a recomputation over every object, through adds, touches and deletes', () =>
    withSeed('digest model', (rng) => {
      const ix = new DigestIndex()
      const live = new Map<string, IndexedObject>()
      const changedAt = new Map<string, number>()
      // Reference: every summary and list recomputed from the live objects.
      const check = (prefix: string): void => {
        const inside = [...live.values()].filter((o) => o.clock.size > 0 && objectKey(o.objectId).startsWith(prefix))
        const want = Array.from({ length: 16 }, () => ({ count: 0, hash: new Uint8Array(8) }))
        for (const o of inside) {
          const c = parseInt(objectKey(o.objectId)[prefix.length]!, 16)
          want[c]!.count++
          const h = entryHash(o.objectId, o.typeId, o.clock)
          for (let i = 0; i < 8; i++) want[c]!.hash[i]! ^= h[i]!
        }
        assert.deepEqual(ix.summarize(prefix).map((b) => ({ count: b.count, hash: [...b.hash] })), want.map((b) => ({ count: b.count, hash: [...b.hash] })), `summary of '${prefix}'`)
        const keys = inside.map((o) => objectKey(o.objectId)).sort()
        assert.deepEqual(ix.under(prefix).map((o) => objectKey(o.objectId)), keys, `objects under '${prefix}'`)
      }
      let mark = 0
      for (let step = 0; step < 3000; step++) {
        const id = `o${prng.uint32(rng, 0, 399)}`
        const r = rng.next()
        const o = live.get(id)
        if (o === undefined || r < 0.1) {
          if (o !== undefined) ix.delete(id)
          const fresh = obj(id, rng.next() < 0.2 ? {} : { a: prng.uint32(rng, 1, 5) })
          live.set(id, fresh)
          ix.add(fresh)
          changedAt.set(id, ix.version)
        } else if (r < 0.15) {
          ix.delete(id)
          live.delete(id)
          changedAt.delete(id)
        } else {
          ;(o.clock as VersionVector).set('b', step + 1)
          ix.touch(id)
          changedAt.set(id, ix.version)
        }
        if (step % 250 === 0) {
          const key = objectKey(id)
          for (const p of ['', key.slice(0, 1), key.slice(0, 2), key.slice(0, 3), key.slice(0, 4), key.slice(0, 6)]) check(p)
          const since = [...changedAt].filter(([, v]) => v > mark).sort((x, y) => x[1] - y[1]).map(([k]) => k)
          assert.deepEqual(ix.changedSince(mark).map((x) => x.objectId), since, `changed since ${mark}`)
          mark = ix.version - prng.uint32(rng, 0, 50)
        }
      }
      const nonEmpty = [...live.values()].filter((o) => o.clock.size > 0)
      assert.equal(ix.root().count, nonEmpty.length)
      const root = new Uint8Array(16)
      for (const o of nonEmpty) entryHash(o.objectId, o.typeId, o.clock).forEach((b, i) => (root[i]! ^= b))
      assert.deepEqual(ix.root().hash, root)
      assert.equal(ix.size, live.size)
    }))

  it('keeps the content root equal to the XOR over the non-empty hosted objects, hashing only what changed', async () => {
    const hosted = new Map<string, HostedObject>()
    const contents = new ContentHashes((id) => hosted.get(id))
    const host = (id: string, m: LWWMap): void => {
      hosted.set(id, { objectId: id, typeId: m.typeId, replica: m, get clock() { return m.clock } })
      contents.invalidate(id)
    }
    const expected = (): Uint8Array => {
      const out = new Uint8Array(16)
      const fresh = new ContentHashes((id) => hosted.get(id))
      for (const o of hosted.values()) if (o.clock.size > 0) fresh.of(o).forEach((b, i) => (out[i]! ^= b))
      return out
    }
    const maps: LWWMap[] = []
    for (let i = 0; i < 50; i++) {
      const m = new LWWMap({ id: 'me' })
      if (i % 5 !== 0) m.set('k', i)
      maps.push(m)
      host(`m${i}`, m)
    }
    assert.deepEqual(contents.root(), expected())
    const hashed = contents.computed
    assert.deepEqual(contents.root(), expected())
    assert.equal(contents.computed, hashed, 'a second root hashes nothing')
    maps[3]!.set('k', 'changed')
    contents.invalidate('m3')
    maps[5]!.set('k', 'first write') // was empty
    contents.invalidate('m5')
    assert.deepEqual(contents.root(), expected())
    assert.equal(contents.computed, hashed + 2, 'only the two changed objects are hashed again')
    // Replaced by another replica: the old hash leaves the root, the new one enters.
    const other = new LWWMap({ id: 'other' })
    other.set('x', 1)
    contents.invalidate('m7')
    host('m7', other)
    assert.deepEqual(contents.root(), expected())
  })

  it('gives equal roots for equal sets of objects, whatever the order, and tracks changes', () =>
    withSeed('digest order', (rng) => {
      const objs = Array.from({ length: 300 }, (_, i) => obj(`o${i}`, { a: 1 + (i % 5), b: i % 3 }))
      const a = new DigestIndex()
      const b = new DigestIndex()
      for (const o of objs) a.add(o)
      const shuffled = [...objs].sort(() => rng.next() - 0.5).map((o) => obj(o.objectId, o.clock.toJSON()))
      for (const o of shuffled) b.add(o)
      assert.deepEqual(a.root(), b.root())
      assert.equal(a.root().count, 300)
      ;(shuffled[0]!.clock as VersionVector).set('c', 1)
      b.touch(shuffled[0]!.objectId)
      assert.notDeepEqual(a.root(), b.root())
      ;(objs.find((o) => o.objectId === shuffled[0]!.objectId)!.clock as VersionVector).set('c', 1)
      a.touch(shuffled[0]!.objectId)
      assert.deepEqual(a.root(), b.root())
    }))

  it('leaves empty objects out and summarises buckets by key prefix', () => {
    const ix = new DigestIndex()
    ix.add(obj('empty', {}))
    assert.equal(ix.root().count, 0)
    assert.deepEqual(ix.root().hash, new Uint8Array(16))
    for (let i = 0; i < 100; i++) ix.add(obj(`x${i}`, { a: 1 }))
    const top = ix.summarize('')
    assert.equal(top.reduce((n, c) => n + c.count, 0), 100)
    for (let c = 0; c < 16; c++) {
      const p = c.toString(16)
      assert.equal(ix.under(p).length, top[c]!.count)
      assert.ok(ix.under(p).every((o) => objectKey(o.objectId).startsWith(p)))
    }
  })
})

async function syncedPair(net: TestNet, objects: number): Promise<{ a: import('@hearsay/gossip').Node; b: import('@hearsay/gossip').Node; rec: RecordingTransport; maps: LWWMap[] }> {
  // No periodic rounds and no heartbeats: only the exchanges the test starts.
  const quiet = { interval: 3_600_000, heartbeatInterval: 3_600_000 }
  const a = net.node({ id: 'a', ...quiet })
  const rec = new RecordingTransport(net.transport())
  const b = net.node({ id: 'b', ...quiet, transports: [rec], inspect: rec.inspect })
  const maps: LWWMap[] = []
  for (let i = 0; i < objects; i++) {
    const m = await a.open(`obj-${i}`, LWWMap)
    m.set('v', i)
    maps.push(m)
  }
  // Bring b level through a bundle so the test measures sessions, not the initial transfer.
  await b.importBundle(await a.exportBundle())
  await a.flush()
  await b.flush()
  return { a, b, rec, maps }
}

describe('root and bucketed digests on the wire', () => {
  it('two nodes in sync exchange well under 100 bytes per round, whatever the number of objects', async () => {
    for (const n of [10, 2000]) {
      const net = new TestNet()
      try {
        const { a, b, rec } = await syncedPair(net, n)
        await a.listen(net.address('a'))
        await b.connect(net.address('a'))
        // The membership objects differ (each node beat on its own): let the first round settle.
        await waitFor(() => b.status().peers.some((p) => p.inSync) || (b.syncNow(), false), `in sync (${n})`)
        await new Promise((r) => setTimeout(r, 20))
        const mark = rec.frames.length
        const plainMark = rec.plain.length
        b.syncNow()
        await waitFor(() => rec.frames.length >= mark + 2, 'root and reply')
        await new Promise((r) => setTimeout(r, 20))
        const round = rec.plain.slice(plainMark)
        // Sealed bytes on the wire: each frame carries a 16-byte tag and a 1-byte piece header.
        const bytes = rec.bytesSince(mark)
        assert.deepEqual(round.map((f) => [f.dir, f.bytes[0]]), [['out', GossipKind.Root], ['in', GossipKind.Root]])
        assert.ok(bytes < 100, `${n} objects: a round in sync took ${bytes} bytes`)
        console.log(`# ${n} objects in sync: ${bytes} bytes per round`)
        // The Noise handshake (48 + 96 + 64 bytes) and the two sealed hellos open the connection.
        const handshake = rec.frames.slice(0, 5).reduce((s, f) => s + f.bytes.length, 0)
        assert.ok(handshake < 330, `handshake ${handshake} bytes`)
      } finally {
        await net.close()
      }
    }
  })

  it('a round over 5000 objects where 3 differ costs bytes in proportion to the difference', async () => {
    const net = new TestNet()
    try {
      const { a, b, rec, maps } = await syncedPair(net, 5000)
      // Changed while apart; live pushes cannot carry them.
      maps[17]!.set('v', 'changed')
      maps[2222]!.set('w', 1)
      maps[4999]!.delete('v')
      const bm = await b.open('obj-3', LWWMap)
      bm.set('from-b', true)
      await a.flush()
      await b.flush()
      await a.listen(net.address('a'))
      const mark = rec.frames.length
      await b.connect(net.address('a'))
      await waitFor(
        () =>
          (b.get('obj-17') as LWWMap).get('v') === 'changed' &&
          (b.get('obj-2222') as LWWMap).get('w') === 1 &&
          !(b.get('obj-4999') as LWWMap).has('v') &&
          (a.get('obj-3') as LWWMap).get('from-b') === true,
        'the differences crossed',
      )
      await new Promise((r) => setTimeout(r, 30))
      const bytes = rec.bytesSince(mark)
      console.log(`# 5000 objects, 4 differ: ${bytes} bytes in the session (handshake included)`)
      // Listing every object's vector once would cost about this much:
      const naive = 5000 * (1 + 'obj-1234'.length + 1 + 1 + 2 + 1)
      assert.ok(bytes < 12_000, `session took ${bytes} bytes`)
      assert.ok(bytes < naive / 4, `session took ${bytes} bytes; a full listing is about ${naive}`)
      const vectors = rec.plain.filter((f) => f.bytes[0] === GossipKind.Vectors).reduce((s, f) => s + f.bytes.length, 0)
      assert.ok(vectors < 2_000, `vectors ${vectors} bytes`)
      await waitFor(() => b.status().peers.some((p) => p.inSync) || (b.syncNow(), false), 'roots equal again')
    } finally {
      await net.close()
    }
  })

  it('brings an empty node level with thousands of objects under a small frame cap (vectors split by bucket)', async () => {
    const net = new TestNet()
    try {
      const small = { maxFrame: 8192, interval: 3_600_000, heartbeatInterval: 3_600_000 }
      const a = net.node({ id: 'a', ...small })
      const rec = new RecordingTransport(net.transport({ maxFrame: 8192 }))
      const b = net.node({ id: 'b', ...small, transports: [rec], inspect: rec.inspect })
      for (let i = 0; i < 3000; i++) (await a.open(`o${i}`, LWWMap)).set('v', i)
      await a.listen(net.address('a'))
      await b.connect(net.address('a'))
      await waitFor(() => b.objectIds().length >= 3001, 'b hosts every object', 30_000)
      await waitFor(() => b.status().peers.some((p) => p.inSync) || (b.syncNow(), false), 'in sync')
      assert.ok(rec.frames.every((f) => f.bytes.length <= 8192))
      const nodes = rec.plain.filter((f) => f.bytes[0] === GossipKind.Nodes).length
      assert.ok(nodes <= 4, `${nodes} Nodes frames: an empty side is not walked bucket by bucket`)
      assert.equal((b.get('o2999') as LWWMap).get('v'), 2999)
    } finally {
      await net.close()
    }
  })
})
