// Replicas persisted in a LevelStore: reload gives byte-identical state, and types that compact
// in memory (LWW map, OR-Set, the Yjs bridge) also shrink on disk when the store compacts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { restoreReplica, type Range, type Replicated } from '@hearsay/core'
import { withSeed, prng } from '@hearsay/core/testing'
import { LWWMap, ORSet } from '@hearsay/model'
import { LevelStore } from '@hearsay/adapters/level'
import { YDocReplica } from '@hearsay/adapters/yjs'

// Appends every local batch of `replica` to `store`, as a node does.
function persist(store: LevelStore, objectId: string, replica: Replicated<any>): Promise<void>[] {
  const writes: Promise<void>[] = []
  replica.on('ranges', (ranges: Range<unknown>[]) => {
    writes.push(store.append([{ objectId, typeId: replica.typeId, data: replica.encodeRanges(ranges) }]))
  })
  return writes
}

// Records and bytes the store holds on disk for everything (keys + values).
async function footprint(store: LevelStore): Promise<{ records: number; bytes: number }> {
  let records = 0
  let bytes = 0
  for await (const [k, v] of store.db!.iterator({ keyEncoding: 'view', valueEncoding: 'view' })) {
    records++
    bytes += (k as Uint8Array).length + (v as Uint8Array).length
  }
  return { records, bytes }
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hearsay-level-'))
  try {
    await fn(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

async function roundTrip<R extends Replicated<any>>(name: string, make: (id: string) => R, write: (r: R, rng: prng.PRNG, i: number) => void, writes: number) {
  await withSeed(name, async (rng) => {
    await withDir(async (dir) => {
      let store = new LevelStore(dir)
      await store.open()
      const r = make('w')
      const pending = persist(store, 'obj', r)
      for (let i = 0; i < writes; i++) write(r, rng, i)
      await Promise.all(pending)
      const before = await footprint(store)
      // Reload from the log alone: same state, byte for byte.
      const fromLog = make('w')
      await restoreReplica(store, 'obj', fromLog)
      assert.deepEqual(fromLog.encodeState(), r.encodeState())
      // Compact, write a little more, reopen: snapshot + tail reproduce the state.
      await store.compact('obj', r.typeId, r.encodeState())
      for (let i = 0; i < 10; i++) write(r, rng, writes + i)
      await Promise.all(pending)
      await store.close()
      store = new LevelStore(dir)
      await store.open()
      const stored = await store.load('obj')
      assert.ok(stored?.snapshot !== undefined)
      assert.equal(stored.batches.length, 10)
      const after = await footprint(store)
      const back = make('w')
      await restoreReplica(store, 'obj', back)
      assert.deepEqual(back.encodeState(), r.encodeState())
      assert.deepEqual(back.toJSON(), r.toJSON())
      assert.equal(back.clock.get('w'), r.clock.get('w'))
      assert.ok(after.records < before.records / 20, `${name}: ${before.records} records before compaction, ${after.records} after`)
      assert.ok(after.bytes < before.bytes / 4, `${name}: ${before.bytes} bytes before compaction, ${after.bytes} after`)
      await store.close()
      for (const x of [r, fromLog, back]) x.dispose()
    })
  })
}

test('an LWW map persisted in LevelDB reloads exactly and shrinks on disk when compacted', () =>
  roundTrip('lww on disk', (id) => new LWWMap<number>({ id }), (m, rng, i) => m.set(`k${prng.uint32(rng, 0, 49)}`, i), 3000))

test('an OR-Set persisted in LevelDB reloads exactly and shrinks on disk when compacted', () =>
  roundTrip(
    'orset on disk',
    (id) => new ORSet<number>({ id }),
    (s, rng) => {
      const v = prng.uint32(rng, 0, 29)
      if (s.has(v) && prng.bool(rng)) s.delete(v)
      else s.add(v)
    },
    3000,
  ))

test('a Y.Doc persisted in LevelDB reloads exactly and shrinks on disk when compacted', () =>
  roundTrip(
    'ydoc on disk',
    (id) => {
      const y = new YDocReplica({ id })
      // toJSON shows the root types the replica has defined.
      y.doc.getText('t')
      return y
    },
    (y, rng, i) => {
      const t = y.doc.getText('t')
      if (t.length > 20 && prng.bool(rng)) t.delete(prng.uint32(rng, 0, t.length - 2), 1)
      else t.insert(prng.uint32(rng, 0, t.length), String.fromCharCode(97 + (i % 26)))
    },
    3000,
  ))
