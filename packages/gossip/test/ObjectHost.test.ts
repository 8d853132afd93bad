import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { MemoryStore, type Range } from '@hearsay/core'
import { LWWMap, ORSet } from '@hearsay/model'
import { ObjectHost, type HostedObject } from '@hearsay/gossip'
import { GatedStore } from './helpers/GatedStore.ts'

const tick = () => new Promise((r) => setTimeout(r, 2))

function host(store: MemoryStore, compaction?: { minBatches: number; maxBatches: number }) {
  const id = 'node1'
  const forwarded: Array<{ objectId: string; ranges: readonly Range<any>[]; origin: unknown }> = []
  const adopted: string[] = []
  const logs: string[] = []
  const objects = new ObjectHost({
    store,
    compaction,
    replicaOptions: () => ({ id }),
    log: (level, message) => logs.push(`${level}: ${message}`),
    storeError: () => {},
    storeFailed: () => {},
    forward: (o: HostedObject, ranges, origin) => forwarded.push({ objectId: o.objectId, ranges, origin }),
    adopted: (objectId) => adopted.push(objectId),
  })
  return { objects, forwarded, adopted, logs }
}

describe('ObjectHost', () => {
  it('opens one replica per id, however many ask at once, and refuses another type', async () => {
    const store = new MemoryStore()
    await store.open()
    const { objects } = host(store)
    const [a, b] = await Promise.all([objects.open('m', LWWMap), objects.open('m', LWWMap)])
    assert.equal(a, b)
    assert.equal(await objects.open('m', LWWMap), a)
    await assert.rejects(objects.open('m', ORSet), { code: 'HEARSAY_TYPE_MISMATCH' })
    assert.deepEqual(objects.ids(), ['m'])
    assert.equal(objects.index.size, 1)
  })

  it('forwards a local write only once its append is durable, and a peer\'s ranges at once', async () => {
    const store = new GatedStore()
    await store.open()
    const { objects, forwarded } = host(store)
    const m = await objects.open('m', LWWMap)
    store.closeGate()
    m.set('k', 1)
    await tick()
    assert.equal(forwarded.length, 0, 'not before the store holds it')
    assert.equal(objects.isDurable('m'), false)
    const durable = objects.whenDurable('m')
    store.openGate()
    await durable
    await tick()
    assert.equal(forwarded.length, 1)
    assert.equal(forwarded[0]!.origin, undefined)
    const peer = {}
    const other = new LWWMap({ id: 'node2' })
    other.set('j', 2)
    m.applyRanges(other.historySince(m.clock), peer)
    assert.equal(forwarded.length, 2)
    assert.equal(forwarded[1]!.origin, peer)
    await objects.persister.idle()
    assert.equal(store.appends, 2, 'both persisted')
  })

  it('restores every stored object of a registered type, and counts its batches for compaction', async () => {
    const store = new MemoryStore()
    await store.open()
    const first = host(store)
    const m = await first.objects.open('m', LWWMap)
    for (let i = 0; i < 3; i++) {
      m.set(`k${i}`, i)
      await first.objects.persister.idle()
    }
    await store.append([{ objectId: 'alien', typeId: 9999, data: Uint8Array.of(0) }])
    first.objects.close()
    // Compaction at 4 batches: the 3 restored ones count, so the next append compacts.
    const again = host(store, { minBatches: 4, maxBatches: 4 })
    await again.objects.restore()
    assert.deepEqual(again.objects.ids(), ['m'])
    const m2 = again.objects.get('m')!.replica as LWWMap<number>
    assert.deepEqual(m2.get('k2'), 2)
    assert.deepEqual(again.logs, ['warn: stored object of an unregistered type left unloaded'])
    assert.equal(again.forwarded.length, 0, 'what the store held is not sent anywhere')
    m2.set('k3', 3)
    await again.objects.persister.idle()
    assert.equal(again.objects.persister.stats.compactions, 1)
    assert.equal((await store.load('m'))!.batches.length, 0)
  })

  it('adopts what a peer brings, and after halt persists and forwards nothing', async () => {
    const store = new GatedStore()
    await store.open()
    const { objects, forwarded, adopted } = host(store)
    const r = objects.create(LWWMap.typeId)
    assert.equal(objects.get('new'), undefined)
    objects.adopt('new', r)
    assert.deepEqual(adopted, ['new'])
    assert.equal(objects.get('new')!.replica, r)
    assert.throws(() => objects.create(123456), { code: 'HEARSAY_UNKNOWN_TYPE' })
    objects.halt()
    ;(r as LWWMap<number>).set('late', 1)
    await tick()
    assert.equal(forwarded.length, 0)
    assert.equal(store.appends, 0)
  })
})
