// Replay of an editing trace, hearsay against Yjs, round by round in one process (one op per
// transaction, each update encoded, as in the seq bench). The bench reports the median of 3
// runs, which for traces of 20-40k edits still includes V8 tiering up; this prints every round
// and the median of the warm ones (round 3 on):
//   node --expose-gc --conditions=source --import tsx bench/seq-replay-compare.ts [trace.json.gz] [rounds]
// Without a path it uses the B4 trace ($HEARSAY_TRACE or /work/shared/data/automerge-paper.json.gz).
import { loadTrace, TRACE_PATH } from './seq-trace.ts'
import { hearsayText, textImpls } from './seq-peers.ts'

const path = process.argv[2] || TRACE_PATH
const rounds = Math.max(3, Number(process.argv[3]) || 7)
const trace = loadTrace(path)
if (trace !== undefined) {
  const impls = [hearsayText, textImpls.find((f) => f.name === 'yjs')!]
  const times: number[][] = impls.map(() => [])
  const gc = (globalThis as { gc?: (o?: { type: 'minor' | 'major' }) => void }).gc
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < impls.length; i++) {
      gc?.({ type: 'minor' })
      const t0 = performance.now()
      const doc = impls[i]!.create('author')
      for (const [pos, del, ins] of trace.patches) {
        if (del > 0) doc.delete(pos, del)
        if (ins.length > 0) doc.insert(pos, ins)
        doc.out.length = 0
      }
      times[i]!.push(performance.now() - t0)
      if (doc.text() !== trace.endContent) throw new Error(`${impls[i]!.name} replayed a different text`)
    }
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
  const warm = times.map((ts) => med(ts.slice(2)))
  for (let i = 0; i < impls.length; i++) {
    console.log(`${impls[i]!.name.padEnd(8)} rounds ${times[i]!.map((t) => t.toFixed(0)).join(' ')} ms  warm median ${warm[i]!.toFixed(1)} ms`)
  }
  console.log(`yjs / hearsay replay time, warm: ${(warm[1]! / warm[0]!).toFixed(2)}x; first round: ${(times[1]![0]! / times[0]![0]!).toFixed(2)}x (${trace.patches.length} edits, ${path})`)
}
