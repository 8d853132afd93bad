import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import * as fc from 'fast-check'
import { ErrorCodes, HearsayError, createReplica, encoding, toReplicaId, TextTypeId, type Range } from '@hearsay/core'
import { checkConvergence, withSeed, prng } from '@hearsay/core/testing'
import { checkInvariants, Text, applyTextDelta, type Delta, type SeqOp } from '@hearsay/seq'
import { blocksOf, randomSeqOp } from './helpers.ts'

type TextOp = { kind: 'ins'; at: number; text: string } | { kind: 'del'; at: number; n: number }

const textOp: fc.Arbitrary<TextOp> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('ins' as const), at: fc.nat(), text: fc.constantFrom('a', 'bc', 'xyz', 'é', '😀', 'hello ') }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('del' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 4 }) }) },
)

// Picks indices that never split a surrogate pair, so every op is valid.
function safeIndex(t: Text, at: number): number {
  const s = t.toString()
  let i = at % (s.length + 1)
  if (i > 0 && i < s.length && s.charCodeAt(i - 1) >= 0xd800 && s.charCodeAt(i - 1) <= 0xdbff) i--
  return i
}

function applyTextOp(t: Text, op: TextOp): void {
  if (op.kind === 'ins') t.insert(safeIndex(t, op.at), op.text)
  else {
    if (t.length === 0) return
    const i = safeIndex(t, op.at % t.length)
    let end = Math.min(t.length, i + op.n)
    end = safeIndex(t, end)
    if (end > i) t.delete(i, end - i)
  }
}

test('Text converges under random inserts and deletes over 2..5 replicas (with the invariant checker)', async () => {
  await checkConvergence((o) => new Text(o), textOp, { apply: applyTextOp, replicas: [2, 5], invariant: (t) => checkInvariants(t) })
})

test('Text basics: insert, delete, slice, toString, length', () => {
  const t = new Text({ id: 'a' })
  t.insert(0, 'hello')
  t.insert(5, ' world')
  t.delete(0, 1)
  t.insert(0, 'H')
  assert.equal(t.toString(), 'Hello world')
  assert.equal(t.length, 11)
  assert.equal(t.slice(6), 'world')
  assert.equal(t.slice(2, 4), 'll')
  assert.equal(t.toJSON(), 'Hello world')
  assert.throws(() => t.insert(12, 'x'), RangeError)
  assert.throws(() => t.delete(5, 7), RangeError)
  assert.throws(() => t.insert(0, 5 as unknown as string), TypeError)
})

test('typing stores one block per run, in memory and in the encoding', () => {
  const t = new Text({ id: 'a' })
  for (const ch of 'the quick brown fox') t.insert(t.length, ch)
  assert.equal(blocksOf(t).length, 1)
  const ranges = t.historySince()
  assert.equal(ranges.length, 1)
  assert.equal(ranges[0]!.updates.length, 1, 'history packs the run into one update')
  assert.equal(ranges[0]!.updates[0]!.len, 19)
  assert.equal(ranges[0]!.updates[0]!.op.parts.length, 1, 'and into one insert part')
})

test('concurrent words typed at the same place do not interleave', async () => {
  await withSeed('interleave', (rng) => {
    for (let round = 0; round < 20; round++) {
      const a = new Text({ id: `a${round}` })
      const b = new Text({ id: `b${round}` })
      a.insert(0, 'start end')
      b.applyState(a.encodeState())
      const at = prng.int32(rng, 0, 9)
      const w1 = 'alpha'
      const w2 = 'omega'
      // Each types its word character by character (one update per character).
      for (let i = 0; i < w1.length; i++) a.insert(at + i, w1[i]!)
      for (let i = 0; i < w2.length; i++) b.insert(at + i, w2[i]!)
      a.applyRanges(b.historySince(a.clock))
      b.applyRanges(a.historySince(b.clock))
      assert.equal(a.toString(), b.toString())
      const s = a.toString()
      assert.ok(s.includes(w1) && s.includes(w2), `words interleaved: ${s}`)
      // Also typing backwards (each char inserted at the same index) stays contiguous.
      const c = new Text({ id: 'c' })
      const d = new Text({ id: 'd' })
      for (const ch of 'xyz') c.insert(0, ch)
      for (const ch of 'uvw') d.insert(0, ch)
      c.applyRanges(d.historySince(c.clock))
      d.applyRanges(c.historySince(d.clock))
      assert.equal(c.toString(), d.toString())
      assert.ok(['zyxwvu', 'wvuzyx'].includes(c.toString()), c.toString())
    }
  })
})

test('surrogate pairs are never split', () => {
  const t = new Text({ id: 'a' })
  t.insert(0, 'a😀b')
  assert.equal(t.length, 4)
  assert.throws(() => t.insert(2, 'x'), RangeError)
  assert.throws(() => t.delete(1, 1), RangeError)
  assert.throws(() => t.delete(2, 1), RangeError)
  assert.throws(() => t.insert(0, '\ud83d'), TypeError)
  t.delete(1, 2)
  assert.equal(t.toString(), 'ab')
  t.insert(1, '👍🏽')
  const u = new Text({ id: 'b' })
  u.applyState(t.encodeState())
  assert.equal(u.toString(), 'a👍🏽b')
})

test('change deltas reproduce the text, locally and remotely', async () => {
  await withSeed('deltas', (rng) => {
    const a = new Text({ id: 'a' })
    const b = new Text({ id: 'b' })
    const mirrors = new Map<Text, string>([
      [a, ''],
      [b, ''],
    ])
    for (const t of [a, b]) t.on('change', (d: Delta<string>) => mirrors.set(t, applyTextDelta(mirrors.get(t)!, d)))
    for (let i = 0; i < 300; i++) {
      const t = prng.bool(rng) ? a : b
      if (t.length > 0 && prng.int32(rng, 0, 2) === 0) {
        const at = prng.int32(rng, 0, t.length - 1)
        t.delete(at, Math.min(t.length - at, prng.int32(rng, 1, 3)))
      } else t.insert(prng.int32(rng, 0, t.length), prng.word(rng, 1, 4))
      if (prng.int32(rng, 0, 5) === 0) {
        a.applyRanges(b.historySince(a.clock))
        b.applyRanges(a.historySince(b.clock))
      }
      assert.equal(mirrors.get(a), a.toString())
      assert.equal(mirrors.get(b), b.toString())
    }
  })
})

test('createReadStream → file bytes → createWriteStream reproduces the text', async () => {
  const a = new Text({ id: 'a' })
  a.insert(0, 'hello world')
  a.delete(0, 6)
  const chunks: Buffer[] = []
  const file = new PassThrough()
  file.on('data', (c: Buffer) => chunks.push(c))
  await new Promise<void>((resolve, reject) => {
    a.createReadStream().pipe(file).on('end', resolve).on('error', reject)
    file.resume()
  })
  const b = new Text({ id: 'b' })
  await new Promise<void>((resolve, reject) => {
    const ws = b.createWriteStream()
    ws.on('finish', resolve).on('error', reject)
    const src = new PassThrough()
    src.pipe(ws)
    src.end(Buffer.concat(chunks))
  })
  assert.equal(b.toString(), 'world')
  assert.deepEqual(b.encodeState(), a.encodeState())
})

test('Text is registered under TextTypeId', () => {
  const r = createReplica(TextTypeId, { id: 'x' })
  assert.ok(r instanceof Text)
})

function rangeOf(t: Text, op: SeqOp<string>, seq = 1, source = 'evil'): Range<SeqOp<string>>[] {
  return [{ source: source as never, from: seq - 1, to: seq - 1 + op.parts.reduce((n, p) => n + p.len, 0), updates: [{ source: source as never, seq, time: 1, op, ...(op.parts.reduce((n, p) => n + p.len, 0) > 1 ? { len: op.parts.reduce((n, p) => n + p.len, 0) } : {}) }] }]
}

test('a loaded op whose deletes name characters it placed visible, or partly deleted, still deletes them', () => {
  // A state carries each deleted character as a deleted segment, so a load answers most deletes
  // from a bitmap of those without looking them up. These ops (no honest history writes them)
  // name characters that arrived visible: the load must delete them as a live replica does.
  const ops: SeqOp<string>[] = [
    // Seqs 1..5 "hello", all visible; seq 6..7 deletes 2..3 ("el").
    // (A reference to the op's own source is relative: part seq - id seq.)
    { parts: [{ kind: 0, len: 5, left: null, right: null, segs: ['hello'] }, { kind: 1, len: 2, ranges: [{ start: 4, len: 2, dir: 1 }] }] },
    // Seqs 1..5: "he", two deleted, "o"; seq 6..8 deletes 3..5: two gone already, "o" visible.
    { parts: [{ kind: 0, len: 5, left: null, right: null, segs: ['he', 2, 'o'] }, { kind: 1, len: 3, ranges: [{ start: 3, len: 3, dir: 1 }] }] },
    // The same backwards (5, 4, 3), and a range that starts visible then runs into deleted ones (2..4).
    { parts: [{ kind: 0, len: 5, left: null, right: null, segs: ['he', 2, 'o'] }, { kind: 1, len: 3, ranges: [{ start: 1, len: 3, dir: -1 }] }] },
    { parts: [{ kind: 0, len: 5, left: null, right: null, segs: ['he', 2, 'o'] }, { kind: 1, len: 3, ranges: [{ start: 4, len: 3, dir: 1 }] }] },
    // 80 characters, deleted but for the first and the one at seq 70 (the third bitmap word); delete 2..80.
    { parts: [{ kind: 0, len: 80, left: null, right: null, segs: ['a', 68, 'b', 10] }, { kind: 1, len: 79, ranges: [{ start: 79, len: 79, dir: 1 }] }] },
  ]
  const want = ['hlo', 'he', 'he', 'ho', 'a']
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!
    // Through bytes, into an empty replica: the load path, checking while it applies.
    const loaded = new Text({ id: 'r' })
    const bytes = loaded.encodeRanges(rangeOf(loaded, op))
    assert.equal(loaded.applyRanges(loaded.decodeRanges(bytes)).applied, 1)
    // The same op applied as parts to a replica that already holds something else.
    const live = new Text({ id: 'z' })
    live.insert(0, '!')
    live.applyRanges(rangeOf(live, op))
    assert.equal(loaded.toString(), want[i], `op ${i}`)
    assert.equal(live.toString(), `${want[i]}!`, `op ${i}, live`)
    checkInvariants(loaded)
    // And the state the load wrote loads the same again.
    const again = new Text({ id: 's' })
    again.applyState(loaded.encodeState())
    assert.equal(again.toString(), want[i])
  }
})

test('a load builds the same document as placing each block in the tree (random ops of one source)', async () => {
  // A load into an empty Text without change listeners chains the blocks in document order and
  // builds the tree at the end; with a listener it places each block in the tree as it goes.
  // Both, from bytes and from parts, must give the same text, state and tree.
  await withSeed('load build', (rng) => {
    for (let i = 0; i < 300; i++) {
      const op = randomSeqOp(rng, (n) => prng.word(rng, n, n))
      const built = new Text({ id: 'r' })
      const bytes = built.encodeRanges(rangeOf(built, op))
      assert.equal(built.applyRanges(built.decodeRanges(bytes)).applied, 1)
      checkInvariants(built)
      const tracked = new Text({ id: 't' })
      let mirror = ''
      tracked.on('change', (d: Delta<string>) => (mirror = applyTextDelta(mirror, d)))
      tracked.applyRanges(tracked.decodeRanges(bytes))
      checkInvariants(tracked)
      const fromParts = new Text({ id: 'p' })
      fromParts.applyRanges(rangeOf(fromParts, op))
      checkInvariants(fromParts)
      assert.equal(built.toString(), tracked.toString(), `op ${i}`)
      assert.equal(mirror, tracked.toString(), `op ${i}, deltas`)
      assert.equal(fromParts.toString(), built.toString(), `op ${i}, parts`)
      assert.deepEqual(built.encodeState(), tracked.encodeState(), `op ${i}, state`)
      assert.deepEqual(fromParts.encodeState(), built.encodeState(), `op ${i}, parts state`)
      // Block for block (deleted neighbours merged as the tree does them).
      assert.deepEqual(blocksOf(built), blocksOf(tracked), `op ${i}, blocks`)
      // Editing the built document goes on as in the other one.
      for (const t of [built, tracked]) {
        t.insert(Math.min(3, t.length), 'Q')
        if (t.length > 1) t.delete(t.length >> 1, 1)
      }
      assert.equal(built.toString(), tracked.toString(), `op ${i}, edited`)
      checkInvariants(built)
    }
  })
})

test('malformed peer ops are refused with typed errors and leave the replica unchanged', () => {
  const t = new Text({ id: 'a' })
  t.insert(0, 'abcd')
  t.delete(3, 1) // a:5 is a delete, not a character
  const before = t.encodeState()
  const rejected: HearsayError[] = []
  t.on('rejected', (e: HearsayError) => rejected.push(e))
  // An insert next to something that is not a character.
  t.applyRanges(rangeOf(t, { parts: [{ kind: 0, len: 1, left: { src: 'a', n: 5 }, right: null, segs: ['x'] }] }))
  // A delete of a non-character.
  t.applyRanges(rangeOf(t, { parts: [{ kind: 1, len: 1, ranges: [{ start: { src: 'a', n: 5 }, len: 1, dir: 1 }] }] }))
  // A batch whose second part is bad must not apply its first part either.
  t.applyRanges(rangeOf(t, { parts: [{ kind: 0, len: 1, left: null, right: null, segs: ['x'] }, { kind: 1, len: 1, ranges: [{ start: { src: 'a', n: 4 }, len: 2, dir: 1 }] }] }))
  // Parts covering fewer seqs than the update.
  t.applyRanges([{ source: 'evil' as never, from: 0, to: 2, updates: [{ source: 'evil' as never, seq: 1, len: 2, time: 1, op: { parts: [{ kind: 0, len: 1, left: null, right: null, segs: ['x'] }] } }] }])
  // A move in a text.
  t.applyRanges(rangeOf(t, { parts: [{ kind: 2, len: 1, left: null, right: null, elem: { src: 'a', n: 1 }, time: 1 }] }))
  // A self-reference to a later seq of its own source.
  t.applyRanges(rangeOf(t, { parts: [{ kind: 0, len: 1, left: null, right: null, segs: ['x'] }, { kind: 1, len: 1, ranges: [{ start: { src: '', n: 1 }, len: 2, dir: 1 }] }] }))
  // A delete whose range runs from the update's own characters over one of its own deletes
  // (seqs 2..4 of: insert 1-2, delete 3, insert 4), as parts and read from bytes.
  const overDelete = rangeOf(t, {
    parts: [
      { kind: 0, len: 2, left: null, right: null, segs: ['xy'] },
      { kind: 1, len: 1, ranges: [{ start: 2, len: 1, dir: 1 }] },
      { kind: 0, len: 1, left: null, right: null, segs: ['z'] },
      { kind: 1, len: 3, ranges: [{ start: 3, len: 3, dir: 1 }] },
    ],
  })
  t.applyRanges(overDelete)
  t.applyRanges(t.decodeRanges(t.encodeRanges(overDelete)))
  assert.equal(rejected.length, 8)
  assert.equal(t.pendingCount, 0)
  for (const e of rejected) assert.equal(e.code, ErrorCodes.INVALID_UPDATE)
  assert.deepEqual(t.encodeState(), before)
  assert.equal(t.toString(), 'abc')
  checkInvariants(t)
  // A reference to a seq not seen yet waits in the causal buffer instead.
  t.applyRanges(rangeOf(t, { parts: [{ kind: 0, len: 1, left: { src: 'a', n: 99 }, right: null, segs: ['x'] }] }))
  assert.equal(t.pendingCount, 1)
  assert.equal(t.toString(), 'abc')
  // Undecodable bytes: typed decode errors with an offset.
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, 1)
  encoding.writeVarString(e, 'evil')
  encoding.writeVarUint(e, 0)
  encoding.writeVarUint(e, 1)
  encoding.writeVarUint(e, 1)
  encoding.writeVarUint(e, 4) // seq gap 0, flags: time
  encoding.writeVarInt(e, 5)
  encoding.writeVarUint(e, 0) // no sources
  encoding.writeVarUint(e, 1) // one part
  encoding.writeVarUint(e, 3) // unknown kind
  assert.throws(
    () => t.decodeRanges(encoding.toUint8Array(e)),
    (err: unknown) => err instanceof HearsayError && err.code === ErrorCodes.DECODE_ERROR && typeof err.offset === 'number',
  )
  // A text segment whose length disagrees with the count.
  const e2 = encoding.createEncoder()
  for (const v of [1]) encoding.writeVarUint(e2, v)
  encoding.writeVarString(e2, 'evil')
  for (const v of [0, 2, 1]) encoding.writeVarUint(e2, v)
  encoding.writeVarUint(e2, 4 + 2) // flags: time + len
  encoding.writeVarUint(e2, 2)
  encoding.writeVarInt(e2, 5)
  for (const v of [0, 1, 2 * 16, 1, 4]) encoding.writeVarUint(e2, v) // no sources, one part: insert of 2, one visible segment of 2
  encoding.writeVarString(e2, 'xyz')
  assert.throws(() => t.decodeRanges(encoding.toUint8Array(e2)), (err: unknown) => err instanceof HearsayError && err.code === ErrorCodes.DECODE_ERROR)
})

test('a peer cannot split a surrogate pair or send a lone surrogate', () => {
  const t = new Text({ id: 'a' })
  t.insert(0, 'x😀y') // a:1 'x', a:2 high half, a:3 low half, a:4 'y'
  const before = t.encodeState()
  const errors: HearsayError[] = []
  t.on('rejected', (e: HearsayError) => errors.push(e))
  t.applyRanges(rangeOf(t, { parts: [{ kind: 0, len: 1, left: { src: 'a', n: 2 }, right: { src: 'a', n: 3 }, segs: ['!'] }] }))
  t.applyRanges(rangeOf(t, { parts: [{ kind: 0, len: 1, left: null, right: null, segs: ['\ud83d'] }] }))
  assert.equal(errors.length, 2)
  for (const e of errors) assert.equal(e.code, ErrorCodes.INVALID_UPDATE)
  assert.deepEqual(t.encodeState(), before)
  // Next to the pair is fine.
  t.applyRanges(rangeOf(t, { parts: [{ kind: 0, len: 1, left: { src: 'a', n: 3 }, right: { src: 'a', n: 4 }, segs: ['!'] }] }))
  assert.equal(t.toString(), 'x😀!y')
})

test('a block that overlaps what a replica has applies only its new part', () => {
  const a = new Text({ id: 'a' })
  const b = new Text({ id: 'b' })
  const live: Range<SeqOp<string>>[][] = []
  a.on('ranges', (r: Range<SeqOp<string>>[]) => live.push(r))
  for (const ch of 'hello') a.insert(a.length, ch)
  // b receives the first three characters one by one, then the whole packed history.
  for (const r of live.slice(0, 3)) b.applyRanges(r)
  assert.equal(b.toString(), 'hel')
  const packed = a.historySince()
  assert.equal(packed[0]!.updates.length, 1)
  b.applyRanges(packed)
  assert.equal(b.toString(), 'hello')
  assert.deepEqual(b.encodeState(), a.encodeState())
  checkInvariants(b)
})

test('references deep inside a many-part update are checked against the right part', () => {
  // One update of 43 parts: 'a' (seq 1), a delete of it (seq 2), then 40 one-character inserts
  // at the document start (seqs 3..42), then a last part (seq 43) that refers far back.
  const parts = (last: SeqOp<string>['parts'][number]): SeqOp<string> => {
    const ps: Array<SeqOp<string>['parts'][number]> = [
      { kind: 0, len: 1, left: null, right: null, segs: ['a'] },
      { kind: 1, len: 1, ranges: [{ start: { src: '', n: 1 }, len: 1, dir: 1 }] },
    ]
    for (let i = 0; i < 40; i++) ps.push({ kind: 0, len: 1, left: null, right: null, segs: [String.fromCharCode(66 + (i % 26))] })
    ps.push(last)
    return { parts: ps }
  }
  const refused = (last: SeqOp<string>['parts'][number]) => {
    const t = new Text({ id: 'r' })
    const rejected: HearsayError[] = []
    t.on('rejected', (e: HearsayError) => rejected.push(e))
    t.applyRanges(rangeOf(t, parts(last)))
    if (rejected.length > 0) {
      assert.equal(rejected[0]!.code, ErrorCodes.INVALID_UPDATE)
      assert.equal(t.toString(), '')
      assert.equal(t.clock.get('evil'), 0)
      return true
    }
    checkInvariants(t)
    return false
  }
  // Left origin 41 seqs back: seq 2, the delete part, is not a character.
  assert.equal(refused({ kind: 0, len: 1, left: { src: '', n: 41 }, right: null, segs: ['x'] }), true)
  // 42 back: seq 1, a (deleted) character; 40 back: seq 3.
  assert.equal(refused({ kind: 0, len: 1, left: { src: '', n: 42 }, right: null, segs: ['x'] }), false)
  assert.equal(refused({ kind: 0, len: 1, right: { src: '', n: 40 }, left: null, segs: ['x'] }), false)
  // Deletes spanning many insert parts (seqs 3..42) are fine; one that reaches seq 2 is not.
  assert.equal(refused({ kind: 1, len: 40, ranges: [{ start: { src: '', n: 40 }, len: 40, dir: 1 }] }), false)
  assert.equal(refused({ kind: 1, len: 40, ranges: [{ start: { src: '', n: 1 }, len: 40, dir: -1 }] }), false)
  assert.equal(refused({ kind: 1, len: 41, ranges: [{ start: { src: '', n: 41 }, len: 41, dir: 1 }] }), true)
  assert.equal(refused({ kind: 1, len: 41, ranges: [{ start: { src: '', n: 1 }, len: 41, dir: -1 }] }), true)
  // A delete of its own later seq.
  assert.equal(refused({ kind: 1, len: 1, ranges: [{ start: { src: 'evil', n: 43 }, len: 1, dir: 1 }] }), true)
  // The accepted update ends with the text it describes (inserts with equal origins from one
  // source go in seq order; the last part deletes seqs 42, 41, 40).
  const t = new Text({ id: 'r' })
  t.applyRanges(rangeOf(t, parts({ kind: 1, len: 3, ranges: [{ start: { src: '', n: 1 }, len: 3, dir: -1 }] })))
  let expected = ''
  for (let i = 0; i < 40; i++) expected += String.fromCharCode(66 + (i % 26))
  assert.equal(t.toString(), expected.slice(0, 37))
})

test('an empty replica checks a loaded op while applying it, and a refused one leaves it empty', () => {
  // Into an empty sequence references are checked during apply (no separate pass): every way a
  // reference can be wrong, in the last part of an op whose earlier parts are fine, must still
  // refuse the whole op, drop what those parts placed, and emit no change.
  const good: SeqOp<string>['parts'] = [
    { kind: 0, len: 3, left: null, right: null, segs: ['abc'] },
    { kind: 0, len: 2, left: { src: '', n: 2 }, right: { src: '', n: 1 }, segs: ['de'] },
    { kind: 1, len: 1, ranges: [{ start: { src: '', n: 4 }, len: 1, dir: 1 }] },
  ]
  const bad: Array<SeqOp<string>['parts'][number]> = [
    // Left origin on the delete part (seq 6), right origin on it, right origin past the end.
    { kind: 0, len: 1, left: { src: '', n: 1 }, right: null, segs: ['x'] },
    { kind: 0, len: 1, left: null, right: { src: '', n: 1 }, segs: ['x'] },
    { kind: 0, len: 1, left: { src: '', n: 2 }, right: { src: 'evil', n: 99 }, segs: ['x'] },
    // After the last character (nothing to scan past, so placing it never looks right up).
    { kind: 0, len: 1, left: { src: '', n: 4 }, right: { src: '', n: 1 }, segs: ['x'] },
    // A delete of the delete part; a delete reaching its own seq.
    { kind: 1, len: 1, ranges: [{ start: { src: '', n: 1 }, len: 1, dir: 1 }] },
    { kind: 1, len: 2, ranges: [{ start: { src: '', n: 2 }, len: 2, dir: 1 }] },
    // A lone surrogate (content is checked before anything is placed).
    { kind: 0, len: 1, left: null, right: null, segs: ['\udc00'] },
  ]
  const empty = new Text({ id: 'r' }).encodeState()
  // Each bad op as objects, and as bytes (an op read from bytes is applied straight from them).
  const cases = bad.flatMap((last, i) => [
    { i, bytes: false, last },
    { i, bytes: true, last },
  ])
  for (const { i, bytes, last } of cases) {
    const t = new Text({ id: 'r' })
    const rejected: HearsayError[] = []
    const changes: unknown[] = []
    t.on('rejected', (e: HearsayError) => rejected.push(e))
    t.on('change', (d: unknown) => changes.push(d))
    const ranges = rangeOf(t, { parts: [...good, last] })
    if (!bytes) t.applyRanges(ranges)
    else if (last.kind === 0 && last.segs[0] === '\udc00') continue // not encodable: UTF-8 has no lone surrogates
    else t.applyRanges(t.decodeRanges(t.encodeRanges(ranges)))
    assert.equal(rejected.length, 1, `bad part ${i} refused (${bytes ? 'bytes' : 'objects'})`)
    assert.equal(rejected[0]!.code, ErrorCodes.INVALID_UPDATE)
    assert.equal(t.toString(), '')
    assert.equal(t.length, 0)
    assert.deepEqual(changes, [])
    assert.deepEqual(t.encodeState(), empty)
    checkInvariants(t)
    // The replica is still usable: the good op loads, then local edits go on.
    t.applyRanges(rangeOf(t, { parts: good }))
    assert.equal(t.toString(), 'adec') // 'de' between b and c, then b deleted
    checkInvariants(t)
    const ref = new Text({ id: 'q' })
    ref.applyRanges(rangeOf(ref, { parts: good }))
    assert.equal(t.toString(), ref.toString())
    assert.deepEqual(t.encodeState(), ref.encodeState())
    t.insert(0, '>')
    assert.equal(t.toString(), '>' + ref.toString())
  }
})

test('segments read from bytes that cut a surrogate pair in two are refused', () => {
  // The two halves travel as one well-formed string ('😀'); the segment counts cut it between
  // them. Into an empty replica (applied straight from the bytes) and into one with text.
  for (const start of ['', 'abc']) {
    const t = new Text({ id: 'r' })
    if (start !== '') t.insert(0, start)
    const before = t.encodeState()
    const rejected: HearsayError[] = []
    t.on('rejected', (e: HearsayError) => rejected.push(e))
    const op: SeqOp<string> = { parts: [{ kind: 0, len: 2, left: null, right: null, segs: ['\ud83d', 1] }, { kind: 0, len: 1, left: 1, right: null, segs: ['\ude00'] }] }
    const ranges = rangeOf(t, op)
    t.applyRanges(t.decodeRanges(t.encodeRanges(ranges)))
    assert.equal(rejected.length, 1)
    assert.equal(rejected[0]!.code, ErrorCodes.INVALID_UPDATE)
    assert.deepEqual(t.encodeState(), before)
    checkInvariants(t)
  }
})

test("a peer's delete of half a surrogate pair takes the whole pair, the same on every replica", () => {
  // a:1 'x', a:2 high half, a:3 low half, a:4 'y'. Honest replicas never send such deletes
  // (the API refuses indices inside a pair); a faulty one must not leave a lone surrogate.
  const cases: Array<[string, SeqOp<string>]> = [
    ['the high half', { parts: [{ kind: 1, len: 1, ranges: [{ start: { src: 'a', n: 2 }, len: 1, dir: 1 }] }] }],
    ['the low half', { parts: [{ kind: 1, len: 1, ranges: [{ start: { src: 'a', n: 3 }, len: 1, dir: 1 }] }] }],
    ['x and the high half', { parts: [{ kind: 1, len: 2, ranges: [{ start: { src: 'a', n: 1 }, len: 2, dir: 1 }] }] }],
    ['the low half and y, backwards', { parts: [{ kind: 1, len: 2, ranges: [{ start: { src: 'a', n: 4 }, len: 2, dir: -1 }] }] }],
  ]
  for (const [what, op] of cases) {
    const a = new Text({ id: 'a' })
    a.insert(0, 'x😀y')
    const b = a.clone()
    const changes: Delta<string>[] = []
    let seen = a.toString()
    a.on('change', (d: Delta<string>) => {
      changes.push(d)
      seen = applyTextDelta(seen, d)
    })
    const bad = rangeOf(a, op, 1, 'evil')
    a.applyRanges(a.decodeRanges(a.encodeRanges(bad)))
    const text = a.toString()
    assert.ok((text as unknown as { isWellFormed(): boolean }).isWellFormed(), `deleting ${what} left ${JSON.stringify(text)}`)
    assert.ok(!text.includes('😀'), `deleting ${what} takes the pair`)
    assert.equal(seen, text, 'the change deltas follow')
    checkInvariants(a)
    // b deletes the whole pair itself first, then gets the faulty delete: same text, same state.
    b.delete(1, 2)
    b.applyRanges(b.decodeRanges(b.encodeRanges(bad)))
    a.applyRanges(b.historySince(a.clock))
    b.applyRanges(a.historySince(b.clock))
    assert.equal(a.toString(), b.toString())
    assert.deepEqual(a.encodeState(), b.encodeState())
    // A replica that loads the state sees the same text.
    const c = new Text({ id: 'c' })
    c.applyState(a.encodeState())
    assert.equal(c.toString(), a.toString())
  }
})

test('a run cut into hundreds of fragments stays findable through edits, merges of deleted fragments and reloads', async () => {
  // One pasted run (a:1..600) edited all over by two replicas: lookups into it go through the
  // run's fragment index (built once a chain walk gets long), which splits, merges of deleted
  // neighbours and new fragments must keep in step with the chain (checkInvariants compares them).
  await withSeed('fragments', (rng) => {
    const a = new Text({ id: 'a' })
    let paste = ''
    for (let i = 0; i < 600; i++) paste += String.fromCharCode(97 + (i % 26))
    a.insert(0, paste)
    const c = new Text({ id: 'c' })
    c.applyRanges(a.historySince(c.clock))
    // c cuts the run into 60 fragments and deletes its last character; a, not knowing, types
    // on at the end, which continues its run: at c that run then gets a new fragment at its tail.
    c.delete(c.length - 1, 1)
    for (let i = 580; i >= 0; i -= 20) c.delete(i, 1)
    a.insert(a.length, 'Q')
    c.applyRanges(a.historySince(c.clock))
    a.applyRanges(c.historySince(a.clock))
    assert.equal(a.toString(), c.toString())
    checkInvariants(c)
    for (let round = 0; round < 30; round++) {
      for (const t of [a, c]) {
        for (let k = 0; k < 20; k++) {
          const n = t.length
          if (n > 0 && prng.bool(rng)) {
            const i = prng.int32(rng, 0, n - 1)
            t.delete(i, Math.min(n - i, prng.int32(rng, 1, 3)))
          } else t.insert(prng.int32(rng, 0, n), prng.bool(rng) ? 'X' : 'YZ')
        }
        checkInvariants(t)
      }
      a.applyRanges(c.historySince(a.clock))
      c.applyRanges(a.historySince(c.clock))
      assert.equal(a.toString(), c.toString())
      checkInvariants(a)
      checkInvariants(c)
    }
    // Backspacing through the paste merges the deleted fragments back together.
    a.delete(0, a.length)
    c.applyRanges(a.historySince(c.clock))
    assert.equal(c.toString(), '')
    checkInvariants(c)
    c.insert(0, 'end')
    a.applyRanges(c.historySince(a.clock))
    assert.equal(a.toString(), 'end')
    checkInvariants(a)
    // A reload integrates the same history from bytes and ends in the same state.
    const loaded = new Text({ id: 'l' })
    loaded.applyState(a.encodeState())
    checkInvariants(loaded)
    assert.equal(loaded.toString(), 'end')
    assert.deepEqual(loaded.encodeState(), a.encodeState())
  })
})

test('a malformed op handed to applyRanges in process is refused, not thrown, and changes nothing', () => {
  const t = new Text({ id: 'a' })
  t.insert(0, 'ab')
  const before = t.encodeState()
  const errors: HearsayError[] = []
  t.on('rejected', (e: HearsayError) => errors.push(e))
  // Not decoded, so never validated: the op has no parts for depsOf to read.
  const b = toReplicaId('b')
  const res = t.applyRanges([{ source: b, from: 0, to: 2, updates: [{ source: b, seq: 1, time: 1, op: { bogus: true } as never }, { source: b, seq: 2, time: 2, op: { bogus: true } as never }] }])
  assert.equal(res.refused, 2)
  assert.equal(errors.length, 1)
  assert.equal(errors[0]!.code, ErrorCodes.INVALID_UPDATE)
  assert.equal(t.clock.get('b'), 0)
  assert.deepEqual(t.encodeState(), before)
})
