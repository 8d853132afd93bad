// hearsay alone on the B4 trace, for profiling:
//   node --cpu-prof --expose-gc --conditions=source --import tsx bench/seq-b4-profile.ts
// Prints replay time (each update encoded, as in seq.bench.ts), state size, load time, blocks.
import { Text } from '@hearsay/seq'
import { loadTrace } from './seq-trace.ts'

const trace = loadTrace()
if (trace !== undefined) {
  const gc = (globalThis as { gc?: () => void }).gc
  for (let round = 0; round < (Number(process.env['ROUNDS']) || 3); round++) {
    const doc = new Text({ id: 'author' })
    let bytes = 0
    doc.on('ranges', (r) => {
      bytes += doc.encodeRanges(r).length
    })
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    for (const [pos, del, ins] of trace.patches) {
      if (del > 0) doc.delete(pos, del)
      if (ins.length > 0) doc.insert(pos, ins)
    }
    const t1 = performance.now()
    const cpu = process.cpuUsage(c0).user / 1000
    if (doc.toString() !== trace.endContent) throw new Error('wrong text')
    const state = doc.encodeState()
    gc?.()
    const h0 = process.memoryUsage().heapUsed
    const t2 = performance.now()
    const loaded = new Text({ id: 'reader' })
    loaded.applyState(state)
    const t3 = performance.now()
    gc?.()
    const heap = process.memoryUsage().heapUsed - h0
    if (loaded.toString() !== trace.endContent) throw new Error('wrong loaded text')
    let blocks = 0
    for (const _ of (doc as unknown as { engine: { tree: { blocks(): Iterable<unknown> } } }).engine.tree.blocks()) blocks++
    console.log(
      `replay ${(t1 - t0).toFixed(0)} ms (cpu ${cpu.toFixed(0)} ms), updates ${bytes} B, state ${state.length} B, load ${(t3 - t2).toFixed(1)} ms, loaded heap ${gc ? (heap / 1e6).toFixed(2) + ' MB' : '-'}, blocks ${blocks}`,
    )
  }
}
