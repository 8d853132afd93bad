import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fc from 'fast-check'
import * as Y from 'yjs'
import { ErrorCodes, YDocTypeId, createReplica, getType, isHearsayError, type Range } from '@hearsay/core'
import { checkConvergence, withSeed, prng } from '@hearsay/core/testing'
import { YDOC_BLOCK, YDocReplica } from '@hearsay/adapters/yjs'

type YOp =
  | { kind: 'insert'; pos: number; text: string }
  | { kind: 'delete'; pos: number; len: number }
  | { kind: 'set'; key: string; value: number | string }
  | { kind: 'unset'; key: string }

const yop: fc.Arbitrary<YOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('insert' as const), pos: fc.nat(), text: fc.string({ minLength: 1, maxLength: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), pos: fc.nat(), len: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('set' as const), key: fc.constantFrom('a', 'b', 'c'), value: fc.oneof(fc.integer(), fc.string({ maxLength: 3 })) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unset' as const), key: fc.constantFrom('a', 'b', 'c') }) },
)

function applyYOp(r: YDocReplica, op: YOp): void {
  const t = r.doc.getText('t')
  const m = r.doc.getMap('m')
  if (op.kind === 'insert') t.insert(op.pos % (t.length + 1), op.text)
  else if (op.kind === 'delete') {
    if (t.length > 0) {
      const at = op.pos % t.length
      t.delete(at, Math.min(op.len, t.length - at))
    }
  } else if (op.kind === 'set') m.set(op.key, op.value)
  else m.delete(op.key)
}

// Y.Map lists keys in the order each replica first saw them: compare them sorted.
const value = (r: YDocReplica) => ({ t: r.doc.getText('t').toString(), m: Object.fromEntries(Object.entries(r.doc.getMap('m').toJSON()).sort(([a], [b]) => (a < b ? -1 : 1))) })

test('YDocReplica is registered under YDocTypeId', () => {
  assert.equal(getType(YDocTypeId), YDocReplica)
  assert.ok(createReplica(YDocTypeId) instanceof YDocReplica)
})

test('YDocReplica passes the convergence laws with random Y.Text and Y.Map edits', async () => {
  await checkConvergence((o) => new YDocReplica(o), yop, { apply: applyYOp, value, maxSteps: 80 })
})

test('YDocReplica converges with bursts of writes that complete merged blocks', async () => {
  await checkConvergence((o) => new YDocReplica(o), fc.array(yop, { minLength: 10, maxLength: 40 }), {
    apply: (r, ops) => ops.forEach((op) => applyYOp(r, op)),
    value,
    numRuns: Number(process.env['HEARSAY_RUNS']) || 25,
    maxSteps: 40,
  })
})

test('toJSON lists map keys in code-unit order, whatever order the replica saw them in', () => {
  const a = new YDocReplica({ id: 'a' })
  a.doc.getMap('m').set('b', 1)
  a.doc.getMap('m').set('a', { z: 1, y: 2 })
  assert.equal(JSON.stringify(a.toJSON()), '{"m":{"a":{"y":2,"z":1},"b":1}}')
  a.dispose()
})

test('two Y.Docs converge through createStream, both ways and live', async () => {
  const a = new YDocReplica({ id: 'a' })
  const b = new YDocReplica({ id: 'b' })
  a.doc.getText('t').insert(0, 'hello')
  b.doc.getMap('m').set('k', 1)
  const sa = a.createStream()
  const sb = b.createStream()
  sa.pipe(sb).pipe(sa)
  await new Promise((r) => sb.once('sync', r))
  await new Promise((r) => setImmediate(r))
  assert.equal(b.doc.getText('t').toString(), 'hello')
  assert.deepEqual(a.doc.getMap('m').toJSON(), { k: 1 })
  b.doc.getText('t').insert(5, ' world')
  await new Promise((r) => setTimeout(r, 10))
  assert.equal(a.doc.getText('t').toString(), 'hello world')
  // A remote update is never re-emitted as a local one.
  assert.equal(a.clock.get(a.id), 1)
  assert.equal(b.clock.get(b.id), 2)
  sa.destroy()
  sb.destroy()
})

test('three replicas edit Y.Text concurrently over shuffled, duplicated, lossy delivery and converge', async () => {
  await withSeed('ydoc three replicas', async (rng) => {
    const rs = ['a', 'b', 'c'].map((id) => new YDocReplica({ id }))
    const inbox: Array<Array<Uint8Array>> = [[], [], []]
    rs.forEach((r, i) =>
      r.on('ranges', (ranges: Range<Uint8Array>[], origin: unknown) => {
        if (origin !== 'local') return
        const bytes = r.encodeRanges(ranges)
        for (let j = 0; j < 3; j++) if (j !== i) inbox[j]!.push(bytes)
      }),
    )
    for (let step = 0; step < 600; step++) {
      const i = prng.uint32(rng, 0, 2)
      const r = rs[i]!
      const t = r.doc.getText('t')
      if (prng.bool(rng) || inbox[i]!.length === 0) {
        if (t.length > 0 && prng.uint32(rng, 0, 3) === 0) t.delete(prng.uint32(rng, 0, t.length - 1), 1)
        else t.insert(prng.uint32(rng, 0, t.length), prng.word(rng, 1, 3))
      } else {
        const box = inbox[i]!
        const k = prng.uint32(rng, 0, box.length - 1)
        const bytes = box[k]!
        const roll = prng.uint32(rng, 0, 9)
        if (roll > 0) r.applyRanges(r.decodeRanges(bytes), 'net')
        // 10% lost, 20% duplicated (left in the inbox to arrive again).
        if (roll === 0 || roll > 2) box.splice(k, 1)
      }
    }
    // Heal with digest exchanges.
    for (let round = 0; round < 3; round++)
      for (const x of rs) for (const y of rs) if (x !== y) y.applyRanges(y.decodeRanges(x.encodeRanges(x.historySince(y.clock))), 'net')
    const text = rs[0]!.doc.getText('t').toString()
    assert.ok(text.length > 0)
    for (const r of rs) {
      assert.equal(r.doc.getText('t').toString(), text)
      assert.equal(r.pendingCount, 0)
      assert.deepEqual(r.encodeState(), rs[0]!.encodeState())
    }
    // Merging keeps history small: 600 steps of edits are held as a few blocks per source.
    assert.ok(rs[0]!.heldCount < 3 * 2 * YDOC_BLOCK, `held ${rs[0]!.heldCount} pieces`)
  })
})

test('YDocReplica wraps a document that already has content and restores from its state', () => {
  const doc = new Y.Doc()
  doc.getText('t').insert(0, 'before')
  const a = new YDocReplica({ id: 'a', doc })
  assert.equal(a.clock.get(a.id), 1)
  doc.getText('t').insert(6, '!')
  const b = new YDocReplica({ id: 'b' })
  b.applyState(a.encodeState())
  assert.equal(b.doc.getText('t').toString(), 'before!')
  a.dispose()
  assert.equal(doc.isDestroyed, false, 'a passed document is not destroyed')
  doc.getText('t').insert(0, 'x')
  assert.equal(a.clock.get(a.id), 2, 'a disposed replica no longer records edits')
})

test('YDocReplica refuses malformed Yjs updates and misaligned blocks whole', () => {
  const a = new YDocReplica({ id: 'a' })
  a.doc.getText('t').insert(0, 'ok')
  const b = new YDocReplica({ id: 'b' })
  const good = a.encodeRanges(a.historySince())
  // Corrupt the Yjs payload (after the range header): decoding must refuse it.
  const bad = good.slice()
  bad[bad.length - 3] = 0xff
  bad[bad.length - 4] = 0xff
  assert.throws(() => b.decodeRanges(bad), (e: unknown) => isHearsayError(e, ErrorCodes.DECODE_ERROR))
  const rejected: unknown[] = []
  b.on('rejected', (e) => rejected.push(e))
  const u = a.historySince()[0]!.updates[0]!
  b.applyRanges([{ source: a.id, from: 0, to: 3, updates: [{ ...u, len: 3 }] }])
  assert.equal(rejected.length, 1)
  assert.equal(b.doc.getText('t').toString(), '')
  b.applyRanges(b.decodeRanges(good))
  assert.equal(b.doc.getText('t').toString(), 'ok')
})

test('merged blocks are canonical: a replica fed single updates and one fed merged history encode the same bytes', () => {
  const a = new YDocReplica({ id: 'a' })
  const single = new YDocReplica({ id: 's' })
  const merged = new YDocReplica({ id: 'm' })
  a.on('ranges', (ranges: Range<Uint8Array>[]) => single.applyRanges(single.decodeRanges(a.encodeRanges(ranges))))
  const n = YDOC_BLOCK * YDOC_BLOCK + 44
  for (let i = 0; i < n; i++) a.doc.getText('t').insert(i % 7, String.fromCharCode(97 + (i % 26)))
  // 300 seqs = one block of 256 + two blocks of 16 + 12 single updates.
  assert.equal(a.heldCount, 1 + 2 + 12)
  merged.applyState(a.encodeState())
  assert.equal(single.heldCount, a.heldCount)
  assert.deepEqual(single.encodeState(), a.encodeState())
  assert.deepEqual(merged.encodeState(), a.encodeState())
  assert.equal(merged.doc.getText('t').toString(), a.doc.getText('t').toString())
  assert.equal(merged.clock.get(a.id), n)
})

test('a merged block that overlaps updates already held is announced as an encodable range', () => {
  const src = new YDocReplica({ id: 'src' })
  const b = new YDocReplica({ id: 'b' })
  const c = new YDocReplica({ id: 'c' })
  // b holds src's first 5 single updates, then receives src's merged block 1..16.
  const pieces: Range<Uint8Array>[] = []
  src.on('ranges', (r: Range<Uint8Array>[]) => pieces.push(...r))
  for (let i = 0; i < 5; i++) src.doc.getText('t').insert(0, 'y')
  for (const p of pieces) b.applyRanges(b.decodeRanges(src.encodeRanges([p])))
  for (let i = 5; i < YDOC_BLOCK; i++) src.doc.getText('t').insert(0, 'y')
  const announced: Range<Uint8Array>[] = []
  b.on('ranges', (r: Range<Uint8Array>[]) => announced.push(...r))
  b.applyRanges(b.decodeRanges(src.encodeRanges(src.historySince())))
  assert.equal(announced.length, 1)
  assert.equal(announced[0]!.updates[0]!.len, YDOC_BLOCK)
  // The announced piece must round-trip through the codec: a store or a peer receives it.
  c.applyRanges(c.decodeRanges(b.encodeRanges(announced)))
  assert.equal(c.doc.getText('t').toString(), src.doc.getText('t').toString())
  assert.deepEqual(c.encodeState(), src.encodeState())
})
