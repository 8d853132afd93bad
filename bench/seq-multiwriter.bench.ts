// Loading documents written by several writers (issue 19 part 4), hearsay Text against Yjs in
// one process: the B4 trace split between 2 and 4 writers who take turns (each writes a run of
// 200 patches, then every other writer is brought up to date), the same trace edited
// concurrently (every writer edits a run at once, then all merge), and seeded random
// concurrent edits. Each document is built once per implementation, then loaded from its
// encoded state; time is the median load (wall), `cpu` the median CPU time of a load, steadier
// on a shared machine. Run: npm run bench -- multiwriter
import { group } from './harness.ts'
import { loadTrace, TRACE_PATH, type Trace } from './seq-trace.ts'
import { hearsayText, yjsText, type Factory, type TextImpl } from './seq-peers.ts'

type Patch = Trace['patches'][number]

/** Builds one document of `writers` writers from `patches` and returns its encoded state. */
function build(f: Factory<TextImpl>, patches: readonly Patch[], writers: number, run: number, concurrent: boolean): Uint8Array {
  const docs = Array.from({ length: writers }, (_, i) => f.create(`writer-${i}`))
  for (let at = 0, turn = 0; at < patches.length; turn++) {
    const batch = patches.slice(at, at + run * (concurrent ? writers : 1))
    at += batch.length
    if (!concurrent) {
      const d = docs[turn % writers]!
      for (const [pos, del, ins] of batch) {
        if (del > 0) d.delete(pos, del)
        if (ins.length > 0) d.insert(pos, ins)
      }
      for (const o of docs) if (o !== d) f.sync(d, o)
    } else {
      // Positions clamped to each writer's own text; lengths kept by hand.
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
  if (new Set(docs.map((d) => d.text())).size !== 1) throw new Error(`${f.name}: writers differ`)
  return docs[0]!.encode()
}

/** Seeded random edits: mostly typing at a moving cursor, some deletes, some jumps. */
function randomPatches(n: number, seed: number): Patch[] {
  let s = seed >>> 0
  const rand = (): number => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32)
  const out: Patch[] = []
  let len = 0
  let cursor = 0
  for (let i = 0; i < n; i++) {
    if (rand() < 0.05) cursor = Math.floor(rand() * (len + 1))
    cursor = Math.min(cursor, len)
    if (len > 0 && rand() < 0.2) {
      const del = Math.min(len - Math.min(cursor, len - 1), 1 + Math.floor(rand() * 3))
      const at = Math.min(cursor, len - 1)
      out.push([at, del, ''])
      len -= del
      cursor = at
    } else {
      const ins = String.fromCharCode(97 + Math.floor(rand() * 26)).repeat(1 + Math.floor(rand() * 3))
      out.push([cursor, 0, ins])
      len += ins.length
      cursor += ins.length
    }
  }
  return out
}

export async function run(): Promise<void> {
  const trace = loadTrace(TRACE_PATH)
  const impls: Factory<TextImpl>[] = [hearsayText, yjsText]
  const cases: Array<{ title: string; patches: readonly Patch[]; writers: number; run: number; concurrent: boolean; loads: number }> = []
  if (trace !== undefined) {
    for (const writers of [2, 4]) cases.push({ title: `B4 by ${writers} writers taking turns (runs of 200 patches)`, patches: trace.patches, writers, run: 200, concurrent: false, loads: 15 })
    cases.push({ title: 'B4 by 2 writers editing concurrently (runs of 200 patches, then a merge)', patches: trace.patches, writers: 2, run: 200, concurrent: true, loads: 3 })
  }
  cases.push({ title: '40,000 seeded random edits by 4 concurrent writers (runs of 50, then a merge)', patches: randomPatches(40_000, 19), writers: 4, run: 50, concurrent: true, loads: 7 })
  for (const c of cases) {
    const g = group(`multi-writer load: ${c.title}`)
    for (const f of impls) {
      const state = build(f, c.patches, c.writers, c.run, c.concurrent)
      const cpu: number[] = []
      await g.add(
        f.name,
        () => {
          const c0 = process.cpuUsage()
          const doc = f.load(state)
          doc.value()
          const d = process.cpuUsage(c0)
          cpu.push((d.user + d.system) / 1000)
          const sorted = [...cpu].sort((a, b) => a - b)
          return { bytes: state.length, extra: { cpu: `${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)}ms` } }
        },
        c.loads,
      )
    }
    g.print()
  }
}
