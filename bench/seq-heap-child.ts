// Heap held by one loaded document, counted exactly: run in a fresh process by seq.bench.ts (or
// by hand) as
//   node --conditions=source --import tsx bench/seq-heap-child.ts <impl> <encoded-state-file>
// it takes a heap snapshot, loads the state once, takes another and prints the difference of
// the two snapshots' object sizes, compiled code left out, as JSON { bytes }. A heapUsed
// difference (process.memoryUsage) counts garbage not yet swept and code compiled on the way:
// it moved by ±20% from one measurement of the same load to the next.
import v8 from 'node:v8'
import { readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { textImpls } from './seq-peers.ts'

/** Total self size of the objects in a fresh heap snapshot, compiled code left out. */
function heapObjects(): number {
  const file = v8.writeHeapSnapshot(join(tmpdir(), `hearsay-heap-${process.pid}-${Date.now()}.heapsnapshot`))
  try {
    const snap = JSON.parse(readFileSync(file, 'utf8')) as { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[] }
    const fields = snap.snapshot.meta.node_fields.length
    const types = snap.snapshot.meta.node_types[0]
    const codeType = types.indexOf('code')
    let total = 0
    for (let i = 0; i < snap.nodes.length; i += fields) if (snap.nodes[i] !== codeType) total += snap.nodes[i + 3]!
    return total
  } finally {
    rmSync(file, { force: true })
  }
}

const [name, file] = process.argv.slice(2)
const impl = textImpls.find((f) => f.name === name)
if (impl === undefined || file === undefined) {
  console.error('usage: seq-heap-child.ts <impl> <encoded-state-file>')
  process.exit(2)
}
const state = new Uint8Array(readFileSync(file))
const before = heapObjects()
const doc = impl.load(state)
const bytes = heapObjects() - before
// Keep the document alive until after the second snapshot.
if (typeof doc.value() !== 'string') throw new Error('no text')
console.log(JSON.stringify({ bytes }))
