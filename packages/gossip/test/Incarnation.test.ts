import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { MAX_REPLICA_ID_LENGTH, MemoryStore } from '@hearsay/core'
import { createPrng, prng } from '@hearsay/core/testing'
import { LWWMap } from '@hearsay/model'
import { Incarnation, META_INCARNATION, incarnationSource } from '@hearsay/gossip'
import { TestNet, waitFor } from './helpers/net.ts'

const bytes = (n: number, fill = 7) => new Uint8Array(n).fill(fill)

async function openStore(): Promise<MemoryStore> {
  const store = new MemoryStore()
  await store.open()
  return store
}

describe('Incarnation', () => {
  it('names a source <node>.<epoch>.<8 random characters>, cutting a long node id to fit', () => {
    assert.equal(incarnationSource('alice', 3, bytes(6)), 'alice.3.BwcHBwcH')
    const long = 'n'.repeat(MAX_REPLICA_ID_LENGTH)
    const s = incarnationSource(long, 12, bytes(6))
    assert.equal(s.length, MAX_REPLICA_ID_LENGTH)
    assert.ok(s.endsWith('.12.BwcHBwcH'))
  })

  it('owns its bare id and its incarnations, not other nodes\' sources', async () => {
    let fill = 0
    const inc = await Incarnation.begin(await openStore(), 'alice', (n) => bytes(n, ++fill))
    assert.ok(inc.owns('alice'))
    assert.ok(inc.owns(inc.source))
    assert.ok(inc.owns('alice.7.abcdefgh'))
    for (const other of ['bob', 'alice2.1.abcdefgh', 'alic.1.abcdefgh', 'alice.1.abc', 'alice.x.abcdefgh', 'bob.alice.1.abcdefgh', 'alice.1.abcdefgh.1.abcdefgh']) assert.equal(inc.owns(other), false, other)
    const long = await Incarnation.begin(await openStore(), 'n'.repeat(MAX_REPLICA_ID_LENGTH), (n) => bytes(n))
    assert.ok(long.owns(long.source))
    assert.equal(long.owns(`${'n'.repeat(20)}.1.abcdefgh`), false, 'a short prefix of a long id is another node')
  })

  it('counts epochs in the store, draws a fresh random part each time, survives a damaged record', async () => {
    const store = await openStore()
    const rng = createPrng(1)
    const random = (n: number) => prng.uint8Array(rng, n)
    const seen = new Set<string>()
    for (let i = 1; i <= 3; i++) {
      const inc = await Incarnation.begin(store, 'a', random)
      assert.equal(inc.epoch, i)
      seen.add(inc.source)
    }
    const inc = await Incarnation.begin(store, 'a', random)
    await inc.next()
    assert.equal(inc.epoch, 5)
    seen.add(inc.source)
    await store.putMeta(META_INCARNATION, new Uint8Array([0xff]))
    const after = await Incarnation.begin(store, 'a', random)
    assert.equal(after.epoch, 1)
    seen.add(after.source)
    assert.equal(seen.size, 5, 'every incarnation has its own source, the repeated epoch 1 too')
  })
})

describe('a node and its incarnations', () => {
  it('a bundle holding more of its current source than it does: the node moves every replica to a fresh source and says so once', async () => {
    const net = new TestNet()
    try {
      // Same id, same seeded randomness, fresh stores: both draw the same incarnation, as two
      // copies of one data directory started from one state would without the random part.
      const rngA = createPrng(9)
      const rngB = createPrng(9)
      const a = net.node({ id: 'x', random: () => prng.real53(rngA) })
      const twin = net.node({ id: 'x', random: () => prng.real53(rngB) })
      const ma = await a.open('m', LWWMap)
      const mt = await twin.open('m', LWWMap)
      assert.equal(a.source, twin.source)
      const shared = a.source
      ma.set('k', 1)
      for (let i = 0; i < 3; i++) mt.set(`t${i}`, i)
      const alarms: Array<[string, string, string | undefined]> = []
      a.on('history-alarm', (source, objectId, peer) => alarms.push([source, objectId, peer]))
      await a.importBundle(await twin.exportBundle())
      assert.notEqual(a.source, shared)
      assert.equal(ma.id, a.source, 'the open replica writes under the new source')
      assert.equal(a.get('hearsay/membership')!.id, a.source)
      assert.equal(a.status().historyAlarms, 1)
      assert.deepEqual(alarms, [[shared, alarms[0]![1], undefined]])
      ma.set('after', 2)
      assert.equal(ma.clock.get(a.source), 1, 'the fresh source counts from 1')
      assert.equal(ma.clock.get(shared), 3, 'what arrived under the old source stays')
      const later = await a.open('later', LWWMap)
      assert.equal(later.id, a.source, 'replicas opened later take the new source too')
    } finally {
      await net.close()
    }
  })

  it('a peer sends back what a wiped node wrote in its earlier life: received, counted, and the node writes on under its own id', async () => {
    const net = new TestNet()
    try {
      const b = net.node({ id: 'b' })
      await b.listen(net.address('b'))
      const a1 = net.node({ id: 'a' })
      await a1.connect(net.address('b'))
      const m1 = await a1.open('m', LWWMap)
      for (let i = 0; i < 5; i++) m1.set(`k${i}`, i)
      const first = a1.source
      await waitFor(() => (b.get('m') as LWWMap | undefined)?.size === 5, 'b has the first life')
      await a1.close()
      const a2 = net.node({ id: 'a' })
      const m2 = await a2.open('m', LWWMap)
      m2.set('fresh', 1)
      const alarm = new Promise<string>((resolve) => a2.once('history-alarm', (source) => resolve(source)))
      await a2.connect(net.address('b'))
      assert.equal(await alarm, first)
      await waitFor(() => (b.get('m') as LWWMap | undefined)?.size === 6 && m2.size === 6, 'both hold all six')
      assert.deepEqual(m2.encodeState(), b.get('m')!.encodeState())
      assert.equal(a2.id, 'a')
      assert.equal(a2.status().historyAlarms, 1)
    } finally {
      await net.close()
    }
  })
})
