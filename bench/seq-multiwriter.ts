// Load of a document written by several writers, hearsay against Yjs, interleaved in one process.
// The B4 trace is split between W writers: each writes a run of patches, then every other
// writer is brought up to date (sequential turns), or the writers edit concurrently for a run
// and then merge (concurrent turns, positions clamped to each writer's own text).
//   node --expose-gc --conditions=source --import tsx bench/seq-multiwriter.ts [writers] [run] [rounds]
import { loadTrace, TRACE_PATH } from './seq-trace.ts'
import { hearsayText, yjsText, type Factory, type TextImpl } from './seq-peers.ts'

const writers = Number(process.argv[2]) || 2
const run = Number(process.argv[3]) || 200
const rounds = Number(process.argv[4]) || 15
const trace = loadTrace(TRACE_PATH)
if (trace !== undefined) {
  for (const mode of ['turns', 'concurrent'] as const) {
    const impls: Factory<TextImpl>[] = [hearsayText, yjsText]
    const states = impls.map((f) => {
      const docs = Array.from({ length: writers }, (_, i) => f.create(`writer-${i}`))
      for (let at = 0, turn = 0; at < trace.patches.length; turn++) {
        const batch = trace.patches.slice(at, at + run * (mode === 'concurrent' ? writers : 1))
        at += batch.length
        if (mode === 'turns') {
          const d = docs[turn % writers]!
          for (const [pos, del, ins] of batch) {
            if (del > 0) d.delete(pos, del)
            if (ins.length > 0) d.insert(pos, ins)
          }
          for (const o of docs) if (o !== d) f.sync(d, o)
        } else {
          // Each writer's length, kept by hand (text() per patch would dominate the build).
          const lens = docs.map((d) => d.text().length)
          batch.forEach(([pos, del, ins], k) => {
            const w = k % writers
            const d = docs[w]!
            const p = Math.min(pos, lens[w]!)
            if (del > 0 && p < lens[w]!) {
              const n = Math.min(del, lens[w]! - p)
              d.delete(p, n)
              lens[w]! -= n
            }
            if (ins.length > 0) {
              d.insert(p, ins)
              lens[w]! += ins.length
            }
          })
          for (const a of docs) for (const b of docs) if (a !== b) f.sync(a, b)
        }
        for (const d of docs) d.out.length = 0
      }
      const texts = new Set(docs.map((d) => d.text()))
      if (texts.size !== 1) throw new Error(`${f.name}: writers differ`)
      return docs[0]!.encode()
    })
    const times: number[][] = impls.map(() => [])
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < impls.length; i++) {
        const t0 = performance.now()
        const doc = impls[i]!.load(states[i]!)
        doc.value()
        times[i]!.push(performance.now() - t0)
      }
    }
    const med = times.map((t) => t.sort((x, y) => x - y)[Math.floor(t.length / 2)]!)
    console.log(`${mode}, ${writers} writers, runs of ${run}: hearsay ${med[0]!.toFixed(2)} ms (${states[0]!.length} B), yjs ${med[1]!.toFixed(2)} ms (${states[1]!.length} B), hearsay/yjs ${(med[0]! / med[1]!).toFixed(2)}`)
  }
}
