// Sequence benchmarks: the B4 editing trace and the crdt-benchmarks B1/B2/B3 definitions,
// hearsay Text/List against Yjs, Loro, diamond-types and Automerge in the same process.
// Automerge is slow on B4 (~1 min); it runs only with BENCH_SLOW=1. HEARSAY_TRACES=<dir> adds
// every *.json.gz editing trace in that directory (josephg/editing-traces format), replayed and
// loaded like B4 (BENCH_SEQ=traces runs only those).
import { group, type Row } from './harness.ts'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { loadTrace, type Trace } from './seq-trace.ts'
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

// Replays `trace` once per implementation (the median of BENCH_RUNS runs), checks the final
// text and returns each implementation's encoded document.
async function replayGroup(title: string, trace: Trace): Promise<Map<string, Uint8Array>> {
  const states = new Map<string, Uint8Array>()
  const replay = group(`${title} replay: ${trace.patches.length} edits, one per transaction, each update encoded (retained = heap held by the document)`)
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
  return states
}

// Loads every implementation's encoded document in interleaved rounds (hearsay, yjs, ..., then
// again) in a fresh process (bench/seq-load-child.ts says why), so all see the same machine load
// and none pays for what ran before it; the median of LOAD_ROUNDS (default 15) is reported, and
// the heap held by a loaded document is measured on a separate load.
function loadGroup(title: string, trace: Trace, states: Map<string, Uint8Array>): void {
  const rounds = Number(process.env['LOAD_ROUNDS']) || 15
  const load = group(`${title} load: parse the encoded document, ${rounds} rounds interleaved across implementations in a fresh process, a minor GC before each (bytes = encoded state, heap = loaded document)`)
  const impls = peers().filter((f) => states.has(f.name))
  type Result = { times: Record<string, number[]>; cpus: Record<string, number[]>; failed: Record<string, string> }
  const files: Record<string, Uint8Array | string> = { 'text.txt': trace.endContent }
  for (const f of impls) files[`${f.name}.bin`] = states.get(f.name)!
  const result = inChild<Result>('./seq-load-child.ts', files, (path) => [String(rounds), path('text.txt'), ...impls.map((f) => `${f.name}=${path(`${f.name}.bin`)}`)], 'loads not measured')
  if (result === undefined) return
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
  for (const f of impls) {
    const failed = result.failed[f.name]
    if (failed !== undefined) {
      console.log(`  ${f.name}: failed: ${failed}`)
      continue
    }
    const times = result.times[f.name]!
    const heap = heldByLoad(f, states.get(f.name)!)
    // firstMs: the first load runs before V8 has optimized the parser, as in a process that loads one document.
    load.rows.push({ impl: f.name, ms: median(times), opsPerSec: undefined, bytes: states.get(f.name)!.length, heap, extra: { cpuMs: median(result.cpus[f.name]!).toFixed(1), minMs: Math.min(...times).toFixed(1), firstMs: times[0]!.toFixed(1) } })
  }
  // LOAD_TRACE=1 prints every round's time: the first rounds run before V8 has optimized the
  // parsers, and which rounds that takes differs between implementations and processes.
  if (process.env['LOAD_TRACE']) for (const f of impls) if (result.times[f.name] !== undefined) console.log(f.name, result.times[f.name]!.map((t) => t.toFixed(1)).join(' '), 'cpu', result.cpus[f.name]!.map((t) => t.toFixed(1)).join(' '))
  load.print()
}

// Heap held by one loaded document: counted from two heap snapshots around one load, in a fresh
// process (bench/seq-heap-child.ts), compiled code left out. The heapUsed difference this bench
// used before moved by ±20% between measurements of the same load (garbage not yet swept, code
// compiled on the way), and a library that keeps its last document alive made it undercount.
// For the wasm engines it counts the JavaScript side and the growth of their wasm memory.
function heldByLoad(f: Factory<TextImpl>, state: Uint8Array): number | undefined {
  return inChild<{ bytes: number }>('./seq-heap-child.ts', { 'state.bin': state }, (path) => [f.name, path('state.bin')], `${f.name}: heap not measured`)?.bytes
}

// Runs a bench script (path relative to this file) in a fresh Node process with this one's
// flags: `files` are written to a temporary directory first (`path` names them there for
// `args`), and the last line the child prints is parsed as JSON. On failure it says why,
// prefixed by `what`, and returns undefined.
function inChild<T>(script: string, files: Record<string, Uint8Array | string>, args: (path: (name: string) => string) => string[], what: string): T | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'hearsay-bench-'))
  try {
    const path = (name: string) => join(dir, name)
    for (const [name, data] of Object.entries(files)) writeFileSync(path(name), data)
    const out = execFileSync(process.execPath, [...process.execArgv, fileURLToPath(new URL(script, import.meta.url)), ...args(path)], { encoding: 'utf8', maxBuffer: 64 << 20 })
    return JSON.parse(out.trim().split('\n').pop()!) as T
  } catch (err) {
    console.log(`  ${what}: ${(err as Error).message.split('\n')[0]}`)
    return undefined
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

async function b4(): Promise<void> {
  const trace = loadTrace()
  if (trace === undefined) return
  const states = await replayGroup('B4 automerge-paper trace', trace)
  loadGroup('B4', trace, states)
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

// Every `*.json.gz` trace in $HEARSAY_TRACES (josephg/editing-traces format, e.g. the files
// of its sequential_traces/ folder), replayed and loaded like B4.
async function extraTraces(): Promise<void> {
  const dir = process.env['HEARSAY_TRACES']
  if (dir === undefined || dir === '') {
    console.log('\nHEARSAY_TRACES is not set: no extra editing traces (set it to a directory of josephg/editing-traces *.json.gz files)')
    return
  }
  if (!existsSync(dir)) {
    console.log(`\nHEARSAY_TRACES=${dir} does not exist: no extra editing traces`)
    return
  }
  const files = readdirSync(dir).filter((f) => f.endsWith('.json.gz')).sort()
  if (files.length === 0) console.log(`\nno *.json.gz traces in HEARSAY_TRACES=${dir}`)
  for (const file of files) {
    const trace = loadTrace(join(dir, file))
    if (trace === undefined) continue
    const name = file.replace(/\.json\.gz$/, '')
    const states = await replayGroup(`trace ${name} (${trace.endContent.length} chars)`, trace)
    loadGroup(`trace ${name}`, trace, states)
  }
}

// BENCH_SEQ=b4, BENCH_SEQ=traces or BENCH_SEQ=b123 runs one part.
export async function run(): Promise<void> {
  const part = process.env['BENCH_SEQ']
  if (part !== 'b123' && part !== 'traces') await b4()
  if (part === undefined || part === 'traces') await extraTraces()
  if (part !== 'b4' && part !== 'traces') await runB1B3()
}
