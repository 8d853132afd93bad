import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fc from 'fast-check'
import { ErrorCodes, ListTypeId, createReplica, type HearsayError } from '@hearsay/core'
import { checkConvergence, prng, withSeed } from '@hearsay/core/testing'
import { checkInvariants, List, applyListDelta, type Delta } from '@hearsay/seq'
import { blocksOf, randomSeqOp } from './helpers.ts'

type ListOp = { kind: 'ins'; at: number; n: number } | { kind: 'del'; at: number; n: number } | { kind: 'mov'; from: number; to: number }

const listOp: fc.Arbitrary<ListOp> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('ins' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('del' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 2 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('mov' as const), from: fc.nat(), to: fc.nat() }) },
)

const counters = new WeakMap<List<string>, number>()

function applyListOp(l: List<string>, op: ListOp): void {
  if (op.kind === 'ins') {
    const values: string[] = []
    for (let i = 0; i < op.n; i++) {
      const c = (counters.get(l) ?? 0) + 1
      counters.set(l, c)
      values.push(`${l.id}.${c}`)
    }
    l.insert(op.at % (l.length + 1), ...values)
  } else if (l.length === 0) return
  else if (op.kind === 'del') {
    const at = op.at % l.length
    l.delete(at, Math.min(op.n, l.length - at))
  } else l.move(op.from % l.length, op.to % l.length)
}

function noDuplicates(l: List<string>): void {
  checkInvariants(l)
  const a = l.toArray()
  assert.equal(new Set(a).size, a.length, `duplicated element in ${JSON.stringify(a)}`)
}

test('List converges under random insert/delete/move over 2..5 replicas, never duplicating an element', async () => {
  await checkConvergence((o) => new List<string>(o), listOp, { apply: applyListOp, replicas: [2, 5], invariant: noDuplicates })
})

test('List basics: insert, push, unshift, delete, get, iteration', () => {
  const l = new List<number>({ id: 'a' })
  l.push(2, 3)
  l.unshift(0, 1)
  l.insert(4, 4, 5)
  assert.deepEqual(l.toArray(), [0, 1, 2, 3, 4, 5])
  l.delete(1, 2)
  assert.deepEqual([...l], [0, 3, 4, 5])
  assert.equal(l.get(1), 3)
  assert.equal(l.get(9), undefined)
  assert.equal(l.length, 4)
  assert.throws(() => l.insert(9, 1), RangeError)
  assert.throws(() => l.push(undefined as unknown as number), TypeError)
  assert.throws(() => l.move(0, 4), RangeError)
})

test('move places the element at the target index', () => {
  for (let n = 1; n <= 5; n++) {
    for (let from = 0; from < n; from++) {
      for (let to = 0; to < n; to++) {
        const l = new List<number>({ id: 'a' })
        const ref = Array.from({ length: n }, (_, i) => i)
        l.push(...ref)
        l.move(from, to)
        const [x] = ref.splice(from, 1)
        ref.splice(to, 0, x!)
        assert.deepEqual(l.toArray(), ref, `move(${from}, ${to}) of ${n}`)
        checkInvariants(l)
      }
    }
  }
})

test('concurrent moves of one element: it ends in exactly one place', async () => {
  await withSeed('concurrent moves', (rng) => {
    for (let round = 0; round < 50; round++) {
      const replicas = [0, 1, 2].map((i) => new List<number>({ id: `r${i}` }))
      replicas[0]!.push(...Array.from({ length: 8 }, (_, i) => i))
      for (const r of replicas.slice(1)) r.applyState(replicas[0]!.encodeState())
      for (let step = 0; step < 12; step++) {
        const r = replicas[prng.int32(rng, 0, 2)]!
        r.move(prng.int32(rng, 0, r.length - 1), prng.int32(rng, 0, r.length - 1))
        if (prng.int32(rng, 0, 3) === 0) {
          const s = replicas[prng.int32(rng, 0, 2)]!
          s.applyRanges(r.historySince(s.clock))
        }
      }
      for (const a of replicas) for (const b of replicas) if (a !== b) b.applyRanges(a.historySince(b.clock))
      const result = replicas[0]!.toArray()
      for (const r of replicas) assert.deepEqual(r.toArray(), result)
      assert.deepEqual([...result].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7], `lost or duplicated: ${result}`)
    }
  })
})

test('a delete concurrent with a move removes the element', () => {
  const a = new List<string>({ id: 'a' })
  a.push('x', 'y', 'z')
  const b = new List<string>({ id: 'b' })
  b.applyState(a.encodeState())
  a.move(0, 2)
  b.delete(0)
  a.applyRanges(b.historySince(a.clock))
  b.applyRanges(a.historySince(b.clock))
  assert.deepEqual(a.toArray(), ['y', 'z'])
  assert.deepEqual(b.toArray(), ['y', 'z'])
})

test('element ids make cursors that survive remote edits and moves', () => {
  const a = new List<string>({ id: 'a' })
  a.push('p', 'q', 'r')
  const id = a.idAt(1)
  const b = new List<string>({ id: 'b' })
  b.applyState(a.encodeState())
  b.unshift('new')
  b.move(2, 3)
  a.applyRanges(b.historySince(a.clock))
  assert.deepEqual(a.toArray(), ['new', 'p', 'r', 'q'])
  assert.equal(a.indexOf(id), 3)
  assert.equal(a.get(a.indexOf(id)), 'q')
  a.delete(3)
  assert.equal(a.indexOf(id), -1)
  assert.equal(a.indexOf('nonsense'), -1)
})

test('List change deltas reproduce the array', async () => {
  await withSeed('list deltas', (rng) => {
    const a = new List<number>({ id: 'a' })
    const b = new List<number>({ id: 'b' })
    const mirror = new Map<List<number>, number[]>([
      [a, []],
      [b, []],
    ])
    for (const l of [a, b]) l.on('change', (d: Delta<readonly number[]>) => mirror.set(l, applyListDelta(mirror.get(l)!, d)))
    let v = 0
    for (let i = 0; i < 300; i++) {
      const l = prng.bool(rng) ? a : b
      const k = prng.int32(rng, 0, 3)
      if (k === 0 && l.length > 0) l.delete(prng.int32(rng, 0, l.length - 1))
      else if (k === 1 && l.length > 1) l.move(prng.int32(rng, 0, l.length - 1), prng.int32(rng, 0, l.length - 1))
      else l.insert(prng.int32(rng, 0, l.length), v++, v++)
      if (prng.int32(rng, 0, 4) === 0) {
        a.applyRanges(b.historySince(a.clock))
        b.applyRanges(a.historySince(b.clock))
      }
      assert.deepEqual(mirror.get(a), a.toArray())
      assert.deepEqual(mirror.get(b), b.toArray())
    }
  })
})

test('a List load builds the same document as placing each block in the tree (random ops of one source)', async () => {
  // As for Text: a load without change listeners chains blocks and builds the tree at the end.
  await withSeed('list load build', (rng) => {
    let v = 0
    for (let i = 0; i < 200; i++) {
      const op = randomSeqOp(rng, (n) => Array.from({ length: n }, () => v++))
      const len = op.parts.reduce((n, p) => n + p.len, 0)
      const source = 'evil' as never
      const ranges = [{ source, from: 0, to: len, updates: [{ source, seq: 1, time: 1, op, ...(len > 1 ? { len } : {}) }] }]
      const built = new List<number>({ id: 'r' })
      const bytes = built.encodeRanges(ranges)
      assert.equal(built.applyRanges(built.decodeRanges(bytes)).applied, 1)
      const tracked = new List<number>({ id: 't' })
      let mirror: number[] = []
      tracked.on('change', (d: Delta<readonly number[]>) => (mirror = applyListDelta(mirror, d)))
      tracked.applyRanges(tracked.decodeRanges(bytes))
      for (const l of [built, tracked]) checkInvariants(l)
      assert.deepEqual(built.toArray(), tracked.toArray(), `op ${i}`)
      assert.deepEqual(mirror, tracked.toArray(), `op ${i}, deltas`)
      assert.deepEqual(built.encodeState(), tracked.encodeState(), `op ${i}, state`)
      assert.deepEqual(blocksOf(built), blocksOf(tracked), `op ${i}, blocks`)
      for (const l of [built, tracked]) {
        l.insert(Math.min(2, l.length), -1)
        if (l.length > 1) l.delete(l.length >> 1, 1)
        l.move(0, l.length - 1)
      }
      assert.deepEqual(built.toArray(), tracked.toArray(), `op ${i}, edited`)
      checkInvariants(built)
    }
  })
})

test('List state round-trips and is registered under ListTypeId', () => {
  const a = new List({ id: 'a' })
  a.push({ k: [1, 'two', null] }, new Uint8Array([1, 2]), true)
  a.move(2, 0)
  const b = createReplica(ListTypeId, { id: 'b' }) as List
  b.applyState(a.encodeState())
  assert.deepEqual(b.toArray(), a.toArray())
  assert.deepEqual(b.encodeState(), a.encodeState())
})

test('a move of a missing or non-element slot is refused', () => {
  const a = new List<number>({ id: 'a' })
  a.push(1, 2)
  a.move(0, 1) // a:3 is a move slot, not an element
  const before = a.encodeState()
  const errors: HearsayError[] = []
  a.on('rejected', (e: HearsayError) => errors.push(e))
  a.applyRanges([{ source: 'e' as never, from: 0, to: 1, updates: [{ source: 'e' as never, seq: 1, time: 1, op: { parts: [{ kind: 2, len: 1, left: null, right: null, elem: { src: 'a', n: 3 }, time: 5 }] } }] }])
  a.applyRanges([{ source: 'e' as never, from: 0, to: 1, updates: [{ source: 'e' as never, seq: 1, time: 1, op: { parts: [{ kind: 0, len: 1, left: null, right: null, segs: ['text'] as never }] } }] }])
  assert.equal(errors.length, 2)
  for (const e of errors) assert.equal(e.code, ErrorCodes.INVALID_UPDATE)
  assert.deepEqual(a.encodeState(), before)
})
