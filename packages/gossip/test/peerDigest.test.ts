// The digest a node keeps per peer (what the peer is known to hold, per object) across restarts:
// a round after a restart that swaps vectors for only some objects must add to the stored digest,
// never replace it, whatever order the store read and the round happen in.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { decodeWith, MemoryStore, type ReadonlyVersionVector, type Store, type StoredObject, type StoreEntry } from '@hearsay/core'
import { LWWMap } from '@hearsay/model'
import { decodeBundle, GossipKind, MEMBERSHIP_OBJECT_ID, readGossipMessage, type Node } from '@hearsay/gossip'
import { RecordingTransport, TestNet, waitFor } from './helpers/net.ts'

const OBJECTS = 64
const ids = Array.from({ length: OBJECTS }, (_, i) => `o${String(i).padStart(2, '0')}`)
const quiet = { interval: 3_600_000, heartbeatInterval: 3_600_000 }

/** A MemoryStore whose reads of peer digests wait until `release()`, to order them against rounds. */
class HeldMetaStore implements Store {
  readonly capabilities = { persistent: true, compaction: true }
  #held: Promise<void> | undefined
  #release: (() => void) | undefined
  heldReads = 0
  constructor(readonly inner: MemoryStore) {}
  hold(): void {
    this.#held = new Promise((r) => (this.#release = r))
  }
  release(): void {
    this.#release?.()
    this.#held = undefined
  }
  open(): Promise<void> {
    return this.inner.open()
  }
  close(): Promise<void> {
    return this.inner.close()
  }
  append(entries: readonly StoreEntry[]): Promise<void> {
    return this.inner.append(entries)
  }
  load(objectId: string): Promise<StoredObject | undefined> {
    return this.inner.load(objectId)
  }
  list(): Promise<Array<{ objectId: string; typeId: number }>> {
    return this.inner.list()
  }
  compact(objectId: string, typeId: number, snapshot: Uint8Array): Promise<void> {
    return this.inner.compact(objectId, typeId, snapshot)
  }
  async getMeta(key: string): Promise<Uint8Array | undefined> {
    if (key.startsWith('peer-digest/') && this.#held !== undefined) {
      this.heldReads++
      await this.#held
    }
    return this.inner.getMeta(key)
  }
  putMeta(key: string, value: Uint8Array): Promise<void> {
    return this.inner.putMeta(key, value)
  }
}

/** b holds OBJECTS maps; a (on `store`) syncs them all and records b's digest for every one, then closes. */
async function syncThenClose(net: TestNet, store: Store): Promise<{ b: Node; maps: LWWMap[] }> {
  const b = net.node({ id: 'b', ...quiet })
  await b.listen(net.address('b'))
  const maps = await Promise.all(ids.map((id) => b.open(id, LWWMap)))
  maps.forEach((m, i) => m.set('k', i))
  const a1 = net.node({ id: 'a', store, ...quiet })
  await a1.connect(net.address('b'))
  await waitFor(() => ids.every((id) => a1.get(id) !== undefined && a1.get(id)!.clock.compare(b.get(id)!.clock) === 'equal'), 'a has every object of b')
  // A round that finds the roots equal records b's digest for every object.
  await waitFor(async () => {
    a1.syncNow()
    const seen = await a1.digestSeen('b')
    return ids.every((id) => seen.get(id)?.compare(b.get(id)!.clock) === 'equal')
  }, 'a records b as holding every object')
  await a1.close()
  return { b, maps }
}

/** The objects a bundle from `a` for b would carry (b holds all of them already). */
async function resent(a: Node): Promise<string[]> {
  const content = decodeBundle('test-key', await a.exportBundle({ for: 'b' }))
  return content.objects.map((o) => o.objectId).filter((id) => id !== MEMBERSHIP_OBJECT_ID)
}

function assertCovers(seen: ReadonlyMap<string, ReadonlyVersionVector>, b: Node, what: string): void {
  const missing = ids.filter((id) => seen.get(id)?.compare(b.get(id)!.clock) !== 'equal')
  assert.deepEqual(missing, [], `${what}: a's digest for b lacks or lags on ${missing.length} of ${OBJECTS} objects`)
}

/** The value under 'k' of map `ids[i]` on node `n`. */
function valueAt(n: Node, i: number): unknown {
  return (n.get(ids[i]!) as LWWMap | undefined)?.get('k')
}

/** Restarts a on `store` once more: the stored digest for b covers b, and a bundle for b resends nothing. */
async function assertKeptAfterRestart(net: TestNet, store: Store, b: Node): Promise<void> {
  const a3 = net.node({ store, ...quiet })
  assertCovers(await a3.digestSeen('b'), b, 'after another restart')
  assert.deepEqual(await resent(a3), [], 'a bundle for b after another restart resends nothing')
}

describe('peer digests across a restart', () => {
  it('a round that swaps vectors for only some objects adds to the stored digest instead of replacing it', async () => {
    const net = new TestNet()
    try {
      const store = new MemoryStore()
      const { b, maps } = await syncThenClose(net, store)
      // While a is down, b changes one object: the next round differs in its bucket only.
      maps[5]!.set('k', 'changed')
      const rec = new RecordingTransport(net.transport())
      const a2 = net.node({ store, ...quiet, transports: [rec], inspect: rec.inspect })
      await a2.connect(net.address('b'))
      await waitFor(() => valueAt(a2, 5) === 'changed', 'a gets the change')
      // The case under test: b's vectors crossed for only a few of the objects.
      const crossed = new Set<string>()
      for (const f of rec.plain) {
        if (f.dir !== 'in' || f.bytes[0] !== GossipKind.Vectors) continue
        const msg = decodeWith(f.bytes, readGossipMessage)
        if (msg.kind === GossipKind.Vectors) for (const x of msg.entries) crossed.add(x.objectId)
      }
      assert.ok(crossed.has(ids[5]!) && crossed.size < OBJECTS / 2, `the round swapped vectors for ${crossed.size} objects, not a few`)
      // No round since found the roots equal: what a knows of b comes from the stored digest
      // plus the vectors of this one partial round.
      assertCovers(await a2.digestSeen('b'), b, 'after the partial round')
      assert.deepEqual(await resent(a2), [], 'a bundle for b resends nothing b holds')
      await a2.close()
      await assertKeptAfterRestart(net, store, b)
    } finally {
      await net.close()
    }
  })

  it('a stored digest read that finishes after a partial round loses neither', async () => {
    const net = new TestNet()
    try {
      const store = new HeldMetaStore(new MemoryStore())
      const { b, maps } = await syncThenClose(net, store)
      maps[5]!.set('k', 'changed')
      maps[40]!.set('k', 'changed too')
      store.hold()
      const a2 = net.node({ store, ...quiet })
      // The read of b's stored digest starts first and is still pending during the round.
      const early = a2.digestSeen('b')
      await a2.connect(net.address('b'))
      await waitFor(() => valueAt(a2, 5) === 'changed' && valueAt(a2, 40) === 'changed too', 'a gets both changes')
      // Closing saves the digests: that save must wait for the pending read, not write a partial one.
      const closing = a2.close()
      // Give a save that does not wait for the read the time to write (it must wait, so nothing is written).
      await new Promise((r) => setTimeout(r, 20))
      assert.ok(store.heldReads >= 1, 'the stored digest read was really held')
      store.release()
      assertCovers(await early, b, 'the read that raced the round')
      await closing
      await assertKeptAfterRestart(net, store, b)
    } finally {
      await net.close()
    }
  })

  it('a bundle that arrives after a partial round keeps the newest view of every object', async () => {
    const net = new TestNet()
    try {
      const store = new MemoryStore()
      const { b, maps } = await syncThenClose(net, store)
      maps[5]!.set('k', 'changed')
      const a2 = net.node({ store, ...quiet })
      await a2.connect(net.address('b'))
      await waitFor(() => valueAt(a2, 5) === 'changed', 'a gets the change')
      // b's bundle carries its whole digest and replaces what a knew of b.
      await a2.importBundle(await b.exportBundle({ for: 'a' }))
      assertCovers(await a2.digestSeen('b'), b, 'after the bundle')
      await a2.close()
      await assertKeptAfterRestart(net, store, b)
    } finally {
      await net.close()
    }
  })
})
