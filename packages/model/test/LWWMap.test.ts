import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import * as fc from 'fast-check'
import { ErrorCodes, HearsayError, TICKS_PER_MS, createReplica, LWWMapTypeId, type Update } from '@hearsay/core'
import { checkConvergence, testSeed, withSeed } from '@hearsay/core/testing'
import { LWWMap, type LWWMapOp } from '@hearsay/model'
import { fuzzPeerBytes, roundTripFile, syncPair } from './helpers/common.ts'

/** Test-only invariant: size and iteration agree, every winner is covered by the clock. */
export function checkLWWMap(m: LWWMap<any>): void {
  let live = 0
  for (const k of m.keys()) {
    live++
    const w = m.winner(k)!
    assert.ok(w.op.value !== undefined && w.op.key === k)
    assert.ok(w.seq <= m.clock.get(w.source), 'a winner is covered by the clock')
  }
  assert.equal(live, m.size)
  assert.ok(m.historySize >= m.size)
}

const keyArb = fc.constantFrom('a', 'b', 'c', 'd')
const opArb = fc.oneof(
  fc.record({ k: fc.constant('set' as const), key: keyArb, value: fc.oneof(fc.integer(), fc.string({ maxLength: 3 }), fc.constant(null), fc.array(fc.boolean(), { maxLength: 2 })) }),
  fc.record({ k: fc.constant('del' as const), key: keyArb }),
)

test('LWWMap converges under concurrent sets and deletes', async () => {
  await checkConvergence((o) => new LWWMap(o), opArb, {
    apply: (m, op) => (op.k === 'set' ? m.set(op.key, op.value as never) : m.delete(op.key)),
    invariant: checkLWWMap,
  })
})

test('LWWMap on one replica behaves like a plain Map (model-based)', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 80 }), (ops) => {
      const m = new LWWMap<any>({ id: 'a' })
      const model = new Map<string, unknown>()
      for (const op of ops) {
        if (op.k === 'set') {
          m.set(op.key, op.value as never)
          model.set(op.key, op.value)
        } else assert.equal(m.delete(op.key), model.delete(op.key))
        assert.equal(m.size, model.size)
      }
      assert.deepEqual(new Map(m.entries()), model)
      for (const k of ['a', 'b', 'c', 'd']) assert.equal(m.has(k), model.has(k))
    }),
    { seed: testSeed(), numRuns: 200 },
  )
})

test('LWWMap has the scuttlebutt/model API and change events', () => {
  const m = new LWWMap<number>({ id: 'a' })
  const seen: Array<[string, number | undefined]> = []
  const keyed: Array<number | undefined> = []
  m.on('change', (k: string, v: number | undefined) => seen.push([k, v]))
  m.on('change:x', (v: number | undefined) => keyed.push(v))
  assert.equal(m.set('x', 1), m)
  m.set('y', 2)
  assert.equal(m.get('x'), 1)
  assert.ok(m.has('y'))
  assert.deepEqual([...m.keys()], ['x', 'y'])
  assert.deepEqual([...m.entries()], [['x', 1], ['y', 2]])
  assert.equal(m.size, 2)
  assert.equal(m.delete('x'), true)
  assert.equal(m.delete('x'), false)
  assert.equal(m.delete('never'), false)
  assert.equal(m.has('x'), false)
  assert.equal(m.get('x'), undefined)
  assert.equal(m.size, 1)
  assert.deepEqual(m.toJSON(), { y: 2 })
  assert.deepEqual(seen, [['x', 1], ['y', 2], ['x', undefined]])
  assert.deepEqual(keyed, [1, undefined])
})

test('LWWMap history keeps one update per key: 100k writes to 100 keys sync 100 updates', () => {
  const a = new LWWMap<number>({ id: 'a' })
  for (let i = 0; i < 100_000; i++) a.set(`k${i % 100}`, i)
  a.delete('k0')
  assert.equal(a.historySize, 100)
  const ranges = a.historySince(new LWWMap({ id: 'z' }).clock)
  assert.equal(ranges.reduce((n, r) => n + r.updates.length, 0), 100)
  const b = new LWWMap<number>({ id: 'b' })
  b.applyState(a.encodeState())
  assert.deepEqual(b.toJSON(), a.toJSON())
  assert.equal(b.clock.get('a'), 100_001)
  assert.equal(b.has('k0'), false)
})

test('LWWMap delete-then-set races: the later write wins, the tombstone travels', () => {
  let wall = 1_000_000
  const now = () => wall
  const a = new LWWMap<string>({ id: 'a', now })
  const b = new LWWMap<string>({ id: 'b', now })
  a.set('k', 'v0')
  syncPair(a, b)
  // a deletes, then b sets later (concurrently, without seeing the delete): the set wins.
  wall += 1
  a.delete('k')
  wall += 1
  b.set('k', 'revived')
  syncPair(a, b)
  assert.equal(a.get('k'), 'revived')
  assert.equal(b.get('k'), 'revived')
  // b sets, a deletes later: the delete wins even delivered first.
  wall += 1
  b.set('k', 'x')
  wall += 1
  a.delete('k')
  b.applyRanges(a.historySince(b.clock))
  a.applyRanges(b.historySince(a.clock))
  assert.equal(a.has('k'), false)
  assert.equal(b.has('k'), false)
  assert.deepEqual(a.toJSON(), b.toJSON())
  // A fresh replica learning from either gets the tombstone, not the stale value.
  const c = new LWWMap<string>({ id: 'c', now })
  c.applyState(b.encodeState())
  assert.equal(c.has('k'), false)
  assert.equal(c.winner('k')?.op.value, undefined)
})

test('LWWMap ties on hybrid time are broken by source id', () => {
  const now = () => 5_000
  const a = new LWWMap<string>({ id: 'alice', now })
  const z = new LWWMap<string>({ id: 'zed', now })
  a.set('k', 'from-alice')
  z.set('k', 'from-zed')
  assert.equal(a.winner('k')!.time, z.winner('k')!.time, 'same hybrid time')
  syncPair(a, z)
  assert.equal(a.get('k'), 'from-zed')
  assert.equal(z.get('k'), 'from-zed')
})

test('a replica whose clock runs an hour ahead can neither drag peers forward nor win every conflict', () => {
  let wall = 1_700_000_000_000
  const hour = 3_600_000
  const fast = new LWWMap<string>({ id: 'fast', now: () => wall + hour })
  const honest = new LWWMap<string>({ id: 'honest', now: () => wall })
  const rejected: HearsayError[] = []
  honest.on('rejected', (e: HearsayError) => rejected.push(e))
  fast.set('k', 'from the future')
  const before = honest.hlc.last
  const res = honest.applyRanges(honest.decodeRanges(fast.encodeRanges(fast.historySince(honest.clock))))
  // Refused (not held): reported, not applied, the clock and the hybrid clock untouched.
  assert.equal(res.refused, 1)
  assert.equal(res.applied, 0)
  assert.equal(rejected.length, 1)
  assert.equal(rejected[0]!.code, ErrorCodes.CLOCK_DRIFT)
  assert.equal(honest.stats.driftRefused, 1)
  assert.equal(honest.clock.get('fast'), 0)
  assert.equal(honest.hlc.last, before)
  assert.equal(honest.get('k'), undefined)
  // The honest replica's own later write is timed by its own clock and keeps winning locally.
  wall += 10
  honest.set('k', 'now')
  assert.ok(honest.winner('k')!.time < fast.winner('k')!.time)
  assert.equal(honest.get('k'), 'now')
  // Once real time catches up to within the drift bound the update is accepted on the next exchange.
  wall += hour - 30_000
  honest.applyRanges(fast.historySince(honest.clock))
  assert.equal(honest.clock.get('fast'), 1)
  assert.equal(honest.get('k'), 'from the future')
  assert.ok(honest.hlc.last >= fast.winner('k')!.time)
  assert.ok(fast.winner('k')!.time <= (wall + honest.hlc.maxDrift) * TICKS_PER_MS)
})

test('LWWMap refuses non-replicable values at the call, naming the problem', () => {
  const m = new LWWMap<any>({ id: 'a' })
  assert.throws(() => m.set('k', undefined), { name: 'TypeError', message: /undefined/ })
  assert.throws(() => m.set('k', NaN), { name: 'TypeError', message: /NaN/ })
  assert.throws(() => m.set('k', -0), { name: 'TypeError', message: /-0/ })
  assert.throws(() => m.set('k', new Date()), { name: 'TypeError', message: /Date/ })
  assert.throws(() => m.set('k', { f: () => 1 }), { name: 'TypeError', message: /value\.f/ })
  assert.throws(() => m.set('k', new Map()), { name: 'TypeError', message: /Map/ })
  assert.throws(() => m.set('k', 10n), { name: 'TypeError', message: /bigint/ })
  assert.throws(() => m.set(1 as never, 1), { name: 'TypeError' })
  assert.equal(m.size, 0)
  assert.equal(m.clock.get('a'), 0)
  // Object values are copied and frozen: mutating the caller's object changes nothing.
  const o = { n: 1, list: [1, 2] }
  m.set('o', o)
  o.n = 2
  assert.deepEqual(m.get('o'), { n: 1, list: [1, 2] })
  assert.ok(Object.isFrozen(m.get('o')))
})

test('LWWMap round-trips through createReadStream → file → createWriteStream', async () => {
  const m = new LWWMap<any>({ id: 'a' })
  for (let i = 0; i < 5000; i++) m.set(`k${i % 700}`, i % 3 === 0 ? { i, s: 'x'.repeat(i % 5) } : i)
  for (let i = 0; i < 50; i++) m.delete(`k${i}`)
  m.set('bytes', new Uint8Array([1, 2, 3]))
  const copy = await roundTripFile(m, (o) => new LWWMap(o))
  assert.deepEqual(copy.get('bytes'), new Uint8Array([1, 2, 3]))
})

test('LWWMap replicas sync over createStream and stay live', async () => {
  const a = new LWWMap<number>({ id: 'a' })
  const b = new LWWMap<number>({ id: 'b' })
  for (let i = 0; i < 100; i++) a.set(`a${i}`, i)
  for (let i = 0; i < 100; i++) b.set(`b${i}`, i)
  const sa = a.createStream()
  const sb = b.createStream()
  sa.pipe(new PassThrough()).pipe(sb).pipe(new PassThrough()).pipe(sa)
  await Promise.all([new Promise((r) => sa.once('sync', r)), new Promise((r) => sb.once('sync', r))])
  assert.deepEqual(a.toJSON(), b.toJSON())
  const changed = b.nextEvent('change')
  a.set('live', 42)
  assert.deepEqual(await changed, ['live', 42])
  a.dispose()
  b.dispose()
})

test('LWWMap refuses bad peer bytes with typed errors and stays unchanged', async () => {
  await withSeed('LWWMap fuzz', (rng) => {
    const src = new LWWMap<any>({ id: 'src' })
    for (let i = 0; i < 20; i++) src.set(`k${i}`, { i, s: 'abc' })
    src.delete('k3')
    const valid = src.encodeRanges(src.historySince(new LWWMap({ id: 'x' }).clock))
    const target = new LWWMap<any>({ id: 't' })
    target.set('mine', 1)
    const r = fuzzPeerBytes(target, valid, rng)
    assert.ok(r.decodeErrors > 0)
    checkLWWMap(target)
  })
  // A msgpack value we do not replicate (0xc1 is never used; 0xd4 is an extension type) is refused.
  const t = new LWWMap({ id: 't' })
  for (const badByte of [0xc1, 0xd4]) {
    const bytes = t.encodeRanges([{ source: 'p' as never, from: 0, to: 1, updates: [{ source: 'p' as never, seq: 1, time: 1, op: { key: 'k', value: [1] } } as Update<LWWMapOp>] }])
    const bad = Buffer.from(bytes)
    // The value is the last bytes: length 2, 0x91 (array of 1), 0x01. Replace the array header.
    assert.equal(bad[bad.length - 2], 0x91)
    bad[bad.length - 2] = badByte
    assert.throws(() => t.decodeRanges(bad), (e: unknown) => e instanceof HearsayError && e.code === ErrorCodes.DECODE_ERROR && typeof e.offset === 'number')
  }
  assert.equal(t.size, 0)
})

test('LWWMap encodes keys prefix-compressed and common values without msgpack', () => {
  const a = new LWWMap<any>({ id: 'a' })
  const values = [0, 1, 300, -1, -70000, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1.5, -2.25, 'str', '', 'é😀', true, false, null, [1, 'x'], { o: { p: 1 } }, new Uint8Array([9])]
  values.forEach((v, i) => a.set(`user/${i}/name`, v))
  a.set('😀a', 1)
  a.set('😀b', 2)
  a.delete('user/0/name')
  const b = new LWWMap<any>({ id: 'b' })
  b.applyState(a.encodeState())
  assert.deepEqual(b.toJSON(), a.toJSON())
  assert.equal(Buffer.compare(b.encodeState(), a.encodeState()), 0)
  // Shared prefixes make the state much smaller than the keys written out.
  const m = new LWWMap<number>({ id: 'm' })
  for (let i = 0; i < 1000; i++) m.set(`user/${i}/name`, i)
  const keyBytes = [...m.keys()].reduce((n, k) => n + Buffer.byteLength(k), 0)
  assert.ok(m.encodeState().length < keyBytes, `${m.encodeState().length} < ${keyBytes}`)
  assert.throws(() => a.set('\uD800', 1), /lone surrogate/)
  assert.throws(() => a.set('k', 'x\uDC00'), /lone surrogate/)
})

test('LWWMap: a garbage frame on a stream is an error event with a code, the replica unchanged', async () => {
  const m = new LWWMap<number>({ id: 'm' })
  m.set('k', 1)
  const before = m.encodeState()
  const s = m.createStream()
  const err = new Promise<HearsayError>((r) => s.once('error', r))
  s.on('data', () => {})
  // A well-formed frame header announcing 5 bytes of payload that is not a message.
  s.write(Buffer.from([5, 0xff, 0xff, 0xff, 0xff, 0xff]))
  const e = await err
  assert.ok(e instanceof HearsayError)
  assert.ok(e.code === ErrorCodes.DECODE_ERROR || e.code === ErrorCodes.FRAME_TOO_LARGE, e.code)
  assert.equal(Buffer.compare(m.encodeState(), before), 0)
  assert.equal(m.get('k'), 1)
})

test('LWWMap is registered by type id', () => {
  const r = createReplica(LWWMapTypeId, { id: 'n' })
  assert.ok(r instanceof LWWMap)
})
