import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import * as fc from 'fast-check'
import { ErrorCodes, isHearsayError } from '../errors.js'
import type { Store, StoreEntry, StoredObject } from '../store.js'
import { toHex } from '../bytes.js'
import { testSeed } from './prng.js'

/** What a store suite factory returns: a fresh, isolated store (not yet opened) and how to dispose of it. */
export interface StoreFixture {
  /** A new store over empty storage; the suite opens it. */
  readonly store: Store
  /**
   * For persistent stores: a new store instance over the same storage (the suite closes the old
   * one first and opens the new one). Omit when the store cannot be reopened.
   */
  readonly reopen?: () => Store | Promise<Store>
  /** Releases everything (closes stores, removes directories). Called once, even after a failure. */
  teardown(): void | Promise<void>
}

/**
 * The usual {@link StoreFixture} of a persistent store: `open()` makes a store over the same
 * storage each time (the first is `store`, later ones are `reopen`), and teardown closes every
 * store made, then runs `cleanup` (remove a directory, delete a database).
 */
export function reopenableFixture(open: () => Store, cleanup?: () => void | Promise<void>): StoreFixture {
  const stores: Store[] = []
  const make = (): Store => {
    const s = open()
    stores.push(s)
    return s
  }
  return {
    store: make(),
    reopen: make,
    async teardown() {
      for (const s of stores) await s.close()
      await cleanup?.()
    },
  }
}

/** Options of {@link storeSuite}. */
export interface StoreSuiteOptions {
  /** fast-check runs of the model-based test (default `HEARSAY_RUNS` or 25). */
  numRuns?: number
  /** Seed of the model-based test (default `SEED`, else random). */
  seed?: number
}

const enc = new TextEncoder()
const bytes = (s: string) => enc.encode(s)
const hex = (b: Uint8Array | undefined) => (b === undefined ? 'undefined' : toHex(b))

async function rejectsWith(p: Promise<unknown> | (() => Promise<unknown>), code: string): Promise<void> {
  await assert.rejects(typeof p === 'function' ? p() : p, (err: unknown) => {
    assert.ok(isHearsayError(err), `expected a HearsayError ${code}, got ${String(err)}`)
    assert.equal(err.code, code)
    return true
  })
}

function plain(o: StoredObject | undefined): unknown {
  if (o === undefined) return undefined
  return { objectId: o.objectId, typeId: o.typeId, snapshot: hex(o.snapshot), batches: o.batches.map(hex) }
}

interface ModelObject {
  typeId: number
  snapshot: Uint8Array | undefined
  batches: Uint8Array[]
}

type Command =
  | { kind: 'append'; entries: Array<{ obj: number; type: number; data: Uint8Array }> }
  | { kind: 'compact'; obj: number; type: number; snapshot: Uint8Array }
  | { kind: 'meta'; key: number; value: Uint8Array }
  | { kind: 'concurrent'; ops: Command[] }
  | { kind: 'reopen' }

const OBJECT_IDS = ['a', 'b', 'obj/c', 'ζ', '']

/**
 * The store conformance suite: registers `node:test` tests that every {@link Store} must pass.
 * Covers open/close and `HEARSAY_NOT_OPEN`, append/load order, atomic multi-object appends and
 * type mismatches, copies of caller buffers, compaction (snapshot replaces earlier batches and
 * keeps later ones, also under concurrent calls), metadata, `list`, persistence across a reopen,
 * and a model-based random run against plain Maps (fast-check, seeded). Tests the capabilities
 * say are unsupported are skipped.
 *
 * @param name suite title.
 * @param factory returns a fresh isolated fixture per test.
 *
 * @example
 * ```ts
 * storeSuite('MemoryStore', () => { const store = new MemoryStore(); return { store, teardown: () => store.close() } })
 * ```
 */
export function storeSuite(name: string, factory: () => StoreFixture | Promise<StoreFixture>, options: StoreSuiteOptions = {}): void {
  // Reads the capabilities once to decide what to skip; that fixture is torn down right away.
  const probe = async () => {
    const f = await factory()
    const caps = f.store.capabilities
    const canReopen = f.reopen !== undefined
    await f.teardown()
    return { ...caps, canReopen }
  }
  const capsP = probe()

  const withStore = async (fn: (store: Store, fixture: StoreFixture) => Promise<void>) => {
    const f = await factory()
    try {
      await f.store.open()
      await fn(f.store, f)
    } finally {
      await f.teardown()
    }
  }

  describe(`store conformance: ${name}`, () => {
    it('refuses every call with HEARSAY_NOT_OPEN before open and after close', async () => {
      const f = await factory()
      try {
        const s = f.store
        const calls = (): Array<() => Promise<unknown>> => [
          () => s.append([{ objectId: 'x', typeId: 1, data: bytes('1') }]),
          () => s.load('x'),
          () => s.list(),
          () => s.compact('x', 1, bytes('s')),
          () => s.getMeta('k'),
          () => s.putMeta('k', bytes('v')),
        ]
        for (const c of calls()) await rejectsWith(c, ErrorCodes.NOT_OPEN)
        await s.open()
        await s.append([{ objectId: 'x', typeId: 1, data: bytes('1') }])
        await s.close()
        for (const c of calls()) await rejectsWith(c, ErrorCodes.NOT_OPEN)
        await s.close()
      } finally {
        await f.teardown()
      }
    })

    it('loads batches in append order, per object; unknown objects are undefined', () =>
      withStore(async (s) => {
        assert.equal(await s.load('nope'), undefined)
        for (let i = 0; i < 20; i++) await s.append([{ objectId: i % 2 ? 'odd' : 'even', typeId: 7, data: bytes(`b${i}`) }])
        const odd = await s.load('odd')
        assert.deepEqual(plain(odd), plain({ objectId: 'odd', typeId: 7, snapshot: undefined, batches: [1, 3, 5, 7, 9, 11, 13, 15, 17, 19].map((i) => bytes(`b${i}`)) }))
        const even = await s.load('even')
        assert.equal(even?.batches.length, 10)
        assert.equal(hex(even?.batches[9]), hex(bytes('b18')))
      }))

    it('keeps call order across many concurrent appends', () =>
      withStore(async (s) => {
        const n = 300
        const all: Promise<void>[] = []
        for (let i = 0; i < n; i++) all.push(s.append([{ objectId: `o${i % 3}`, typeId: 2, data: bytes(String(i)) }]))
        await Promise.all(all)
        for (let k = 0; k < 3; k++) {
          const o = await s.load(`o${k}`)
          const expect: string[] = []
          for (let i = k; i < n; i += 3) expect.push(hex(bytes(String(i))))
          assert.deepEqual(o?.batches.map(hex), expect)
        }
      }))

    it('appends several objects atomically and refuses a type mismatch whole', () =>
      withStore(async (s) => {
        await s.append([
          { objectId: 'a', typeId: 1, data: bytes('a1') },
          { objectId: 'b', typeId: 2, data: bytes('b1') },
          { objectId: 'a', typeId: 1, data: bytes('a2') },
        ])
        assert.deepEqual((await s.load('a'))?.batches.map(hex), [hex(bytes('a1')), hex(bytes('a2'))])
        assert.equal((await s.load('b'))?.typeId, 2)
        await rejectsWith(
          s.append([
            { objectId: 'c', typeId: 3, data: bytes('c1') },
            { objectId: 'a', typeId: 1, data: bytes('a3') },
            { objectId: 'b', typeId: 9, data: bytes('b2') },
          ]),
          ErrorCodes.TYPE_MISMATCH,
        )
        assert.equal(await s.load('c'), undefined)
        assert.equal((await s.load('a'))?.batches.length, 2)
        assert.equal((await s.load('b'))?.batches.length, 1)
        assert.deepEqual(await s.list(), [
          { objectId: 'a', typeId: 1 },
          { objectId: 'b', typeId: 2 },
        ])
      }))

    it('copies buffers: changing them after a call changes nothing stored', () =>
      withStore(async (s) => {
        const data = bytes('data')
        const meta = bytes('meta')
        const p1 = s.append([{ objectId: 'a', typeId: 1, data }])
        const p2 = s.putMeta('k', meta)
        data[0] = 0
        meta[0] = 0
        await Promise.all([p1, p2])
        assert.equal(hex((await s.load('a'))?.batches[0]), hex(bytes('data')))
        const got = await s.getMeta('k')
        assert.equal(hex(got), hex(bytes('meta')))
        got![0] = 0
        assert.equal(hex(await s.getMeta('k')), hex(bytes('meta')))
      }))

    it('compaction replaces earlier batches by the snapshot and keeps later ones', async (t) => {
      if (!(await capsP).compaction) return t.skip('store does not compact')
      await withStore(async (s) => {
        await s.append([{ objectId: 'a', typeId: 4, data: bytes('1') }])
        await s.append([{ objectId: 'a', typeId: 4, data: bytes('2') }, { objectId: 'b', typeId: 4, data: bytes('b') }])
        await s.compact('a', 4, bytes('S12'))
        await s.append([{ objectId: 'a', typeId: 4, data: bytes('3') }])
        assert.deepEqual(plain(await s.load('a')), plain({ objectId: 'a', typeId: 4, snapshot: bytes('S12'), batches: [bytes('3')] }))
        assert.equal((await s.load('b'))?.batches.length, 1, 'other objects are untouched')
        // Calls are ordered: an append issued before compact is replaced, one issued after is kept.
        const p = [
          s.append([{ objectId: 'a', typeId: 4, data: bytes('4') }]),
          s.compact('a', 4, bytes('S1234')),
          s.append([{ objectId: 'a', typeId: 4, data: bytes('5') }]),
        ]
        await Promise.all(p)
        assert.deepEqual(plain(await s.load('a')), plain({ objectId: 'a', typeId: 4, snapshot: bytes('S1234'), batches: [bytes('5')] }))
        await s.compact('a', 4, bytes('S12345'))
        assert.deepEqual(plain(await s.load('a')), plain({ objectId: 'a', typeId: 4, snapshot: bytes('S12345'), batches: [] }))
        // Compacting an unknown object creates it; a type mismatch is refused.
        await s.compact('new', 5, bytes('N'))
        assert.deepEqual(plain(await s.load('new')), plain({ objectId: 'new', typeId: 5, snapshot: bytes('N'), batches: [] }))
        await rejectsWith(s.compact('a', 5, bytes('x')), ErrorCodes.TYPE_MISMATCH)
        await rejectsWith(s.append([{ objectId: 'new', typeId: 4, data: bytes('x') }]), ErrorCodes.TYPE_MISMATCH)
        assert.deepEqual(
          (await s.list()).map((o) => o.objectId),
          ['a', 'b', 'new'],
        )
      })
    })

    it('stores metadata', () =>
      withStore(async (s) => {
        assert.equal(await s.getMeta('node-id'), undefined)
        await s.putMeta('node-id', bytes('n1'))
        await s.putMeta('peer/x', bytes('digest'))
        await s.putMeta('node-id', bytes('n2'))
        assert.equal(hex(await s.getMeta('node-id')), hex(bytes('n2')))
        assert.equal(hex(await s.getMeta('peer/x')), hex(bytes('digest')))
        await s.putMeta('empty', new Uint8Array(0))
        assert.equal(hex(await s.getMeta('empty')), '')
        assert.deepEqual(await s.list(), [], 'metadata is not an object')
      }))

    it('lists objects sorted by id', () =>
      withStore(async (s) => {
        for (const id of ['b', 'a', 'c/1', 'A', 'é', 'aa']) await s.append([{ objectId: id, typeId: 3, data: bytes(id) }])
        assert.deepEqual(
          (await s.list()).map((o) => o.objectId),
          ['A', 'a', 'aa', 'b', 'c/1', 'é'],
        )
      }))

    it('keeps everything across a reopen', async (t) => {
      const caps = await capsP
      if (!caps.persistent || !caps.canReopen) return t.skip('store is not persistent')
      const f = await factory()
      try {
        await f.store.open()
        await f.store.append([{ objectId: 'a', typeId: 1, data: bytes('1') }, { objectId: 'b', typeId: 2, data: bytes('2') }])
        if (caps.compaction) await f.store.compact('a', 1, bytes('S'))
        await f.store.append([{ objectId: 'a', typeId: 1, data: bytes('3') }])
        await f.store.putMeta('node-id', bytes('me'))
        const before = [plain(await f.store.load('a')), plain(await f.store.load('b')), await f.store.list()]
        await f.store.close()
        const s2 = await f.reopen!()
        await s2.open()
        assert.deepEqual([plain(await s2.load('a')), plain(await s2.load('b')), await s2.list()], before)
        assert.equal(hex(await s2.getMeta('node-id')), hex(bytes('me')))
        // Appends after a reopen go after the old ones, and compaction still hides them.
        await s2.append([{ objectId: 'a', typeId: 1, data: bytes('4') }])
        assert.deepEqual((await s2.load('a'))?.batches.map(hex), [hex(bytes('3')), hex(bytes('4'))])
        await rejectsWith(s2.append([{ objectId: 'a', typeId: 9, data: bytes('x') }]), ErrorCodes.TYPE_MISMATCH)
        // A compaction that leaves no batch, then a reopen: new appends must still load after the snapshot.
        if (caps.compaction) {
          await s2.compact('a', 1, bytes('S2'))
          await s2.close()
          const s3 = await f.reopen!()
          await s3.open()
          await s3.append([{ objectId: 'a', typeId: 1, data: bytes('5') }])
          assert.deepEqual(plain(await s3.load('a')), plain({ objectId: 'a', typeId: 1, snapshot: bytes('S2'), batches: [bytes('5')] }))
          await s3.close()
        } else {
          await s2.close()
        }
      } finally {
        await f.teardown()
      }
    })

    it('behaves like a plain Map under random commands (model-based)', async () => {
      const caps = await capsP
      const seed = options.seed ?? testSeed()
      const numRuns = options.numRuns ?? (Number(process.env['HEARSAY_RUNS']) || 25)
      const data = fc.uint8Array({ maxLength: 24 })
      const obj = fc.nat({ max: OBJECT_IDS.length - 1 })
      const type = fc.integer({ min: 1, max: 2 })
      // Entries of one append agree on each object's type (a batch contradicting itself is not specified).
      const append = fc
        .array(fc.record({ obj, type, data }), { minLength: 1, maxLength: 4 })
        .map((entries) => ({ kind: 'append' as const, entries: entries.map((e) => ({ ...e, type: entries.find((x) => x.obj === e.obj)!.type })) }))
      const compact = fc.record({ kind: fc.constant('compact' as const), obj, type, snapshot: data })
      const meta = fc.record({ kind: fc.constant('meta' as const), key: fc.nat({ max: 3 }), value: data })
      const simple: fc.Arbitrary<Command> = caps.compaction ? fc.oneof({ weight: 4, arbitrary: append }, { weight: 2, arbitrary: compact }, { weight: 1, arbitrary: meta }) : fc.oneof(append, meta)
      const concurrent = fc.record({ kind: fc.constant('concurrent' as const), ops: fc.array(simple, { minLength: 2, maxLength: 6 }) })
      const reopen = fc.constant({ kind: 'reopen' as const })
      const command: fc.Arbitrary<Command> =
        caps.persistent && caps.canReopen
          ? fc.oneof({ weight: 6, arbitrary: simple }, { weight: 2, arbitrary: concurrent }, { weight: 1, arbitrary: reopen })
          : fc.oneof({ weight: 6, arbitrary: simple }, { weight: 2, arbitrary: concurrent })

      const run = async (commands: Command[]) => {
        const f = await factory()
        let s = f.store
        const objects = new Map<string, ModelObject>()
        const metas = new Map<string, Uint8Array>()
        // Issues one command and updates the model in call order; returns its promise.
        const issue = (c: Command): Promise<unknown> => {
          if (c.kind === 'append') {
            const entries: StoreEntry[] = c.entries.map((e) => ({ objectId: OBJECT_IDS[e.obj]!, typeId: e.type, data: e.data }))
            const ok = entries.every((e) => (objects.get(e.objectId)?.typeId ?? e.typeId) === e.typeId)
            if (!ok) return rejectsWith(s.append(entries), ErrorCodes.TYPE_MISMATCH)
            for (const e of entries) {
              let o = objects.get(e.objectId)
              if (o === undefined) objects.set(e.objectId, (o = { typeId: e.typeId, snapshot: undefined, batches: [] }))
              o.batches.push(e.data.slice())
            }
            return s.append(entries)
          }
          if (c.kind === 'compact') {
            const id = OBJECT_IDS[c.obj]!
            const o = objects.get(id)
            if (o !== undefined && o.typeId !== c.type) return rejectsWith(s.compact(id, c.type, c.snapshot), ErrorCodes.TYPE_MISMATCH)
            objects.set(id, { typeId: c.type, snapshot: c.snapshot.slice(), batches: [] })
            return s.compact(id, c.type, c.snapshot)
          }
          if (c.kind === 'meta') {
            metas.set(`k${c.key}`, c.value.slice())
            return s.putMeta(`k${c.key}`, c.value)
          }
          throw new Error('not a simple command')
        }
        const verify = async () => {
          const listed = await s.list()
          const ids = [...objects.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
          assert.deepEqual(listed, ids.map((id) => ({ objectId: id, typeId: objects.get(id)!.typeId })))
          for (const id of OBJECT_IDS) {
            const o = objects.get(id)
            assert.deepEqual(plain(await s.load(id)), o === undefined ? undefined : plain({ objectId: id, ...o }), `object ${JSON.stringify(id)}`)
          }
          for (let k = 0; k < 4; k++) assert.equal(hex(await s.getMeta(`k${k}`)), hex(metas.get(`k${k}`)))
        }
        try {
          await s.open()
          for (const c of commands) {
            if (c.kind === 'concurrent') {
              // Issue all without waiting: the store must apply them in call order.
              const ps: Promise<unknown>[] = []
              for (const op of c.ops) {
                try {
                  ps.push(issue(op))
                } catch (err) {
                  ps.push(Promise.reject(err))
                }
              }
              await Promise.all(ps)
            } else if (c.kind === 'reopen') {
              await s.close()
              s = await f.reopen!()
              await s.open()
            } else {
              await issue(c)
            }
            await verify()
          }
        } finally {
          await f.teardown()
        }
      }
      try {
        await fc.assert(fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 25 }), run), { seed, numRuns })
      } catch (err) {
        const e = err as Error
        e.message = `store model run failed (seed ${seed}; replay with SEED=${seed})\n${e.message}`
        throw e
      }
    })
  })
}
