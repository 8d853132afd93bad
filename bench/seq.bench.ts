// Sequence benchmarks: the B4 editing trace and the crdt-benchmarks B1/B2/B3 definitions,
// hearsay Text/List against Yjs, Loro, diamond-types and Automerge in the same process.
// Automerge is slow on B4 (~1 min); it runs only with BENCH_SLOW=1.
import { group } from './harness.ts'
import { loadTrace } from './seq-trace.ts'
import { textImpls, type Factory, type TextImpl } from './seq-peers.ts'
import { runB1B3 } from './seq-b123.ts'

const slow = process.env['BENCH_SLOW'] === '1'

// BENCH_IMPLS=hearsay,yjs limits the implementations compared.
const only = process.env['BENCH_IMPLS']?.split(',')

function peers(): Factory<TextImpl>[] {
  return textImpls.filter((f) => (only ? only.includes(f.name) : slow || !f.slow))
}

async function b4(): Promise<void> {
  const trace = loadTrace()
  if (trace === undefined) return
  const states = new Map<string, Uint8Array>()
  const replay = group(`B4 automerge-paper trace replay: ${trace.patches.length} edits, one per transaction, each update encoded`)
  for (const f of peers()) {
    await replay.add(
      f.name,
      () => {
        const doc = f.create('author')
        for (const [pos, del, ins] of trace.patches) {
          if (del > 0) doc.delete(pos, del)
          if (ins.length > 0) doc.insert(pos, ins)
        }
        if (doc.text() !== trace.endContent) throw new Error(`${f.name} ended with a different text`)
        const state = doc.encode()
        states.set(f.name, state)
        return { ops: trace.patches.length, bytes: state.length, keep: doc.keep, extra: { updateBytes: doc.updateBytes } }
      },
      f.slow ? 1 : undefined,
    )
  }
  replay.print()
  const load = group('B4 load: parse the encoded document (bytes = encoded state, heap = loaded document)')
  for (const f of peers()) {
    const state = states.get(f.name)
    if (state === undefined) continue
    // Five runs (median): parsers warm up in the first runs.
    await load.add(f.name, () => {
      const doc = f.load(state)
      if (doc.value() !== trace.endContent) throw new Error(`${f.name} loaded a different text`)
      return { bytes: state.length, keep: doc.keep }
    }, 5)
  }
  load.print()
  const split = group('B4 split: two replicas each replay half of the trace in turn, syncing midway and at the end')
  for (const f of peers()) {
    await split.add(f.name, () => {
      const a = f.create('alice')
      const b = f.create('bob')
      const half = trace.patches.length >> 1
      let i = 0
      for (; i < half; i++) {
        const [pos, del, ins] = trace.patches[i]!
        if (del > 0) a.delete(pos, del)
        if (ins.length > 0) a.insert(pos, ins)
      }
      f.sync(a, b)
      for (; i < trace.patches.length; i++) {
        const [pos, del, ins] = trace.patches[i]!
        if (del > 0) b.delete(pos, del)
        if (ins.length > 0) b.insert(pos, ins)
      }
      f.sync(b, a)
      if (a.text() !== trace.endContent || b.text() !== trace.endContent) throw new Error(`${f.name} did not converge on the trace`)
      return { ops: trace.patches.length, bytes: a.encode().length, keep: [a.keep, b.keep] }
    })
  }
  split.print()
}

export async function run(): Promise<void> {
  await b4()
  await runB1B3()
}
