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
import { RUNS, group } from './harness.ts'

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
  const raw = async () =>
    withDir(async (dir) => {
      const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
      await db.open()
      const t0 = performance.now()
      for (let i = 0; i < N; i += BATCH) {
        const ops = []
        for (let j = i; j < i + BATCH; j++) ops.push({ type: 'put' as const, key: rawKey(j), value: value(j) })
        await db.batch(ops, { sync: true } as object)
      }
      const ms = performance.now() - t0
      await db.close()
      return { ms }
    })
  const batched = async () =>
    withDir(async (dir) => {
      const store = new LevelStore(dir)
      await store.open()
      const t0 = performance.now()
      for (let i = 0; i < N; i += BATCH) {
        const entries = []
        for (let j = i; j < i + BATCH; j++) entries.push({ objectId: `o${j % 10}`, typeId: 2, data: value(j) })
        await store.append(entries)
      }
      const ms = performance.now() - t0
      await store.close()
      return { ms }
    })
  const single = async () =>
    withDir(async (dir) => {
      const store = new LevelStore(dir)
      await store.open()
      const w0 = store.writes
      const t0 = performance.now()
      for (let i = 0; i < N; i += BATCH) {
        const ps: Promise<void>[] = []
        for (let j = i; j < i + BATCH; j++) ps.push(store.append([{ objectId: `o${j % 10}`, typeId: 2, data: value(j) }]))
        await Promise.all(ps)
      }
      const ms = performance.now() - t0
      const writes = store.writes - w0
      await store.close()
      return { ms, writes }
    })
  const SEQ = 500
  const oneByOne = async () =>
    withDir(async (dir) => {
      const store = new LevelStore(dir)
      await store.open()
      const t0 = performance.now()
      for (let j = 0; j < SEQ; j++) await store.append([{ objectId: 'o', typeId: 2, data: value(j) }])
      const ms = performance.now() - t0
      await store.close()
      return { ms }
    })
  // The disk and CPUs are shared and noisy: interleave the runs and keep each one's best, so
  // hearsay and raw LevelDB are compared under the same conditions.
  const rounds = Math.max(3, RUNS)
  const best = { raw: Infinity, batched: Infinity, single: Infinity, oneByOne: Infinity, writes: 0 }
  for (let r = 0; r < rounds; r++) {
    best.raw = Math.min(best.raw, (await raw()).ms)
    best.batched = Math.min(best.batched, (await batched()).ms)
    const s = await single()
    if (s.ms < best.single) {
      best.single = s.ms
      best.writes = s.writes
    }
    best.oneByOne = Math.min(best.oneByOne, (await oneByOne()).ms)
  }
  const row = (impl: string, ms: number, ops: number, extra?: Record<string, number | string>) =>
    g.rows.push({ impl, ms, opsPerSec: (ops / ms) * 1000, bytes: undefined, heap: undefined, extra })
  row('raw classic-level batch', best.raw, N, { batch: BATCH })
  row(`hearsay append, ${BATCH} entries per call`, best.batched, N)
  row(`hearsay append, 1 entry per call, ${BATCH} in flight`, best.single, N, { syncedWrites: best.writes })
  row(`hearsay append, 1 entry per call, awaited one by one`, best.oneByOne, SEQ)
  g.print()
  console.log(
    `best of ${rounds} interleaved runs: batched ${((best.raw / best.batched) * 100).toFixed(0)}% of raw; single (group commit) ${((best.raw / best.single) * 100).toFixed(0)}% of raw (target ≥ 50%)`,
  )

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
