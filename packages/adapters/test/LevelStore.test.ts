import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryLevel } from 'memory-level'
import { ClassicLevel } from 'classic-level'
import { ErrorCodes, MemoryStore, isHearsayError } from '@hearsay/core'
import { reopenableFixture, storeSuite } from '@hearsay/core/testing'
import { LevelStore } from '@hearsay/adapters/level'

storeSuite('MemoryStore', () => {
  const store = new MemoryStore()
  return { store, teardown: () => store.close() }
})

storeSuite('LevelStore over classic-level (temp dir)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearsay-level-'))
  return reopenableFixture(() => new LevelStore(dir), () => rmSync(dir, { recursive: true, force: true }))
})

storeSuite('LevelStore over memory-level', () => {
  const db = new MemoryLevel()
  const store = new LevelStore(db)
  return {
    store,
    // The memory database outlives the store, so a new store over it must see everything.
    reopen: () => new LevelStore(db, { persistent: true }),
    async teardown() {
      await store.close()
      await db.close()
    },
  }
})

test('LevelStore coalesces concurrent appends into few synced writes (group commit)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearsay-level-'))
  const store = new LevelStore(dir)
  try {
    await store.open()
    const before = store.writes
    const n = 500
    await Promise.all(Array.from({ length: n }, (_, i) => store.append([{ objectId: 'x', typeId: 1, data: new Uint8Array([i & 0xff]) }])))
    const writes = store.writes - before
    assert.ok(writes < n / 10, `${n} concurrent appends took ${writes} writes`)
    assert.equal((await store.load('x'))?.batches.length, n)
  } finally {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('LevelStore refuses a database of another key layout or with foreign data', async () => {
  const db = new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' })
  await db.put(new Uint8Array([2, 0x68]), new Uint8Array([1]))
  await assert.rejects(new LevelStore(db).open(), (e: unknown) => isHearsayError(e, ErrorCodes.PROTOCOL_VERSION))
  const db2 = new MemoryLevel<string, string>()
  await db2.put('\x01zzz', 'not ours')
  await assert.rejects(new LevelStore(db2).open(), (e: unknown) => isHearsayError(e, ErrorCodes.STORE_CORRUPT) && /no hearsay header/.test(e.message))
  const store = new LevelStore(new MemoryLevel())
  await assert.rejects(store.load('x'), (e: unknown) => isHearsayError(e, ErrorCodes.NOT_OPEN))
})

test('LevelStore works in a sublevel and leaves a passed database open', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearsay-level-'))
  const db = new ClassicLevel(dir)
  try {
    const sub = db.sublevel<Uint8Array, Uint8Array>('hearsay', { keyEncoding: 'view', valueEncoding: 'view' })
    const store = new LevelStore(sub)
    await store.open()
    await store.append([{ objectId: 'doc', typeId: 3, data: new Uint8Array([1, 2, 3]) }])
    await db.put('other', 'app data')
    await store.close()
    assert.equal(db.status, 'open')
    const again = new LevelStore(sub)
    await again.open()
    assert.deepEqual([...(await again.load('doc'))!.batches[0]!], [1, 2, 3])
    await again.close()
  } finally {
    await db.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('LevelStore checks its arguments', async () => {
  assert.throws(() => new LevelStore(''), TypeError)
  assert.throws(() => new LevelStore(42 as never), TypeError)
  const store = new LevelStore(new MemoryLevel())
  await store.open()
  await assert.rejects(store.append([{ objectId: 'x', typeId: 0, data: new Uint8Array() }]), TypeError)
  await assert.rejects(store.append([{ objectId: 'x', typeId: 1, data: 'no' as never }]), TypeError)
  await assert.rejects(store.compact('x', 1, null as never), TypeError)
  await store.close()
})
