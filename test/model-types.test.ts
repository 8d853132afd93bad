// Every @hearsay/model type as a node would use it: created by type id from the registry,
// persisted batch by batch into a core Store and restored, compacted to a snapshot, and
// replicated around a ring of three replicas over createStream().
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import {
  DocTypeId,
  EventLogTypeId,
  GSetTypeId,
  LWWMapTypeId,
  LWWRegisterTypeId,
  MemoryStore,
  ORSetTypeId,
  PNCounterTypeId,
  createReplica,
  getType,
  restoreReplica,
  type Range,
  type Replicated,
} from '@hearsay/core'
import { withSeed, prng } from '@hearsay/core/testing'
import { Doc, EventLog, GSet, LWWMap, LWWRegister, ORSet, PNCounter } from '@hearsay/model'

type Writer = (r: any, rng: prng.PRNG) => void

const writers: Array<[string, number, Writer]> = [
  ['LWWRegister', LWWRegisterTypeId, (r: LWWRegister, g) => r.set(prng.uint32(g, 0, 99))],
  ['LWWMap', LWWMapTypeId, (m: LWWMap, g) => (prng.bool(g) ? m.set(`k${prng.uint32(g, 0, 20)}`, { n: prng.uint32(g, 0, 9) }) : m.delete(`k${prng.uint32(g, 0, 20)}`))],
  ['GSet', GSetTypeId, (s: GSet, g) => s.add(prng.uint32(g, 0, 30))],
  ['ORSet', ORSetTypeId, (s: ORSet, g) => (prng.uint32(g, 0, 2) > 0 ? s.add(`e${prng.uint32(g, 0, 8)}`) : s.delete(`e${prng.uint32(g, 0, 8)}`))],
  ['PNCounter', PNCounterTypeId, (c: PNCounter, g) => c.increment(prng.int32(g, -50, 50))],
  ['EventLog', EventLogTypeId, (l: EventLog, g) => l.append({ t: prng.uint32(g, 0, 1000) })],
  [
    'Doc',
    DocTypeId,
    (d: Doc, g) => {
      const list = d.createSeq('list', prng.bool(g) ? 'todo' : 'done')
      const id = `row${prng.uint32(g, 0, 10)}`
      const op = prng.uint32(g, 0, 3)
      if (op === 0) d.rm(id)
      else if (op === 1 || list.length === 0) list.push(d.get(id) ?? { id, text: id })
      else list.before(d.get(id) ?? { id }, list.at(prng.uint32(g, 0, list.length - 1))!)
    },
  ],
]

const classes = { LWWRegister, LWWMap, GSet, ORSet, PNCounter, EventLog, Doc }

for (const [name, typeId, write] of writers) {
  test(`${name}: registry, store round trip, compaction and a ring of streams`, async () => {
    await withSeed(name, async (rng) => {
      assert.equal(getType(typeId), classes[name as keyof typeof classes])
      const store = new MemoryStore()
      await store.open()
      const a = createReplica(typeId, { id: 'a' }) as Replicated<any>
      a.on('ranges', (ranges: Range<unknown>[]) => void store.append([{ objectId: 'obj', typeId, data: a.encodeRanges(ranges) }]))
      for (let i = 0; i < 200; i++) write(a, rng)
      await new Promise((r) => setImmediate(r))
      const restored = createReplica(typeId, { id: 'a' }) as Replicated<any>
      assert.equal(await restoreReplica(store, 'obj', restored), true)
      assert.deepEqual(restored.toJSON(), a.toJSON())
      assert.equal(Buffer.compare(restored.encodeState(), a.encodeState()), 0)
      await store.compact('obj', typeId, a.encodeState())
      const fromSnapshot = createReplica(typeId, { id: 'a' }) as Replicated<any>
      await restoreReplica(store, 'obj', fromSnapshot)
      assert.equal(Buffer.compare(fromSnapshot.encodeState(), a.encodeState()), 0)

      // A ring b → c → d → b of live streams, each writing concurrently.
      const ring = ['b', 'c', 'd'].map((id) => createReplica(typeId, { id }) as Replicated<any>)
      ring[0]!.applyState(a.encodeState())
      for (let i = 0; i < ring.length; i++) {
        const s1 = ring[i]!.createStream()
        const s2 = ring[(i + 1) % ring.length]!.createStream()
        s1.pipe(new PassThrough()).pipe(s2).pipe(new PassThrough()).pipe(s1)
      }
      for (let i = 0; i < 60; i++) write(ring[prng.uint32(rng, 0, 2)]!, rng)
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r))
      for (const r of ring) {
        assert.equal(r.clock.compare(ring[0]!.clock), 'equal')
        assert.deepEqual(r.toJSON(), ring[0]!.toJSON())
        assert.equal(Buffer.compare(r.encodeState(), ring[0]!.encodeState()), 0)
      }
      for (const r of [a, restored, fromSnapshot, ...ring]) r.dispose()
      await store.close()
    })
  })
}
