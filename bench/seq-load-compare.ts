// Load (parse) of an encoded trace document, hearsay against Yjs, interleaved in one process so
// both see the same machine load. Prints the median and the ratio:
//   node --expose-gc --conditions=source --import tsx bench/seq-load-compare.ts [trace.json.gz] [rounds]
// Without a path it uses the B4 trace ($HEARSAY_TRACE or /work/shared/data/automerge-paper.json.gz).
import { loadTrace, TRACE_PATH } from './seq-trace.ts'
import { hearsayText, textImpls } from './seq-peers.ts'

const path = process.argv[2] || TRACE_PATH
const rounds = Number(process.argv[3]) || 21
const trace = loadTrace(path)
if (trace !== undefined) {
  const impls = [hearsayText, textImpls.find((f) => f.name === 'yjs')!].filter((f) => !process.env['LOAD_ONLY'] || f.name === process.env['LOAD_ONLY'])
  const states = impls.map((f) => {
    const doc = f.create('author')
    for (const [pos, del, ins] of trace.patches) {
      if (del > 0) doc.delete(pos, del)
      if (ins.length > 0) doc.insert(pos, ins)
      doc.out.length = 0
    }
    if (doc.text() !== trace.endContent) throw new Error(`${f.name} replayed a different text`)
    return doc.encode()
  })
  const times: number[][] = impls.map(() => [])
  const gc = (globalThis as { gc?: () => void }).gc
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < impls.length; i++) {
      if (process.env['LOAD_GC'] === '1') gc?.()
      if (process.env['LOAD_GC'] === 'minor') (gc as unknown as (o: { type: string }) => void)?.({ type: 'minor' })
      const t0 = performance.now()
      const doc = impls[i]!.load(states[i]!)
      if (doc.value() !== trace.endContent) throw new Error(`${impls[i]!.name} loaded a different text`)
      times[i]!.push(performance.now() - t0)
    }
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
  const m = times.map(med)
  for (let i = 0; i < impls.length; i++) {
    console.log(`${impls[i]!.name.padEnd(8)} ${states[i]!.length} bytes  load median ${m[i]!.toFixed(2)} ms  min ${Math.min(...times[i]!).toFixed(2)} ms  first ${times[i]![0]!.toFixed(1)} ms`)
  }
  console.log(`hearsay / yjs load time: ${(m[0]! / m[1]!).toFixed(2)}x (${rounds} interleaved rounds, ${path})`)
}
