import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { MemoryStore, VersionVector } from '@hearsay/core'
import { LAZY_SAVE_SKIPS, SeenDigests } from '@hearsay/gossip'

const vv = (o: Record<string, number>) => new VersionVector(o)
const entry = (objectId: string, o: Record<string, number>, typeId = 1) => ({ objectId, typeId, vector: vv(o) })

/** A MemoryStore counting metadata writes. */
class CountingStore extends MemoryStore {
  puts = 0
  override async putMeta(key: string, value: Uint8Array): Promise<void> {
    this.puts++
    return super.putMeta(key, value)
  }
}

async function opened(): Promise<CountingStore> {
  const store = new CountingStore()
  await store.open()
  return store
}

const json = (m: Map<string, { toJSON(): unknown }>) => Object.fromEntries([...m].map(([k, v]) => [k, v.toJSON()]))

describe('SeenDigests', () => {
  it('persists what peers sent: a new instance on the same store reads it back', async () => {
    const store = await opened()
    const a = new SeenDigests(store, () => {})
    a.record('p', [entry('x', { s: 3 }), entry('y', { s: 1, t: 2 })])
    assert.equal(a.dirty, true)
    await a.save()
    assert.equal(a.dirty, false)
    const b = new SeenDigests(store, () => {})
    assert.deepEqual(json(await b.vectors('p')), { x: { s: 3 }, y: { s: 1, t: 2 } })
    assert.deepEqual(json(await b.vectors('q')), {})
  })

  it('merges a partial record made before the stored digest was read, source by source, instead of replacing it', async () => {
    const store = await opened()
    const a = new SeenDigests(store, () => {})
    a.record('p', [entry('x', { s: 3, t: 1 }), entry('y', { s: 1 })])
    await a.save()
    const b = new SeenDigests(store, () => {})
    b.record('p', [entry('x', { s: 2, t: 5 })]) // a round after a restart: only x's bucket differed
    await b.save()
    const c = new SeenDigests(store, () => {})
    assert.deepEqual(json(await c.vectors('p')), { x: { s: 3, t: 5 }, y: { s: 1 } })
  })

  it('records our vectors when a peer is found in sync, once per root, then only what changed since', async () => {
    const store = await opened()
    const seen = new SeenDigests(store, () => {})
    const asked: Array<number | undefined> = []
    const mine = (since: number | undefined) => (asked.push(since), since === undefined ? [entry('x', { me: 4 }), entry('y', { me: 1 })] : [entry('x', { me: 5 })])
    const root = { count: 1, hash: new Uint8Array(16).fill(7) }
    seen.recordInSync('p', root, 10, mine)
    seen.recordInSync('p', { count: 1, hash: root.hash.slice() }, 11, mine)
    assert.deepEqual(asked, [undefined], 'the same root again records nothing; the first record takes every object')
    root.hash[0] = 0 // the recorded root is a copy
    seen.recordInSync('p', { count: 1, hash: new Uint8Array(16).fill(7) }, 12, mine)
    assert.deepEqual(asked, [undefined])
    seen.recordInSync('p', { count: 2, hash: new Uint8Array(16).fill(7) }, 13, mine)
    assert.deepEqual(asked, [undefined, 10], 'a moved root records the objects changed since the last record')
    await seen.save()
    assert.equal(store.puts, 1)
    assert.deepEqual(json(await seen.vectors('p')), { x: { me: 5 }, y: { me: 1 } })
    // A bundle digest replaces the objects: the next in-sync record takes every object again.
    await seen.acknowledge('p', 1, [entry('z', { me: 1 })])
    seen.recordInSync('p', { count: 3, hash: new Uint8Array(16).fill(7) }, 14, mine)
    assert.deepEqual(asked, [undefined, 10, undefined])
  })

  it('a lazy save passes over a peer with few changes, a bounded number of times', async () => {
    const store = await opened()
    const seen = new SeenDigests(store, () => {})
    seen.record('p', Array.from({ length: 64 }, (_, i) => entry(`o${i}`, { me: 1 })))
    await seen.save(true)
    assert.equal(store.puts, 1, 'many changes: written')
    seen.record('p', [entry('o1', { me: 2 })])
    for (let i = 0; i < LAZY_SAVE_SKIPS; i++) await seen.save(true)
    assert.equal(store.puts, 1, 'one change in 64 entries waits')
    assert.ok(seen.dirty)
    await seen.save(true)
    assert.equal(store.puts, 2, `written after ${LAZY_SAVE_SKIPS} passes`)
    seen.record('p', [entry('o2', { me: 2 })])
    await seen.save()
    assert.equal(store.puts, 3, 'a save that is not lazy writes at once')
    assert.ok(!seen.dirty)
    const again = new SeenDigests(store, () => {})
    assert.deepEqual((await again.vectors('p')).get('o2')?.toJSON(), { me: 2 })
  })

  it('acknowledges a bundle digest unless a later bundle was acknowledged', async () => {
    const store = await opened()
    const seen = new SeenDigests(store, () => {})
    await seen.acknowledge('p', 200, [entry('x', { s: 5 })])
    await seen.acknowledge('p', 100, [entry('x', { s: 1 }), entry('y', { s: 1 })])
    assert.deepEqual(json(await seen.vectors('p')), { x: { s: 5 } })
    await seen.acknowledge('p', 200, [entry('y', { s: 2 })])
    assert.deepEqual(json(await seen.vectors('p')), { y: { s: 2 } }, 'a bundle replaces what was known')
    const again = new SeenDigests(store, () => {})
    await again.acknowledge('p', 150, [entry('z', { s: 9 })])
    assert.deepEqual(json(await again.vectors('p')), { y: { s: 2 } }, 'the stored time counts after a restart')
  })

  it('starts from empty on an unreadable stored digest, and keeps a failed save dirty', async () => {
    const store = await opened()
    await store.putMeta('peer-digest/p', Uint8Array.of(9, 9, 9))
    const warnings: string[] = []
    const seen = new SeenDigests(store, (level, message) => warnings.push(`${level}: ${message}`))
    assert.deepEqual(json(await seen.vectors('p')), {})
    assert.deepEqual(warnings, ['warn: stored peer digest unreadable; starting from empty'])
    seen.record('p', [entry('x', { s: 1 })])
    await store.close()
    await seen.save()
    assert.equal(seen.dirty, true)
    assert.equal(warnings[1], 'error: saving a peer digest failed')
  })
})
