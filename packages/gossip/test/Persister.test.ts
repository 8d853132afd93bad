import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCodes, HearsayError, MemoryStore, isHearsayError, type StoreEntry } from '@hearsay/core'
import { LWWMap, ORSet } from '@hearsay/model'
import { TestNet, waitFor } from './helpers/net.ts'
import { GatedStore } from './helpers/GatedStore.ts'
import { Persister } from '../src/Persister.ts'

/** A MemoryStore whose appends fail, like a full disk, once `full` is set. */
class FullStore extends MemoryStore {
  full = false
  appends = 0
  override async append(entries: readonly StoreEntry[]): Promise<void> {
    this.appends++
    if (this.full) throw new HearsayError(ErrorCodes.STORE_FULL, 'level store write failed: the disk is full (No space left on device)')
    return super.append(entries)
  }
}

describe('persistence', () => {
  it('a failed append fails the write to its caller at once, never reaches a peer, and fails every later write', async () => {
    const net = new TestNet()
    try {
      const store = new FullStore()
      const a = net.node({ id: 'a', store })
      const b = net.node({ id: 'b' })
      const failures: unknown[] = []
      a.on('store-failed', (e: unknown) => failures.push(e))
      await a.listen(net.address('a'))
      await b.connect(net.address('a'))
      const m = await a.open('m', LWWMap)
      m.set('kept', 1)
      await a.flush()
      await waitFor(() => (b.get('m') as LWWMap | undefined)?.get('kept') === 1, 'b gets the stored write')
      store.full = true
      m.set('lost', 2)
      await assert.rejects(a.flush(), (e: unknown) => isHearsayError(e, ErrorCodes.STORE_FULL))
      assert.equal(failures.length, 1)
      const tries = store.appends
      m.set('later', 3)
      await assert.rejects(a.flush(), (e: unknown) => isHearsayError(e, ErrorCodes.STORE_FULL))
      a.syncNow()
      b.syncNow()
      await new Promise((r) => setTimeout(r, 150))
      assert.equal(store.appends, tries, 'no retries, no later appends')
      assert.equal(failures.length, 1, 'store-failed fires once')
      assert.deepEqual(b.get('m')!.toJSON(), { kept: 1 }, 'nothing the store did not acknowledge left the node')
      await a.close()
    } finally {
      await net.close()
    }
  })

  it('restores the node id and every object after a restart, and writes under a fresh incarnation', async () => {
    const net = new TestNet()
    try {
      const store = new MemoryStore()
      const a1 = net.node({ store })
      const m1 = await a1.open('m', LWWMap)
      const s1 = await a1.open('s', ORSet)
      m1.set('x', 1)
      m1.set('y', 2)
      s1.add('red')
      s1.add('blue')
      s1.delete('red')
      const id = a1.id
      const first = a1.source
      const before = { m: m1.encodeState(), s: s1.encodeState(), clock: m1.clock.toJSON() }
      await a1.close()
      const a2 = net.node({ store })
      await a2.start()
      assert.equal(a2.id, id)
      const m2 = await a2.open('m', LWWMap)
      const s2 = await a2.open('s', ORSet)
      assert.deepEqual(m2.encodeState(), before.m)
      assert.deepEqual(s2.encodeState(), before.s)
      m2.set('z', 3)
      assert.notEqual(a2.source, first)
      assert.ok(a2.source.startsWith(`${id}.2.`), a2.source)
      assert.equal(m2.clock.get(first), before.clock[first])
      assert.equal(m2.clock.get(a2.source), 1)
      // A peer that saw the first life accepts the second without conflict.
      const b = net.node({ id: 'b' })
      await a2.listen(net.address('a'))
      await b.connect(net.address('a'))
      await waitFor(() => (b.get('m') as LWWMap | undefined)?.get('z') === 3, 'b gets the later write')
      assert.deepEqual(b.get('m')!.toJSON(), { x: 1, y: 2, z: 3 })
      assert.deepEqual(b.get('s')!.toJSON(), ['blue'])
    } finally {
      await net.close()
    }
  })

  it('sends a local write to peers only after the store acknowledged it', async () => {
    const net = new TestNet()
    try {
      const store = new GatedStore()
      const a = net.node({ id: 'a', store })
      const b = net.node({ id: 'b' })
      await a.listen(net.address('a'))
      await b.connect(net.address('a'))
      const m = await a.open('m', LWWMap)
      await a.flush()
      store.closeGate()
      m.set('k', 'v')
      b.syncNow()
      a.syncNow()
      await new Promise((r) => setTimeout(r, 120))
      assert.equal((b.get('m') as LWWMap | undefined)?.get('k'), undefined, 'nothing left before the append resolved')
      store.openGate()
      await waitFor(() => (b.get('m') as LWWMap | undefined)?.get('k') === 'v', 'b gets it once durable')
    } finally {
      await net.close()
    }
  })

  it('batches appends per tick and compacts when batches pile up', async () => {
    const net = new TestNet()
    try {
      const store = new GatedStore()
      const a = net.node({ id: 'a', store, compaction: { minBatches: 8, maxBatches: 16 } })
      const m = await a.open('m', LWWMap)
      await a.flush()
      const base = store.appends
      for (let i = 0; i < 50; i++) m.set(`k${i % 5}`, i)
      await a.flush()
      assert.equal(store.appends - base, 1, 'fifty writes in one tick are one append')
      for (let i = 0; i < 40; i++) {
        m.set(`k${i % 5}`, i + 100)
        await a.flush()
      }
      const stored = await store.load('m')
      assert.ok(stored!.snapshot !== undefined, 'compacted into a snapshot')
      assert.ok(stored!.batches.length < 16, `${stored!.batches.length} batches left`)
      const state = m.encodeState()
      await a.close()
      const a2 = net.node({ id: 'a', store })
      assert.deepEqual((await a2.open('m', LWWMap)).encodeState(), state)
    } finally {
      await net.close()
    }
  })

  it('resolves each waiter exactly when its batch is durable, whatever order they wait in', async () => {
    const store = new GatedStore()
    await store.open()
    const p = new Persister(store, () => undefined, { onError: () => {}, onFailed: () => {} })
    const encode = (): Uint8Array => new Uint8Array([1])
    const done: string[] = []
    const track = (name: string, promise: Promise<void>): void => void promise.then(() => done.push(name))
    store.closeGate()
    // Batches queued in separate ticks while the store is stuck: writes faster than commits.
    for (let i = 0; i < 3000; i++) {
      track(`w${i}`, p.append(`o${i % 7}`, 1, [], encode))
      if (i === 2000) track('early-o0', p.whenDurable('o0'))
      if (i % 10 === 0) await new Promise((r) => setImmediate(r))
    }
    track('all', p.flush())
    // whenDurable of an object last written long ago waits on an older seq than the newest.
    track('o1-late', p.whenDurable('o1'))
    await new Promise((r) => setImmediate(r))
    assert.deepEqual(done, [], 'nothing resolves while the store holds every append')
    store.openGate()
    await p.idle()
    await new Promise((r) => setImmediate(r))
    assert.equal(done.length, 3003)
    // In seq order. early-o0 waits for o0's last write before it (w1995), not the newest one;
    // o1-late for o1's last write (w2997), placed among the waiters by seq; 'all' for w2999.
    // (done as string[]): the deepEqual(done, []) above narrowed it to never[].
    const at = (n: string): number => (done as string[]).indexOf(n)
    for (let i = 1; i < 3000; i++) assert.ok(at(`w${i}`) > at(`w${i - 1}`), `w${i} after w${i - 1}`)
    assert.equal(at('early-o0'), at('w1995') + 1, `early-o0 at ${at('early-o0')}`)
    assert.equal(at('o1-late'), at('w2997') + 1, `o1-late at ${at('o1-late')}`)
    assert.equal(at('all'), done.length - 1)
    assert.ok(p.isDurable('o3'))
    await store.close()
  })

  it('writes queued while an append runs go as one append after it (group commit), each acknowledged with its own', async () => {
    const store = new GatedStore()
    await store.open()
    const p = new Persister(store, () => undefined, { onError: () => {}, onFailed: () => {} })
    const encode = (): Uint8Array => new Uint8Array([1])
    const done: number[] = []
    const first = p.append('o0', 1, [], encode).then(() => done.push(0))
    await new Promise((r) => setImmediate(r))
    assert.equal(store.appends, 1, 'the first tick went to the store')
    store.closeGate()
    const second = p.append('o1', 1, [], encode).then(() => done.push(1))
    await new Promise((r) => setImmediate(r))
    // The second append is with the (stuck) store; 1000 writes in 1000 ticks queue behind it.
    const later: Array<Promise<number>> = []
    for (let i = 2; i < 1002; i++) {
      later.push(p.append(`o${i % 13}`, 1, [], encode).then(() => done.push(i)))
      await new Promise((r) => setImmediate(r))
    }
    assert.deepEqual(done, [0])
    store.openGate()
    await Promise.all([first, second, ...later])
    await p.idle()
    assert.equal(store.appends, 3, 'one append for the tick in flight, one for all the ticks queued behind it')
    assert.deepEqual(done, Array.from({ length: 1002 }, (_, i) => i), 'acknowledged in order')
    assert.equal((await store.load('o5'))?.batches.length, 1, "o5's writes of many ticks joined in one batch")
    await store.close()
  })

  it('a failed append fails exactly the writes it held and those after it; earlier writes stay acknowledged', async () => {
    const store = new FullStore()
    await store.open()
    const failed: unknown[] = []
    const p = new Persister(store, () => undefined, { onError: () => {}, onFailed: (e) => failed.push(e) })
    const encode = (): Uint8Array => new Uint8Array([1])
    const outcome: string[] = []
    const track = (name: string, w: Promise<void>) => w.then(() => outcome.push(`${name} ok`), (e: unknown) => outcome.push(`${name} ${isHearsayError(e) ? e.code : 'other'}`))
    const a = track('a', p.append('x', 1, [], encode))
    await a
    store.full = true
    const b = track('b', p.append('x', 1, [], encode))
    const c = track('c', p.append('y', 1, [], encode))
    await Promise.all([b, c])
    const d = track('d', p.append('y', 1, [], encode))
    await d
    assert.deepEqual(outcome, ['a ok', `b ${ErrorCodes.STORE_FULL}`, `c ${ErrorCodes.STORE_FULL}`, `d ${ErrorCodes.STORE_FULL}`])
    assert.equal(failed.length, 1, 'the persister failed once')
    assert.equal(store.appends, 2, 'nothing written after the failure')
    await store.close()
  })
})
