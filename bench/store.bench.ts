// LevelStore throughput and load time.
// 1. Appends/s through LevelStore (batched: many entries per append; single: one entry per
//    append, many in flight, coalesced by group commit) against raw classic-level batch writes
//    of the same records measured in this run, all with sync: true.
// 2. Load time of an LWW map with 1M updates (1000 keys), replaying every update vs a snapshot
//    plus the tail.
// Run: node --expose-gc --conditions=source --import tsx bench/index.ts store
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { restoreReplica, type Range } from '@hearsay/core'
import { LWWMap, type LWWMapOp } from '@hearsay/model'
import { LevelStore } from '@hearsay/adapters/level'
import { group } from './harness.ts'

const N = Number(process.env['BENCH_STORE_N']) || 100_000
const BATCH = 1000
const LOAD_N = Number(process.env['BENCH_LOAD_N']) || 1_000_000
const VALUE = 40

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'hearsay-bench-'))
  try {
    return await fn(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function value(i: number): Uint8Array {
  const v = new Uint8Array(VALUE)
  v[0] = i & 0xff
  v[1] = (i >> 8) & 0xff
  return v
}

// Keys shaped like the store's batch keys: 13 bytes, increasing.
function rawKey(i: number): Uint8Array {
  const k = new Uint8Array(13)
  k[0] = 1
  k[1] = 0x64
  new DataView(k.buffer).setUint32(9, i)
  return k
}

export async function run(): Promise<void> {
  const g = group(`LevelStore appends (${N} records of ${VALUE} B, sync: true)`, 'raw classic-level batch')
  const rawRun = () =>
    withDir(async (dir) => {
      const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
      await db.open()
      for (let i = 0; i < N; i += BATCH) {
        const ops = []
        for (let j = i; j < i + BATCH; j++) ops.push({ type: 'put' as const, key: rawKey(j), value: value(j) })
        await db.batch(ops, { sync: true } as object)
      }
      await db.close()
      return { ops: N }
    })
  const raw = await g.add('raw classic-level batch', rawRun)
  const batched = await g.add(`hearsay append, ${BATCH} entries per call`, () =>
    withDir(async (dir) => {
      const store = new LevelStore(dir)
      await store.open()
      for (let i = 0; i < N; i += BATCH) {
        const entries = []
        for (let j = i; j < i + BATCH; j++) entries.push({ objectId: `o${j % 10}`, typeId: 2, data: value(j) })
        await store.append(entries)
      }
      await store.close()
      return { ops: N }
    }),
  )
  const single = await g.add(`hearsay append, 1 entry per call, ${BATCH} in flight`, () =>
    withDir(async (dir) => {
      const store = new LevelStore(dir)
      await store.open()
      const w0 = store.writes
      for (let i = 0; i < N; i += BATCH) {
        const ps: Promise<void>[] = []
        for (let j = i; j < i + BATCH; j++) ps.push(store.append([{ objectId: `o${j % 10}`, typeId: 2, data: value(j) }]))
        await Promise.all(ps)
      }
      const writes = store.writes - w0
      await store.close()
      return { ops: N, extra: { syncedWrites: writes } }
    }),
  )
  const SEQ = 500
  await g.add(`hearsay append, 1 entry per call, awaited one by one (${SEQ})`, () =>
    withDir(async (dir) => {
      const store = new LevelStore(dir)
      await store.open()
      for (let j = 0; j < SEQ; j++) await store.append([{ objectId: 'o', typeId: 2, data: value(j) }])
      await store.close()
      return { ops: SEQ }
    }),
  )
  // The disk is shared and noisy: measure raw again after the others and compare with the faster.
  const rawAgain = await g.add('raw classic-level batch (again)', rawRun)
  g.print()
  const rawBest = Math.max(raw?.opsPerSec ?? 0, rawAgain?.opsPerSec ?? 0)
  if (rawBest > 0 && batched?.opsPerSec && single?.opsPerSec) {
    console.log(`against the faster raw run: batched ${((batched.opsPerSec / rawBest) * 100).toFixed(0)}% of raw; single (group commit) ${((single.opsPerSec / rawBest) * 100).toFixed(0)}% of raw (target ≥ 50%)`)
  }

  await withDir(async (dir) => {
    // Build once: an LWW map with LOAD_N updates over 1000 keys, one batch per update (as a node
    // appends local writes), then measure loads.
    const store = new LevelStore(dir)
    await store.open()
    const map = new LWWMap<number>({ id: 'writer' })
    let pending: Promise<void>[] = []
    map.on('ranges', (ranges: Range<LWWMapOp>[]) => {
      pending.push(store.append([{ objectId: 'prices', typeId: map.typeId, data: map.encodeRanges(ranges) }]))
    })
    const t0 = performance.now()
    for (let i = 0; i < LOAD_N; i++) {
      map.set(`k${i % 1000}`, i)
      if (pending.length >= 10_000) {
        await Promise.all(pending)
        pending = []
      }
    }
    await Promise.all(pending)
    const buildMs = performance.now() - t0
    console.log(`\n(wrote ${LOAD_N} LWW updates through LevelStore in ${(buildMs / 1000).toFixed(1)} s: ${Math.round(LOAD_N / (buildMs / 1000))} updates/s end to end)`)
    const expected = JSON.stringify(map.toJSON())
    const load = group(`load an LWW map of ${LOAD_N} updates (1000 keys) from LevelStore`, 'replay every update')
    const check = (m: LWWMap<number>) => {
      if (JSON.stringify(m.toJSON()) !== expected) throw new Error('loaded state differs')
    }
    await load.add(
      'replay every update',
      async () => {
        const m = new LWWMap<number>({ id: 'writer' })
        await restoreReplica(store, 'prices', m)
        check(m)
        return { ops: LOAD_N }
      },
      1,
    )
    await store.compact('prices', map.typeId, map.encodeState())
    for (let i = 0; i < 1000; i++) map.set(`k${i % 1000}`, LOAD_N + i)
    await Promise.all(pending)
    const expectedTail = JSON.stringify(map.toJSON())
    await load.add('snapshot + 1000-update tail', async () => {
      const m = new LWWMap<number>({ id: 'writer' })
      await restoreReplica(store, 'prices', m)
      if (JSON.stringify(m.toJSON()) !== expectedTail) throw new Error('loaded state differs')
      return { ops: LOAD_N + 1000 }
    })
    load.print()
    await store.close()
  })
}
