// Sequence benchmarks: the B4 editing trace and the crdt-benchmarks B1/B2/B3 definitions,
// hearsay Text/List against Yjs, Loro, diamond-types and Automerge in the same process.
// Automerge is slow on B4 (~1 min); it runs only with BENCH_SLOW=1.
import { group, type Row } from './harness.ts'
import { loadTrace } from './seq-trace.ts'
import { textImpls, type Factory, type TextImpl } from './seq-peers.ts'
import { runB1B3 } from './seq-b123.ts'

const slow = process.env['BENCH_SLOW'] === '1'

// BENCH_IMPLS=hearsay,yjs limits the implementations compared.
const only = process.env['BENCH_IMPLS']?.split(',')

function peers(): Factory<TextImpl>[] {
  return textImpls.filter((f) => (only ? only.includes(f.name) : slow || !f.slow))
}

const gc = (globalThis as { gc?: () => void }).gc

// CPU time (user + system) since `c0`: steadier than wall time on a machine shared with other jobs.
function cpuMs(c0: NodeJS.CpuUsage): string {
  const d = process.cpuUsage(c0)
  return ((d.user + d.system) / 1000).toFixed(0)
}

// Heap retained by `kept` alone: heap with it minus heap once it is released. More robust than
// a before/after delta when implementations keep caches or external memory between runs.
function retained(kept: { value: unknown }): number | undefined {
  if (gc === undefined) return undefined
  gc()
  gc()
  const withIt = process.memoryUsage().heapUsed
  kept.value = undefined
  gc()
  gc()
  return withIt - process.memoryUsage().heapUsed
}

function note(row: Row | undefined, kept: { value: unknown }): void {
  const r = retained(kept)
  if (row !== undefined && r !== undefined) row.extra = { ...row.extra, retained: r }
}

async function b4(): Promise<void> {
  const trace = loadTrace()
  if (trace === undefined) return
  const states = new Map<string, Uint8Array>()
  const replay = group(`B4 automerge-paper trace replay: ${trace.patches.length} edits, one per transaction, each update encoded (retained = heap held by the document)`)
  for (const f of peers()) {
    const kept: { value: unknown } = { value: undefined }
    const row = await replay.add(
      f.name,
      () => {
        kept.value = undefined
        const c0 = process.cpuUsage()
        const doc = f.create('author')
        for (const [pos, del, ins] of trace.patches) {
          if (del > 0) doc.delete(pos, del)
          if (ins.length > 0) doc.insert(pos, ins)
          doc.out.length = 0
        }
        if (doc.text() !== trace.endContent) throw new Error(`${f.name} ended with a different text`)
        const state = doc.encode()
        states.set(f.name, state)
        kept.value = doc.keep
        return { ops: trace.patches.length, bytes: state.length, keep: doc.keep, extra: { cpuMs: cpuMs(c0), updateBytes: doc.updateBytes } }
      },
      f.slow ? 1 : undefined,
    )
    note(row, kept)
  }
  replay.print()
  const load = group('B4 load: parse the encoded document (bytes = encoded state, heap = loaded document)')
  for (const f of peers()) {
    const state = states.get(f.name)
    if (state === undefined) continue
    // Five runs (median): parsers warm up in the first runs.
    const kept: { value: unknown } = { value: undefined }
    const row = await load.add(
      f.name,
      () => {
        kept.value = undefined
        const c0 = process.cpuUsage()
        const doc = f.load(state)
        if (doc.value() !== trace.endContent) throw new Error(`${f.name} loaded a different text`)
        kept.value = doc.keep
        return { bytes: state.length, keep: doc.keep, extra: { cpuMs: cpuMs(c0) } }
      },
      5,
    )
    note(row, kept)
  }
  load.print()
  const split = group('B4 split: two replicas each replay half of the trace in turn, syncing midway and at the end')
  for (const f of peers()) {
    await split.add(f.name, () => {
      const c0 = process.cpuUsage()
      const a = f.create('alice')
      const b = f.create('bob')
      const half = trace.patches.length >> 1
      let i = 0
      for (; i < half; i++) {
        const [pos, del, ins] = trace.patches[i]!
        if (del > 0) a.delete(pos, del)
        if (ins.length > 0) a.insert(pos, ins)
        a.out.length = 0
      }
      f.sync(a, b)
      for (; i < trace.patches.length; i++) {
        const [pos, del, ins] = trace.patches[i]!
        if (del > 0) b.delete(pos, del)
        if (ins.length > 0) b.insert(pos, ins)
        b.out.length = 0
      }
      f.sync(b, a)
      if (a.text() !== trace.endContent || b.text() !== trace.endContent) throw new Error(`${f.name} did not converge on the trace`)
      return { ops: trace.patches.length, bytes: a.encode().length, keep: [a.keep, b.keep], extra: { cpuMs: cpuMs(c0) } }
    })
  }
  split.print()
}

// BENCH_SEQ=b4 or BENCH_SEQ=b123 runs one half.
export async function run(): Promise<void> {
  const part = process.env['BENCH_SEQ']
  if (part !== 'b123') await b4()
  if (part !== 'b4') await runB1B3()
}
