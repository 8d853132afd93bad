// The dependencies of an op read from bytes come from the checking pass (readSeqOp), so a load
// of a document of several writers never builds part objects to find them. They must be what
// the parts say: for every source an op references, the highest seq it names.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { prng, withSeed } from '@hearsay/core/testing'
import { List, Text, type SeqOp } from '@hearsay/seq'
import { opDeps } from '../src/internal.ts'

/** The dependencies read from the parts objects, as opDeps computes them for an op built in memory. */
function fromParts(op: SeqOp<unknown>, self: string): Map<string, number> {
  const copy = { parts: op.parts } as SeqOp<unknown>
  return new Map(opDeps(copy, self).map((d) => [d.source, d.seq]))
}

test('deps read with an op equal the deps its parts name (seeded concurrent writers, Text and List)', async () => {
  await withSeed('seq deps', async (gen) => {
    const rng = { int: (n: number) => prng.int32(gen, 0, n - 1), next: () => prng.real53(gen) }
    for (const make of [(id: string) => new Text({ id }), (id: string) => new List<number>({ id })] as const) {
      const writers = ['w0', 'w1', 'w2'].map((id) => make(id))
      for (let round = 0; round < 30; round++) {
        for (const w of writers) {
          for (let k = 0; k < 1 + rng.int(5); k++) {
            const len = w.length
            if (len > 0 && rng.next() < 0.3) w.delete(rng.int(len), 1)
            else if (w instanceof Text) w.insert(rng.int(len + 1), 'ab'.slice(0, 1 + rng.int(2)))
            else (w as List<number>).insert(rng.int(len + 1), rng.int(100))
            if (w instanceof List && w.length > 1 && rng.next() < 0.2) w.move(rng.int(w.length), rng.int(w.length))
          }
        }
        // Merge in a random order, so later ops name characters of the other writers.
        for (const a of writers) for (const b of writers) if (a !== b && rng.next() < 0.7) b.applyRanges(a.historySince(b.clock) as never)
      }
      let named = 0
      for (const w of writers) {
        const seq = w as Text
        for (const r of seq.decodeRanges(seq.encodeRanges(seq.historySince()))) {
          for (const u of r.updates) {
            const op = u.op as SeqOp<unknown>
            const read = new Map((op.deps ?? []).filter((d) => d.source !== u.source).map((d) => [d.source, d.seq]))
            assert.deepEqual(read, fromParts(op, u.source), `update ${u.source}:${u.seq}`)
            named += read.size
          }
        }
      }
      assert.ok(named > 0, 'some ops name other writers')
    }
  })
})
