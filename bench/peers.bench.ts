// Many peers on one daemon (issue 16 part 5): one real `hearsay peer` process (the hub) and
// N gossip Nodes spread over 4 client processes (bench/peers-child.ts), each Node its own
// identity, connected to the hub over TCP from its own 127.0.x.y loopback address. A few
// writers in each process and the hub write; then the bench measures how many peers connected,
// the time from the last acknowledged write until every peer's content equals the hub's, the
// hub's CPU and RSS, the bytes it moved, and how long `status` takes against it (the control
// request alone, and the whole `hearsay status` process, which includes starting Node).
// Run: npm run bench -- peers   (PEERS_BENCH_N=200,500 picks sizes, default 200,500,1000;
// PEERS_BENCH_PROF=<dir> profiles the hub)
// Bounded: each phase has a timeout that ends it with a message saying what was missing.
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { performance } from 'node:perf_hooks'
import { hearsay, Running, root, tempDir } from '../test/helpers/cli.ts'
import { requestDaemon } from '../packages/cli/src/control.ts'
import { group } from './harness.ts'

const PROCESSES = 4
const WRITERS_PER_PROCESS = 2
const WRITE_ROUNDS = 5
const HUB_WRITES = 5
const CONNECT_TIMEOUT = Number(process.env['PEERS_BENCH_CONNECT_MS']) || 120_000
const CONVERGE_TIMEOUT = Number(process.env['PEERS_BENCH_CONVERGE_MS']) || 60_000
const KEY = 'peers-bench'

interface ChildState {
  started: number
  connected: number
  matching: number
  cpuMs: number
  rssMb: number
}

class Client {
  readonly child: ChildProcess
  state: ChildState = { started: 0, connected: 0, matching: 0, cpuMs: 0, rssMb: 0 }
  readonly #waiters: Array<{ event: string; resolve: (o: Record<string, unknown>) => void }> = []

  constructor(config: object) {
    this.child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', new URL('./peers-child.ts', import.meta.url).pathname, JSON.stringify(config)], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] })
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      let o: Record<string, unknown>
      try {
        o = JSON.parse(line) as Record<string, unknown>
      } catch {
        return
      }
      if (o['event'] === 'state') this.state = o as unknown as ChildState
      for (const w of [...this.#waiters]) {
        if (w.event !== o['event']) continue
        this.#waiters.splice(this.#waiters.indexOf(w), 1)
        w.resolve(o)
      }
    })
  }

  send(line: string): void {
    this.child.stdin!.write(line + '\n')
  }

  next(event: string, timeout: number): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`client process sent no '${event}' within ${timeout} ms`)), timeout)
      this.#waiters.push({
        event,
        resolve: (o) => {
          clearTimeout(timer)
          resolve(o)
        },
      })
    })
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return
    const closed = new Promise((r) => this.child.once('close', r))
    this.send('exit')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000)
    await closed
    clearTimeout(timer)
  }
}

function contentHash(json: Record<string, unknown>): string {
  const keys = Object.keys(json).sort()
  return createHash('sha256')
    .update(JSON.stringify(keys.map((k) => [k, json[k]])))
    .digest('hex')
}

/** CPU ms (user + system) and RSS MiB of a process, from /proc. */
function procUsage(pid: number): { cpuMs: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12])
  const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return { cpuMs: ticks * 10, rssMb: Math.round(Number(rss?.[1] ?? 0) / 1024) }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A control request to the hub that fails, naming it, when the hub does not answer in `ms`. */
function hubRequest(dir: string, request: Parameters<typeof requestDaemon>[1], ms = 30_000): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the hub did not answer '${request.op}' within ${ms} ms`)), ms)
  })
  return Promise.race([requestDaemon(dir, request), timeout]).finally(() => clearTimeout(timer))
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now()
  const value = await fn()
  return { ms: performance.now() - t0, value }
}

interface Figures {
  peers: number
  connected: number
  connectMs: number
  convergeMs: number | undefined
  matching: number
  hubCpuMs: number
  hubCpuPct: number
  hubRssMb: number
  clientCpuMs: number
  hubBytesIn: number
  hubBytesOut: number
  statusMs: number
  statusMaxMs: number
  statusCliMs: number
  failure: string | undefined
}

async function scenario(n: number): Promise<Figures> {
  const { dir, cleanup } = await tempDir('peers-bench')
  // PEERS_BENCH_PROF=<dir> writes a CPU profile of the hub there (node --cpu-prof).
  const prof = process.env['PEERS_BENCH_PROF']
  const hub = new Running(['peer', '--data', dir, '--listen', 'tcp://127.0.0.1:0'], { HEARSAY_KEY: KEY }, prof === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${prof}`])
  const clients: Client[] = []
  let failure: string | undefined
  try {
    const [, url] = await hub.waitFor(/listening on (tcp:\/\/127\.0\.0\.1:\d+)/)
    await hub.waitFor(/ready/)
    const pid = hub.child.pid!
    const per = Math.ceil(n / PROCESSES)
    for (let i = 0; i < PROCESSES; i++) {
      const count = Math.min(per, n - i * per)
      const writers = Array.from({ length: Math.min(WRITERS_PER_PROCESS, count) }, (_, k) => Math.floor((k * count) / WRITERS_PER_PROCESS))
      clients.push(new Client({ hub: url, key: KEY, first: i * per, count, writers, interval: 1000 }))
    }
    const cpu0 = procUsage(pid)
    const t0 = performance.now()
    // Connect: every process starts its nodes at once (25 dials at a time each).
    const added = clients.map((c) => c.next('added', CONNECT_TIMEOUT))
    for (const c of clients) c.send(`add ${n}`)
    await Promise.all(added)
    const connectedNow = () => clients.reduce((s, c) => s + c.state.connected, 0)
    const until = performance.now() + CONNECT_TIMEOUT
    while (connectedNow() < n && performance.now() < until) await sleep(250)
    const connectMs = performance.now() - t0
    const connected = connectedNow()
    console.log(`  ${n} peers: ${connected} connected after ${(connectMs / 1000).toFixed(1)} s; writing`)
    if (connected < n) failure = `only ${connected} of ${n} peers connected within ${CONNECT_TIMEOUT} ms`

    // Writes: the hub and a few writers per process, WRITE_ROUNDS rounds 200 ms apart.
    const expected: Record<string, unknown> = {}
    for (let w = 0; w < WRITE_ROUNDS; w++) {
      const wrote = clients.map((c) => c.next('wrote', 10_000))
      for (const c of clients) c.send(`write ${w}`)
      await Promise.all(wrote)
      if (w < HUB_WRITES) {
        await hubRequest(dir, { op: 'put', object: 'shared', key: `hub-${w}`, value: w })
        expected[`hub-${w}`] = w
      }
      await sleep(200)
    }
    const lastWrite = performance.now()
    for (let i = 0; i < clients.length; i++) {
      const count = Math.min(per, n - i * per)
      for (let k = 0; k < Math.min(WRITERS_PER_PROCESS, count); k++) {
        const g = i * per + Math.floor((k * count) / WRITERS_PER_PROCESS)
        for (let w = 0; w < WRITE_ROUNDS; w++) expected[`w${g}-${w}`] = g
      }
    }
    console.log(`  ${n} peers: wrote; waiting for convergence`)
    const target = contentHash(expected)
    for (const c of clients) c.send(`target ${target}`)

    // Convergence: every peer's content (and the hub's) hashes to the expected one. `status`
    // is timed against the hub meanwhile.
    const statusTimes: number[] = []
    let convergeMs: number | undefined
    let hubDone = false
    const deadline = lastWrite + CONVERGE_TIMEOUT
    while (performance.now() < deadline) {
      const s = await timed(() => hubRequest(dir, { op: 'status' }))
      statusTimes.push(s.ms)
      if (!hubDone) {
        const v = ((await hubRequest(dir, { op: 'get', object: 'shared' }).catch(() => ({ value: {} }))) as { value: Record<string, unknown> }).value
        hubDone = contentHash(v) === target
      }
      const matching = clients.reduce((s2, c) => s2 + c.state.matching, 0)
      if (hubDone && matching === n) {
        convergeMs = performance.now() - lastWrite
        break
      }
      await sleep(250)
    }
    const matching = clients.reduce((s2, c) => s2 + c.state.matching, 0)
    if (convergeMs === undefined) failure ??= `did not converge: ${matching} of ${n} peers${hubDone ? '' : ' (and not the hub)'} hold the hub's content ${CONVERGE_TIMEOUT} ms after the last write`
    const cpu1 = procUsage(pid)
    const wall = performance.now() - t0
    // Status once more at rest, then the whole `hearsay status` command.
    for (let i = 0; i < 3; i++) statusTimes.push((await timed(() => hubRequest(dir, { op: 'status' }))).ms)
    const cli = await timed(() => hearsay(['status', '--data', dir], { env: { HEARSAY_KEY: KEY }, timeout: 60_000 }))
    if (cli.value.code !== 0) failure ??= `hearsay status failed: ${cli.value.stderr}`
    const st = (await hubRequest(dir, { op: 'status' })) as { bytesIn: number; bytesOut: number }
    statusTimes.sort((a, b) => a - b)
    return {
      peers: n,
      connected,
      connectMs,
      convergeMs,
      matching,
      hubCpuMs: cpu1.cpuMs - cpu0.cpuMs,
      hubCpuPct: Math.round(((cpu1.cpuMs - cpu0.cpuMs) / wall) * 100),
      hubRssMb: cpu1.rssMb,
      clientCpuMs: clients.reduce((s2, c) => s2 + c.state.cpuMs, 0),
      hubBytesIn: st.bytesIn,
      hubBytesOut: st.bytesOut,
      statusMs: statusTimes[Math.floor(statusTimes.length / 2)]!,
      statusMaxMs: statusTimes[statusTimes.length - 1]!,
      statusCliMs: cli.ms,
      failure,
    }
  } finally {
    await Promise.all(clients.map((c) => c.stop()))
    // A hub that cannot close in 30 s is killed (its profile, if any, is then lost).
    const killer = setTimeout(() => void hub.stop('SIGKILL'), 30_000)
    await hub.stop()
    clearTimeout(killer)
    await cleanup()
  }
}

export async function run(): Promise<void> {
  const sizes = (process.env['PEERS_BENCH_N'] ?? '200,500,1000').split(',').map(Number)
  const g = group('peers on one daemon (4 client processes, TCP, loopback)', `${sizes[0]} peers`)
  const failures: string[] = []
  for (const n of sizes) {
    await g.add(
      `${n} peers`,
      async () => {
        const f = await scenario(n)
        if (f.failure !== undefined) failures.push(`${n} peers: ${f.failure}`)
        console.log(`  ${n} peers: ${JSON.stringify(f)}`)
        return {
          bytes: f.hubBytesIn + f.hubBytesOut,
          extra: {
            connected: f.connected,
            connectS: +(f.connectMs / 1000).toFixed(1),
            convergeS: f.convergeMs === undefined ? 'timeout' : +(f.convergeMs / 1000).toFixed(1),
            matching: f.matching,
            hubCpuS: +(f.hubCpuMs / 1000).toFixed(1),
            hubCpuPct: f.hubCpuPct,
            hubRssMb: f.hubRssMb,
            clientCpuS: +(f.clientCpuMs / 1000).toFixed(1),
            statusMs: Math.round(f.statusMs),
            statusMaxMs: Math.round(f.statusMaxMs),
            statusCliMs: Math.round(f.statusCliMs),
          },
        }
      },
      1,
    )
  }
  g.print()
  for (const f of failures) console.log(`FAILED: ${f}`)
}
