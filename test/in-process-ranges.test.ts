// Ranges handed to applyRanges in process (built by hand, cloned through JSON or postMessage)
// are held to what the type's decoder holds bytes to: a malformed op is refused with a typed
// rejection and changes nothing, and whatever is applied replicates exactly (the state
// encodes and decodes back to what the replica shows).
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCodes, type HearsayError, type Replicated } from '@hearsay/core'
import { Doc, EventLog, GSet, LWWMap, LWWRegister, ORSet, PNCounter } from '@hearsay/model'
import { List, Text } from '@hearsay/seq'

type Any = Replicated<any> & { toJSON(): unknown }
const types: Array<[string, () => Any, (r: any) => void, unknown[]]> = [
  ['LWWMap', () => new LWWMap(), (r) => (r.set('k', { a: 1 }), r.delete('k')), [{ key: 5, value: 1 }, { key: 'k', value: () => 1 }, { key: 'k', value: new Date(0) }, { key: 'k', value: NaN }]],
  ['LWWRegister', () => new LWWRegister(), (r) => r.set({ a: 1 }), [() => 1, new Map(), Symbol('s'), 10n]],
  ['GSet', () => new GSet(), (r) => r.add('x'), [() => 1, [undefined], { a: undefined }]],
  ['ORSet', () => new ORSet(), (r) => (r.add('x'), r.delete('x')), [{ kind: 'add', value: () => 1 }, { kind: 'zap', value: 'x' }, 'add']],
  ['PNCounter', () => new PNCounter(), (r) => (r.increment(2), r.decrement(1)), ['x', 1.5, NaN, null, {}]],
  ['EventLog', () => new EventLog(), (r) => r.append({ a: 1 }), [new Date(0), { a: () => 1 }]],
  ['Doc', () => new Doc(), (r) => (r.add({ id: 'r1', a: 1 }), r.set('r1', { a: 2 })), [{ kind: 'set', id: 5, fields: [] }, { kind: 'zap', id: 'r1' }, { kind: 'set', id: 'r1', fields: [['a', () => 1]] }, { kind: 'set', id: 'r1', fields: [[1, 2]] }]],
  ['Text', () => new Text(), (r) => (r.insert(0, 'hello'), r.delete(1, 2)), [5, {}, { parts: 'x' }]],
  ['List', () => new List(), (r) => (r.insert(0, 1, 2, 3), r.move(0, 2), r.delete(1, 1)), [5, {}, null]],
]

function fresh(make: () => Any): { r: Any; rejected: HearsayError[] } {
  const r = make()
  const rejected: HearsayError[] = []
  r.on('rejected', (e: HearsayError) => rejected.push(e))
  return { r, rejected }
}

/** The state `r` shows is the state its encoding carries to a peer. */
function assertReplicates(make: () => Any, r: Any, what: string): void {
  const copy = make()
  copy.applyState(r.encodeState())
  assert.deepEqual(copy.toJSON(), r.toJSON(), `${what}: applied state does not replicate as shown`)
}

describe('applyRanges in process', () => {
  for (const [name, make, write, badOps] of types) {
    it(`${name}: a malformed op is refused, typed, and changes nothing`, () => {
      const a = make()
      write(a)
      const [h] = a.historySince()
      for (const op of badOps) {
        const { r: b, rejected } = fresh(make)
        const before = JSON.stringify(b.toJSON())
        const res = b.applyRanges([{ ...h!, updates: [{ ...h!.updates[0]!, op }, ...h!.updates.slice(1)] }])
        assert.equal(res.applied, 0, `${name}: applied ${String(typeof op === 'function' ? 'fn' : typeof op)} op`)
        assert.ok(res.refused >= 1)
        assert.equal(rejected.length, 1)
        assert.equal(rejected[0]!.code, ErrorCodes.INVALID_UPDATE)
        assert.equal(JSON.stringify(b.toJSON()), before)
        assert.equal(b.clock.get(h!.source), 0, 'the clock did not move')
        // The good history still applies afterwards.
        b.applyRanges(a.historySince())
        assert.deepEqual(b.toJSON(), a.toJSON())
      }
    })

    it(`${name}: a range cloned through JSON applies as the original, and is copied`, () => {
      const a = make()
      write(a)
      const cloned = JSON.parse(JSON.stringify(a.historySince()))
      const b = make()
      const res = b.applyRanges(cloned)
      assert.equal(res.refused, 0)
      assert.deepEqual(b.toJSON(), a.toJSON())
      // What was applied is hearsay's own copy: changing the caller's objects changes nothing.
      const shown = JSON.stringify(b.toJSON())
      for (const r of cloned) for (const u of r.updates) if (u.op !== null && typeof u.op === 'object') for (const k of Object.keys(u.op)) u.op[k] = 'changed'
      assert.equal(JSON.stringify(b.toJSON()), shown)
      assertReplicates(make, b, name)
    })
  }

  it('history handed out is frozen, so it cannot be changed after it was vouched for', () => {
    const a = new LWWMap()
    a.set('k', 1)
    const [r] = a.historySince()
    assert.ok(Object.isFrozen(r) && Object.isFrozen(r!.updates))
    assert.throws(() => (r!.updates as unknown[]).push({}), TypeError)
  })

  it('not an array, or a range that is not an object, is refused without a throw', () => {
    const { r: b, rejected } = fresh(() => new LWWMap())
    assert.equal(b.applyRanges(null as never).refused, 1)
    assert.equal(b.applyRanges([null, 5, { source: 'x', from: 0, to: 1, updates: 'no' }] as never).refused, 3)
    assert.equal(rejected.length, 4)
    assert.ok(rejected.every((e) => e.code === ErrorCodes.INVALID_UPDATE))
  })

  it('seeded: any field of any op replaced by any kind of value never throws, and what applies replicates', () => {
    const kinds: unknown[] = [5, -1, 1.5, 'x', '', '\ud800', { ['\udc00']: 1 }, null, undefined, true, {}, [], [1], () => 1, Symbol('s'), 10n, new Date(0), new Map(), NaN, Infinity, new Uint8Array(2), Object.create(null)]
    let seed = Number(process.env.SEED ?? 20261204)
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32)
    const startSeed = seed
    for (const [name, make, write] of types) {
      const a = make()
      write(a)
      const [h] = a.historySince()
      for (let n = 0; n < 60; n++) {
        const ui = Math.floor(rand() * h!.updates.length)
        const op = h!.updates[ui]!.op as unknown
        const v = kinds[Math.floor(rand() * kinds.length)]
        const keys = op !== null && typeof op === 'object' ? Object.keys(op) : []
        const next = keys.length === 0 || rand() < 0.3 ? v : { ...(op as object), [keys[Math.floor(rand() * keys.length)]!]: v }
        const b = make()
        try {
          b.applyRanges([{ ...h!, updates: h!.updates.map((u, i) => (i === ui ? { ...u, op: next } : u)) }])
          assertReplicates(make, b, `${name} case ${n}`)
        } catch (err) {
          assert.fail(`${name} case ${n} (SEED=${startSeed}): ${(err as Error).message}`)
        }
      }
    }
  })
})
