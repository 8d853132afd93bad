import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fc from 'fast-check'
import { decodeWith, encodeWith, encoding, decoding, readBoundedString, testSeed } from './helpers.ts'
import { ErrorCodes, HearsayError } from '@hearsay/core'
import { prng, withSeed } from '@hearsay/core/testing'
import { readSeqOp, writeSeqOp, type ContentCodec, type Part, type Ref, type SeqOp } from '../src/ops.ts'
import { SourceLog, appendDelRange, pushRange } from '../src/internal.ts'

const textCodec: ContentCodec<string> = {
  write: (e, cs) => encoding.writeVarString(e, cs.join('')),
  read: (d, counts) => {
    const s = readBoundedString(d, 1 << 20)
    const out: string[] = []
    let at = 0
    for (const n of counts) {
      out.push(s.slice(at, at + n))
      at += n
    }
    if (at !== s.length) throw new RangeError('length mismatch')
    return out
  },
  length: (c) => c.length,
}

// References to the op's own source are numbers (the form the decoder gives back).
// Integers around the var-uint byte boundaries (the reader reads one to three bytes inline).
const boundary = fc.constantFrom(127, 128, 16383, 16384, 2 ** 21 - 1, 2 ** 21, 2 ** 28 - 1, 2 ** 28, 2 ** 35)
const ref: fc.Arbitrary<Ref> = fc.oneof(
  fc.integer({ min: 1, max: 1000 }),
  boundary,
  fc.integer({ min: 1, max: 2 ** 24 }),
  fc.record({ src: fc.constantFrom('alice', 'bob', 'carol'), n: fc.oneof(fc.integer({ min: 1, max: 2 ** 40 }), boundary) }),
)
const seg: fc.Arbitrary<string | number> = fc.oneof(fc.string({ minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 50 }))
const part: fc.Arbitrary<Part<string>> = fc.oneof(
  fc.record({ left: fc.option(ref, { nil: null }), right: fc.option(ref, { nil: null }), segs: fc.array(seg, { minLength: 1, maxLength: 4 }) }).map(
    ({ left, right, segs }) => ({ kind: 0 as const, len: segs.reduce<number>((n, s) => n + (typeof s === 'number' ? s : s.length), 0), left, right, segs }),
  ),
  fc.array(fc.record({ start: ref, len: fc.oneof(fc.integer({ min: 1, max: 20 }), boundary), dir: fc.constantFrom(1 as const, -1 as const) }), { minLength: 1, maxLength: 3 }).map((ranges) => ({
    kind: 1 as const,
    len: ranges.reduce((n, r) => n + r.len, 0),
    ranges: ranges.map((r) => (r.dir === -1 && typeof r.start !== 'number' && r.start.n < r.len ? { ...r, dir: 1 as const } : r)),
  })),
  fc.record({ left: fc.option(ref, { nil: null }), right: fc.option(ref, { nil: null }), elem: ref, time: fc.integer({ min: 0, max: 2 ** 52 }) }).map((m) => ({ kind: 2 as const, len: 1 as const, ...m })),
)

test('ops round-trip through their bytes', () => {
  fc.assert(
    fc.property(fc.array(part, { minLength: 1, maxLength: 6 }), (parts) => {
      const op: SeqOp<string> = { parts }
      const bytes = encodeWith((e) => writeSeqOp(e, op, textCodec))
      const back = decodeWith(bytes, (d: decoding.Decoder) => readSeqOp(d, textCodec, true))
      // Plain data on both sides (fast-check records have no prototype).
      assert.deepEqual(JSON.parse(JSON.stringify(back.parts)), JSON.parse(JSON.stringify(parts)))
    }),
    { seed: testSeed(), numRuns: 300 },
  )
})

test('damaged op bytes are refused with a typed error, or read back whole by both readers', () => {
  // readSeqOp checks the parts in one pass (skimParts) and the engine reads them again later
  // (PartReader): whatever the first accepts, the second must read without throwing.
  fc.assert(
    fc.property(fc.array(part, { minLength: 1, maxLength: 6 }), fc.array(fc.tuple(fc.nat(), fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 5, 127, 128, 255), fc.integer({ min: 0, max: 255 }))), { minLength: 1, maxLength: 3 }), (parts, damage) => {
      const bytes = encodeWith((e) => writeSeqOp(e, { parts }, textCodec))
      for (const [at, v] of damage) bytes[at % bytes.length] = v
      let back
      try {
        back = decodeWith(bytes, (d: decoding.Decoder) => readSeqOp(d, textCodec, true))
      } catch (err) {
        assert.ok(err instanceof HearsayError && err.code === ErrorCodes.DECODE_ERROR, `not a decode error: ${err}`)
        return
      }
      const read = back.parts
      assert.equal(read.length, back.count)
      assert.equal(read.reduce((n, p) => n + p.len, 0), back.length)
      assert.equal(read.some((p) => p.kind === 2), back.hasMove)
      assert.equal(read[0]!.kind, back.firstKind)
    }),
    { seed: testSeed(), numRuns: 2000 },
  )
})

test("a reference to the op's own source written as { src: '', n } reads back as the number n", () => {
  const op: SeqOp<string> = {
    parts: [
      { kind: 0, len: 2, left: null, right: null, segs: ['ab'] },
      { kind: 0, len: 1, left: { src: '', n: 1 }, right: { src: '', n: 2 }, segs: ['c'] },
      { kind: 1, len: 1, ranges: [{ start: { src: '', n: 3 }, len: 1, dir: 1 }] },
    ],
  }
  const bytes = encodeWith((e) => writeSeqOp(e, op, textCodec))
  const back = decodeWith(bytes, (d: decoding.Decoder) => readSeqOp(d, textCodec, true))
  const p1 = back.parts[1]!
  const p2 = back.parts[2]!
  assert.ok(p1.kind === 0 && p2.kind === 1)
  assert.equal(p1.left, 1)
  assert.equal(p1.right, 2)
  assert.equal(p2.ranges[0]!.start, 3)
  const numeric: SeqOp<string> = { parts: [op.parts[0]!, { ...p1 }, { ...p2 }] }
  assert.deepEqual(encodeWith((e) => writeSeqOp(e, numeric, textCodec)), bytes)
})

test('delete ranges merge forward and backward (backspacing is one range)', () => {
  const flat: number[] = []
  for (const s of [10, 9, 8, 7]) pushRange(flat, 0, s, 1, 1)
  assert.deepEqual(flat, [0, 10, 4, -1])
  pushRange(flat, 0, 20, 1, 1)
  pushRange(flat, 0, 21, 2, 1)
  assert.deepEqual(flat, [0, 10, 4, -1, 0, 20, 3, 1])
  pushRange(flat, 1, 23, 1, 1)
  assert.deepEqual(flat.slice(8), [1, 23, 1, 1])
})

test('a log finds the run holding any seq, whatever the lengths of its runs', async () => {
  // Checked against a plain scan, on logs of even, skewed and mixed run lengths (an interpolating
  // search, tried and dropped as slower, got these wrong in ways that random small logs missed).
  await withSeed('runIndexAt', (rng) => {
    const shapes: Array<[string, (i: number, n: number) => number]> = [
      ['even', () => 3],
      ['long then short', (i, n) => (i < n / 10 ? 5000 : 1)],
      ['short then long', (i, n) => (i < (n * 9) / 10 ? 1 : 5000)],
      ['random mixture', () => (prng.bool(rng) ? prng.int32(rng, 1, 3) : prng.int32(rng, 1, 5000))],
    ]
    for (const [shape, len] of shapes) {
      for (const n of [1, 2, 17, 18, 300]) {
        const a = new SourceLog<string>(0, 'a' as never)
        let seq = 1
        for (let i = 0; i < n; i++) {
          const l = len(i, n)
          a.addDelRun(seq, l)
          seq += l
        }
        let want = 0
        for (let s = 1; s < seq; s++) {
          while (want + 1 < n && a.starts[want + 1]! <= s) want++
          if (a.runIndexAt(s) !== want) assert.fail(`${shape}, ${n} runs: seq ${s} is in run ${want}, found ${a.runIndexAt(s)}`)
          if (a.runAt(s) !== a.runs[want]) assert.fail(`${shape}, ${n} runs: runAt(${s})`)
          if (a.rlenAt(want) !== len(want, n) && shape !== 'random mixture') assert.fail(`${shape}: length of run ${want}`)
        }
        assert.equal(a.runAt(seq), undefined)
        assert.equal(a.runAt(0), undefined)
      }
    }
    // A log that grows between lookups, some of them into its last run (as history does): the
    // lookup table behind runIndexAt must never hold an entry a later run would change.
    const a = new SourceLog<string>(0, 'a' as never)
    let seq = 1
    for (let i = 0; i < 400; i++) {
      const l = prng.bool(rng) ? prng.int32(rng, 1, 3) : prng.int32(rng, 1, 300)
      a.addDelRun(seq, l)
      seq += l
      for (let q = 0; q < 3; q++) {
        const s = q === 0 ? seq - 1 : prng.int32(rng, 1, seq - 1)
        let want = a.runs.length - 1
        while (a.starts[want]! > s) want--
        if (a.runIndexAt(s) !== want) assert.fail(`growing log of ${i + 1} runs: seq ${s} is in run ${want}, found ${a.runIndexAt(s)}`)
      }
    }
  })
})

test('a delete run packs its ranges and gives back the ranges it was given, merged as pushRange merges them', async () => {
  // Ranges come from up to three sources, forward and backward, often continuing the one before
  // (typing over a selection, backspacing), with starts past 2^31 and lengths past 2^21 now and
  // then, so every branch of the packing (one word or three a range) is taken. Each
  // round's source (a) writes a delete run after another run's record.
  await withSeed('delete-run-packing', (rng) => {
    for (let round = 0; round < 300; round++) {
      const a = new SourceLog<string>(round % 3, 'a' as never)
      const before = a.addDelRun(1, 1)
      appendDelRange(a, before, 2, 77, 1, 1)
      const run = a.addDelRun(2, 1)
      const want: number[] = []
      let ag = 0
      let st = 1000
      for (let i = prng.int32(rng, 1, 40); i > 0; i--) {
        const r = prng.int32(rng, 0, 9)
        // Now and then a range near 2^21 ids, whose length no longer fits the one-word form.
        const len = r === 9 ? prng.int32(rng, 2 ** 21 - 2, 2 ** 21 + 2) : prng.int32(rng, 1, 4)
        const dir = prng.bool(rng) ? 1 : -1
        if (r < 2) ag = prng.int32(rng, 0, 2)
        if (r < 4) st = prng.int32(rng, 1, 2 ** 32)
        else st = dir === 1 ? st + 1 : Math.max(1, st - 1)
        appendDelRange(a, run, ag, st, len, dir)
        pushRange(want, ag, st, len, dir)
        st = dir === 1 ? st + len - 1 : Math.max(len, st - len + 1)
      }
      assert.deepEqual(a.delRanges(run), want, `round ${round}`)
      assert.deepEqual(a.delRanges(before), [2, 77, 1, 1], `round ${round}: the record before`)
    }
  })
})
