// Where the heap of a loaded B4 document goes, by object kind (for tuning memory):
//   node --conditions=source --import tsx bench/seq-heap-snapshot.ts
import v8 from 'node:v8'
import { readFileSync, rmSync } from 'node:fs'
import { Text } from '@hearsay/seq'
import { loadTrace } from './seq-trace.ts'

function census(): Map<string, [number, number]> {
  const file = v8.writeHeapSnapshot()
  const snap = JSON.parse(readFileSync(file, 'utf8'))
  rmSync(file)
  const f = snap.snapshot.meta.node_fields.length
  const types = snap.snapshot.meta.node_types[0]
  const agg = new Map<string, [number, number]>()
  for (let i = 0; i < snap.nodes.length; i += f) {
    const type = types[snap.nodes[i]]
    const k = type === 'object' ? snap.strings[snap.nodes[i + 1]] : type
    const e = agg.get(k) ?? [0, 0]
    e[0]++
    e[1] += snap.nodes[i + 3]
    agg.set(k, e)
  }
  return agg
}

const trace = loadTrace()
if (trace !== undefined) {
  const doc = new Text({ id: 'author' })
  for (const [pos, del, ins] of trace.patches) {
    if (del > 0) doc.delete(pos, del)
    if (ins.length > 0) doc.insert(pos, ins)
  }
  const state = doc.encodeState()
  doc.dispose()
  const before = census()
  const loaded = new Text({ id: 'reader' })
  loaded.applyState(state)
  const after = census()
  const rows = [...after].map(([k, [c, s]]) => [k, c - (before.get(k)?.[0] ?? 0), s - (before.get(k)?.[1] ?? 0)] as const)
  rows.sort((a, b) => b[2] - a[2])
  let total = 0
  for (const r of rows) total += r[2]
  console.log(`loaded B4 document: ${(total / 1e6).toFixed(2)} MB more in the heap snapshot`)
  for (const [k, c, s] of rows.slice(0, 15)) console.log(`${k.slice(0, 40).padEnd(42)} ${String(c).padStart(7)} ${(s / 1e3).toFixed(0).padStart(7)} kB`)
  if (loaded.toString() !== trace.endContent) throw new Error('wrong text')
}
