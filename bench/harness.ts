// The benchmark harness: every benchmark runs hearsay and its peers side by side in this one
// process and prints time, ops/s, bytes, retained heap and the ratio to hearsay.
import { performance } from 'node:perf_hooks'
import { mkdirSync, writeFileSync } from 'node:fs'

/** What one measured function reports. */
export interface Sample {
  /** Operations performed (for ops/s). */
  ops?: number
  /** Bytes produced (encoded state, bytes on the wire...). */
  bytes?: number
  /** Anything to keep alive while the heap is measured (the document built). */
  keep?: unknown
  /** Extra figures to print. */
  extra?: Record<string, number | string>
  /** Time the sample spent on side measurements (e.g. timing loads of its result), not counted in its time. */
  untimedMs?: number
}

/** One line of a result table. */
export interface Row {
  impl: string
  ms: number
  opsPerSec: number | undefined
  bytes: number | undefined
  heap: number | undefined
  extra: Record<string, number | string> | undefined
}

const gc = (globalThis as { gc?: () => void }).gc
const results: Array<{ group: string; baseline: string; rows: Row[] }> = []

function heapUsed(): number {
  gc?.()
  gc?.()
  return process.memoryUsage().heapUsed
}

function fmt(n: number | undefined, unit = ''): string {
  if (n === undefined) return '-'
  const a = Math.abs(n)
  if (a >= 1e9) return `${(n / 1e9).toFixed(2)}G${unit}`
  if (a >= 1e6) return `${(n / 1e6).toFixed(2)}M${unit}`
  if (a >= 1e4) return `${(n / 1e3).toFixed(1)}k${unit}`
  return `${Number.isInteger(n) ? n : n.toFixed(2)}${unit}`
}

async function measureFirst(fn: () => Sample | Promise<Sample>): Promise<{ ms: number; heap: number | undefined; sample: Sample }> {
  const h0 = gc ? heapUsed() : 0
  const t0 = performance.now()
  const sample = await fn()
  const ms = performance.now() - t0 - (sample.untimedMs ?? 0)
  const heap = gc && sample.keep !== undefined ? heapUsed() - h0 : undefined
  return { ms, heap, sample }
}

/** Runs per measurement; `BENCH_RUNS` overrides. The median is reported. */
export const RUNS = Number(process.env['BENCH_RUNS']) || 3

/** A table of implementations doing the same work; the first row named `baseline` is the reference. */
export class Group {
  readonly rows: Row[] = []
  constructor(readonly name: string, readonly baseline = 'hearsay') {}

  /** Measures `fn` `runs` times: median time; retained heap of `keep` from the first run; bytes and ops from the last. Failures print and skip the row. */
  async add(impl: string, fn: () => Sample | Promise<Sample>, runs = RUNS): Promise<Row | undefined> {
    const times: number[] = []
    let last: Sample
    let heap: number | undefined
    try {
      // Heap is measured on the first run, in its own frame: a reused async frame can keep the
      // previous run's result alive and hide it from the baseline.
      const first = await measureFirst(fn)
      times.push(first.ms)
      heap = first.heap
      last = first.sample
      for (let i = 1; i < runs; i++) {
        last = {}
        const t0 = performance.now()
        last = await fn()
        times.push(performance.now() - t0 - (last.untimedMs ?? 0))
      }
    } catch (err) {
      console.log(`  ${impl}: failed: ${(err as Error).message}`)
      return undefined
    }
    times.sort((a, b) => a - b)
    const ms = times[Math.floor(times.length / 2)]!
    const row: Row = {
      impl,
      ms,
      opsPerSec: last.ops === undefined ? undefined : (last.ops / ms) * 1000,
      bytes: last.bytes,
      heap,
      extra: last.extra,
    }
    this.rows.push(row)
    return row
  }

  /** Prints the table with ratios against the baseline and records it for the JSON report. */
  print(): void {
    const base = this.rows.find((r) => r.impl === this.baseline)
    console.log(`\n## ${this.name}`)
    const head = ['impl', 'time', 'ops/s', 'bytes', 'heap', `${this.baseline} speed-up`, 'extra']
    const lines = this.rows.map((r) => [
      r.impl,
      `${r.ms.toFixed(1)} ms`,
      fmt(r.opsPerSec),
      fmt(r.bytes, 'B'),
      fmt(r.heap, 'B'),
      base && r !== base ? `${(r.ms / base.ms).toFixed(2)}×` : r === base ? '1×' : '-',
      r.extra ? Object.entries(r.extra).map(([k, v]) => `${k}=${typeof v === 'number' ? fmt(v) : v}`).join(' ') : '',
    ])
    const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)))
    const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |'
    console.log(line(head))
    console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|')
    for (const l of lines) console.log(line(l))
    results.push({ group: this.name, baseline: this.baseline, rows: this.rows })
  }
}

/** Creates a group; add rows, then call `print()`. */
export function group(name: string, baseline = 'hearsay'): Group {
  return new Group(name, baseline)
}

/** Writes every printed table to `bench/results/<name>.json`. */
export function writeResults(name = 'latest'): string {
  const dir = new URL('./results/', import.meta.url).pathname
  mkdirSync(dir, { recursive: true })
  const file = `${dir}${name}.json`
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), node: process.version, results }, null, 2))
  return file
}
