// Lazy loading through the object index (issue 21 part 4): a restarted node hosts its stored
// objects by their index lines and loads a replica on first use; these tests fail when a lazily
// loaded object differs from what it was, when a peer's round over an unloaded object goes
// wrong, or when a damaged, missing or stale index is trusted.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { MemoryStore, type Store, type StoreEntry, type StoredObject } from '@hearsay/core'
import { withSeed, prng } from '@hearsay/core/testing'
import { LWWMap, ORSet, PNCounter } from '@hearsay/model'
import { INDEX_OBJECT_ID, INDEX_TYPE_ID, ObjectHost, type Node } from '@hearsay/gossip'
import { TestNet, waitFor } from './helpers/net.ts'

/** A store over another that can hide the object index (a store written before it) or stop writing it (an older build). */
class IndexFilterStore implements Store {
  hide = false
  dropIndexWrites = false
  constructor(readonly inner: MemoryStore) {}
  get capabilities() {
    return this.inner.capabilities
  }
  open() {
    return this.inner.open()
  }
  close() {
    return this.inner.close()
  }
  append(entries: readonly StoreEntry[]) {
    return this.inner.append(this.dropIndexWrites ? entries.filter((e) => e.objectId !== INDEX_OBJECT_ID) : entries)
  }
  async load(objectId: string): Promise<StoredObject | undefined> {
    return this.hide && objectId === INDEX_OBJECT_ID ? undefined : this.inner.load(objectId)
  }
  async list() {
    const all = await this.inner.list()
    return this.hide ? all.filter((o) => o.objectId !== INDEX_OBJECT_ID) : all
  }
  compact(objectId: string, typeId: number, snapshot: Uint8Array) {
    if (this.dropIndexWrites && objectId === INDEX_OBJECT_ID) return Promise.resolve()
    return this.inner.compact(objectId, typeId, snapshot)
  }
  getMeta(key: string) {
    return this.inner.getMeta(key)
  }
  putMeta(key: string, value: Uint8Array) {
    return this.inner.putMeta(key, value)
  }
}

interface Written {
  states: Map<string, Uint8Array>
  clocks: Map<string, Record<string, number>>
}

/** Writes seeded random updates to `n` objects of three types through `node`, then closes it; returns each object's state. */
async function writeObjects(node: Node, n: number, rng: prng.PRNG): Promise<Written> {
  const states = new Map<string, Uint8Array>()
  const clocks = new Map<string, Record<string, number>>()
  const replicas = []
  for (let i = 0; i < n; i++) {
    const id = `obj-${i}`
    const kind = i % 3
    if (kind === 0) {
      const m = await node.open(id, LWWMap)
      for (let w = prng.uint32(rng, 1, 6); w > 0; w--) m.set(`k${prng.uint32(rng, 0, 4)}`, prng.uint32(rng, 0, 1000))
      replicas.push([id, m] as const)
    } else if (kind === 1) {
      const s = await node.open(id, ORSet)
      for (let w = prng.uint32(rng, 1, 6); w > 0; w--) s.add(`e${prng.uint32(rng, 0, 4)}`)
      replicas.push([id, s] as const)
    } else {
      const c = await node.open(id, PNCounter)
      for (let w = prng.uint32(rng, 1, 6); w > 0; w--) c.increment(prng.uint32(rng, 1, 9))
      replicas.push([id, c] as const)
    }
  }
  await node.flush()
  for (const [id, r] of replicas) {
    states.set(id, r.encodeState())
    clocks.set(id, r.clock.toJSON())
  }
  await node.close()
  return { states, clocks }
}

function typeOf(id: string) {
  const i = Number(id.slice(4))
  return i % 3 === 0 ? LWWMap : i % 3 === 1 ? ORSet : PNCounter
}

const logsOf = (into: string[]) => ({
  error: (_d: unknown, m: string) => into.push(`error: ${m}`),
  warn: (_d: unknown, m: string) => into.push(`warn: ${m}`),
  info: (_d: unknown, m: string) => into.push(`info: ${m}`),
})

function hostOn(store: Store): ObjectHost {
  return new ObjectHost({
    store,
    replicaOptions: () => ({ id: 'reader' }),
    log: () => {},
    storeError: () => {},
    storeFailed: () => {},
    forward: () => {},
    adopted: () => {},
  })
}

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, '0')).join('')

describe('object index and lazy loading', () => {
  it('digest and content roots over index lines equal those over the loaded replicas, however many are loaded', async () => {
    await withSeed('lazy roots', async (rng) => {
      const net = new TestNet()
      try {
        const store = new MemoryStore()
        const written = await writeObjects(net.node({ id: 'a', store }), 40, rng)
        await store.open()
        const lazy = hostOn(store)
        assert.equal((await lazy.restore()).loaded, 0, 'every object hosted by its line')
        // Reference: every object loaded.
        const full = hostOn(store)
        await full.restore()
        for (const id of full.ids()) await full.load(id)
        assert.equal(full.loadedCount, full.size)
        const roots = (h: ObjectHost) => ({ digest: hex(h.index.root().hash), count: h.index.root().count, content: hex(h.contentRoot()) })
        assert.deepEqual(roots(lazy), roots(full))
        for (const id of [...written.states.keys()].filter(() => rng.next() < 0.5)) {
          await lazy.load(id)
          assert.deepEqual(roots(lazy), roots(full), `after loading ${id}`)
        }
        await store.close()
      } finally {
        await net.close()
      }
    })
  })

  it('a restarted node hosts stored objects unloaded, and each loads with exactly the state it had', async () => {
    await withSeed('lazy restart', async (rng) => {
      const net = new TestNet()
      try {
        const store = new MemoryStore()
        const written = await writeObjects(net.node({ id: 'a', store }), 30, rng)
        const logs: string[] = []
        const a = net.node({ id: 'a', store, logger: logsOf(logs) })
        await a.start()
        const st = a.status()
        assert.equal(st.objectCount, 31, 'thirty objects and the membership')
        assert.equal(st.loadedObjects, 1, 'only the membership is loaded')
        assert.equal(a.get('obj-0'), undefined, 'not loaded before first use')
        assert.deepEqual(a.objectIds().filter((id) => id.startsWith('obj-')).sort(), [...written.states.keys()].sort())
        // The status reads the stored vectors from the index lines.
        for (const o of st.objects) if (written.clocks.has(o.id)) assert.deepEqual(o.vector, written.clocks.get(o.id), `status vector of ${o.id}`)
        for (const [id, state] of written.states) {
          const r = await a.open(id, typeOf(id) as typeof LWWMap)
          assert.deepEqual(r.encodeState(), state, `${id} loads with the state it had`)
          assert.deepEqual(r.clock.toJSON(), written.clocks.get(id))
          assert.equal(a.get(id), r)
        }
        assert.equal(a.status().loadedObjects, 31)
        assert.deepEqual(logs.filter((l) => l.startsWith('error')), [], 'no index fault reported')
        // A loaded object writes on, and the next restart loads it with that write.
        const m = a.get('obj-0') as LWWMap
        m.set('later', 1)
        const after = (await a.flush(), m.encodeState())
        await a.close()
        const a2 = net.node({ id: 'a', store, logger: logsOf(logs) })
        assert.deepEqual((await a2.open('obj-0', LWWMap)).encodeState(), after)
        assert.equal(a2.status().loadedObjects, 2)
        assert.deepEqual(logs.filter((l) => l.startsWith('error')), [])
      } finally {
        await net.close()
      }
    })
  })

  it('a peer\'s round over objects the node has not loaded is answered: the peer gets them, and newer updates from it are applied', async () => {
    await withSeed('lazy peer', async (rng) => {
      const net = new TestNet()
      try {
        const store = new MemoryStore()
        const written = await writeObjects(net.node({ id: 'a', store }), 24, rng)
        const a = net.node({ id: 'a', store })
        await a.listen(net.address('a'))
        assert.equal(a.status().loadedObjects, 1)
        const b = net.node({ id: 'b' })
        await b.connect(net.address('a'))
        await waitFor(() => [...written.states.keys()].every((id) => b.get(id) !== undefined && JSON.stringify(b.get(id)!.clock.toJSON()) === JSON.stringify(written.clocks.get(id))), 'b holds every object of a')
        for (const [id, state] of written.states) assert.deepEqual(b.get(id)!.encodeState(), state, `${id} reached b as stored`)
        await a.close()

        // b writes to objects a has stored; a restarts with them unloaded and takes b's updates.
        const a2 = net.node({ id: 'a', store })
        const bm = b.get('obj-3') as LWWMap
        bm.set('from-b', 42)
        const bc = b.get('obj-5') as PNCounter
        bc.increment(7)
        await a2.listen(net.address('a'))
        assert.equal(a2.get('obj-3'), undefined, 'obj-3 is not loaded on a yet')
        await b.connect(net.address('a')).catch(() => {})
        await waitFor(async () => a2.get('obj-3') !== undefined && (a2.get('obj-3') as LWWMap).get('from-b') === 42, 'a loads obj-3 and applies b\'s write')
        await waitFor(() => a2.get('obj-5') !== undefined && a2.get('obj-5')!.clock.compare(bc.clock) === 'equal', 'a applies b\'s increment')
        assert.deepEqual(a2.get('obj-3')!.encodeState(), bm.encodeState())
        assert.equal((a2.get('obj-5') as PNCounter).value, bc.value)
        await waitFor(() => a2.status().peers.some((p) => p.id === 'b' && p.inSync), 'a and b in sync')
        // Objects b already held equal stay unloaded on a: the digest answered for them.
        assert.ok(a2.status().loadedObjects < a2.status().objectCount, `loaded ${a2.status().loadedObjects} of ${a2.status().objectCount}`)
        // The content root over loaded objects and index lines equals b's over its replicas:
        // a round with the content check finds no mismatch.
        // Every tenth round of a link in sync carries the content root: count 40 rounds in sync.
        let rounds = 0
        a2.on('sync', (peer, inSync) => void (peer === 'b' && inSync && rounds++))
        b.on('sync', (peer, inSync) => void (peer === 'a' && inSync && rounds++))
        await waitFor(() => rounds >= 80, 'forty rounds in sync each way')
        assert.equal(a2.status().contentMismatches, 0, 'no content mismatch on a')
        assert.equal(b.status().contentMismatches, 0, 'no content mismatch on b')
      } finally {
        await net.close()
      }
    })
  })

  it('a damaged stored index is reported and rebuilt from the updates; nothing is lost', async () => {
    await withSeed('lazy damage', async (rng) => {
      const net = new TestNet()
      try {
        const store = new MemoryStore()
        const written = await writeObjects(net.node({ id: 'a', store }), 12, rng)
        await store.open()
        const stored = (await store.load(INDEX_OBJECT_ID))!
        assert.ok(stored !== undefined, 'the index is stored')
        // One flipped byte in the index: its checksum no longer holds.
        const bytes = (stored.snapshot ?? stored.batches[stored.batches.length - 1]!).slice()
        bytes[prng.uint32(rng, 0, bytes.length - 1)]! ^= 1 << prng.uint32(rng, 0, 7)
        await store.compact(INDEX_OBJECT_ID, INDEX_TYPE_ID, bytes)
        await store.close()
        const logs: string[] = []
        const a = net.node({ id: 'a', store, logger: logsOf(logs) })
        await a.start()
        assert.ok(logs.some((l) => l.startsWith('error: the stored object index is damaged')), logs.join('\n'))
        for (const [id, state] of written.states) assert.deepEqual((await a.open(id, typeOf(id) as typeof LWWMap)).encodeState(), state, id)
        await a.close()
        // The rebuilt index was written: the next start hosts every object by its line again.
        const logs2: string[] = []
        const a2 = net.node({ id: 'a', store, logger: logsOf(logs2) })
        await a2.start()
        assert.deepEqual(logs2.filter((l) => l.startsWith('error')), [])
        assert.equal(a2.status().loadedObjects, 1)
        for (const [id, state] of written.states) assert.deepEqual((await a2.open(id, typeOf(id) as typeof LWWMap)).encodeState(), state, id)
      } finally {
        await net.close()
      }
    })
  })

  it('a missing index is built from the updates, and a line behind its updates is caught when the object loads', async () => {
    await withSeed('lazy missing', async (rng) => {
      const net = new TestNet()
      try {
        const inner = new MemoryStore()
        const store = new IndexFilterStore(inner)
        store.hide = true
        store.dropIndexWrites = true
        const written = await writeObjects(net.node({ id: 'a', store }), 9, rng)
        // A store written with no index: built at start (every object loaded once), then written.
        store.hide = false
        store.dropIndexWrites = false
        const logs: string[] = []
        const a = net.node({ id: 'a', store, logger: logsOf(logs) })
        await a.start()
        assert.ok(logs.some((l) => l.startsWith('info: no stored object index')), logs.join('\n'))
        assert.equal(a.status().loadedObjects, 10)
        for (const [id, state] of written.states) assert.deepEqual(a.get(id)!.encodeState(), state)
        await a.close()
        // Writes that bypassed the index (as an older build would make): the line is behind.
        const older = net.node({ id: 'a', store })
        const m = await older.open('obj-0', LWWMap)
        await older.start()
        store.dropIndexWrites = true
        m.set('unindexed', 1)
        await older.flush()
        const truth = m.encodeState()
        await older.close()
        store.dropIndexWrites = false
        const logs2: string[] = []
        const a2 = net.node({ id: 'a', store, logger: logsOf(logs2) })
        await a2.start()
        const lazy = await a2.open('obj-0', LWWMap)
        assert.deepEqual(lazy.encodeState(), truth, 'the updates win over the line')
        assert.ok(logs2.some((l) => l.startsWith('error: the object index disagreed')), logs2.join('\n'))
        assert.deepEqual(a2.status().objects.find((o) => o.id === 'obj-0')!.vector, lazy.clock.toJSON())
        await a2.close()
        // The corrected line was written.
        const logs3: string[] = []
        const a3 = net.node({ id: 'a', store, logger: logsOf(logs3) })
        await a3.start()
        assert.deepEqual(a3.status().objects.find((o) => o.id === 'obj-0')!.vector, lazy.clock.toJSON())
        await a3.open('obj-0', LWWMap)
        assert.deepEqual(logs3.filter((l) => l.startsWith('error')), [])
      } finally {
        await net.close()
      }
    })
  })
})
