// Costs against the number of objects a node hosts (issue 21), driven through gossip Nodes on
// LevelStore, each object a small LWW map, at 1k and 10k objects (BENCH_OBJECTS=1000,10000,100000
// to choose). Per size:
//   create   N objects through a Node (open + one set each, then flush): objects/s
//   startup  close, reopen on the same directory until every object is hosted: ms, heap/object
//   status   node.status(), median of 21 calls: ms
//   sync     a second Node (memory store) connects and receives everything: ms
//   idle     the connected pair in sync, CPU of the process over 3 s: ms of CPU per second
//   recon    drop the link and reconnect with nothing to send: CPU ms until both are in sync
// The growth column divides each figure by the one of the smallest size: a flat cost stays at
// 1.0; a cost that is O(objects) grows like the size ratio.
// Run: node --expose-gc --conditions=source --import tsx bench/index.ts objects
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryNetwork, MemoryTransport } from '@hearsay/core'
import { Node } from '@hearsay/gossip'
import { LWWMap } from '@hearsay/model'
import { LevelStore } from '@hearsay/adapters/level'

const SIZES = (process.env['BENCH_OBJECTS'] ?? '1000,10000').split(',').map(Number)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const cpuMs = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}
const heap = (): number => {
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  gc?.()
  return process.memoryUsage().heapUsed
}

async function until(cond: () => boolean, what: string, ms = 600_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`objects bench: ${what} not reached in ${ms} ms`)
    await sleep(5)
  }
}

interface Figures {
  createPerSec: number
  startupMs: number
  heapPerObject: number
  statusMs: number
  syncMs: number
  idleCpuPerSec: number
  reconnectCpuMs: number
}

async function measure(n: number): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), 'hearsay-objects-'))
  const net = new MemoryNetwork()
  try {
    const node = (store: LevelStore | undefined, id: string) =>
      new Node({ id, networkKey: 'bench', interval: 200, ...(store && { store }), transports: [new MemoryTransport({ network: net })] })
    let a = node(new LevelStore(join(dir, 'a')), 'a')
    await a.start()
    let t0 = performance.now()
    for (let i = 0; i < n; i++) (await a.open(`o${i}`, LWWMap)).set('k', i)
    await a.flush()
    const createPerSec = n / ((performance.now() - t0) / 1000)
    await a.close()

    const h0 = heap()
    t0 = performance.now()
    a = node(new LevelStore(join(dir, 'a')), 'a')
    await a.start()
    const startupMs = performance.now() - t0
    if (a.status().objects.length < n) throw new Error(`only ${a.status().objects.length} of ${n} objects after start`)
    const heapPerObject = (heap() - h0) / n

    const times: number[] = []
    for (let i = 0; i < 21; i++) {
      const s = performance.now()
      a.status()
      times.push(performance.now() - s)
    }
    const statusMs = times.sort((x, y) => x - y)[10]!

    await a.listen('mem://a')
    const b = node(undefined, 'b')
    t0 = performance.now()
    await b.connect('mem://a')
    const inSync = () => a.status().peers.some((p) => p.id === 'b' && p.inSync) && b.status().peers.some((p) => p.id === 'a' && p.inSync)
    await until(() => b.status().objects.length > n && inSync(), 'b holds every object')
    const syncMs = performance.now() - t0

    await sleep(500)
    const c0 = cpuMs()
    const w0 = performance.now()
    await sleep(3000)
    const idleCpuPerSec = (cpuMs() - c0) / ((performance.now() - w0) / 1000)

    b.disconnect('mem://a')
    await until(() => !b.status().peers.some((p) => p.id === 'a' && p.connected), 'the link dropped', 10_000)
    const c1 = cpuMs()
    await b.connect('mem://a')
    await until(inSync, 'in sync after the reconnect')
    const reconnectCpuMs = cpuMs() - c1
    await b.close()
    await a.close()
    return { createPerSec, startupMs, heapPerObject, statusMs, syncMs, idleCpuPerSec, reconnectCpuMs }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export async function run(): Promise<void> {
  const rows: Array<[number, Figures]> = []
  for (const n of SIZES) rows.push([n, await measure(n)])
  const base = rows[0]![1]
  const cols: Array<[keyof Figures, string, (v: number) => string]> = [
    ['createPerSec', 'create objects/s', (v) => v.toFixed(0)],
    ['startupMs', 'startup ms', (v) => v.toFixed(0)],
    ['heapPerObject', 'heap B/object', (v) => v.toFixed(0)],
    ['statusMs', 'status() ms', (v) => v.toFixed(2)],
    ['syncMs', 'first sync ms', (v) => v.toFixed(0)],
    ['idleCpuPerSec', 'idle CPU ms/s', (v) => v.toFixed(1)],
    ['reconnectCpuMs', 'reconnect CPU ms', (v) => v.toFixed(0)],
  ]
  console.log('\n## objects: costs of one node against the number of objects it hosts (growth: / the first size)')
  console.log(`| figure | ${rows.map(([n]) => `${n} objects`).join(' | ')} | growth at ${rows.at(-1)![0]} (size x${rows.at(-1)![0] / rows[0]![0]}) |`)
  console.log(`|---|${rows.map(() => '---|').join('')}---|`)
  for (const [k, name, f] of cols) {
    const last = rows.at(-1)![1][k]
    console.log(`| ${name} | ${rows.map(([, r]) => f(r[k])).join(' | ')} | x${(last / base[k]).toFixed(1)} |`)
  }
}
