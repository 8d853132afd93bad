import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Emitter, HearsayError, ErrorCodes, type Connection, type Listener, type Transport, type TransportCapabilities } from '@hearsay/core'
import { Node } from '@hearsay/gossip'
import { LWWMap } from '@hearsay/model'
import { LevelStore } from '@hearsay/adapters/level'
import { TcpTransport, parseTcpUrl } from '@hearsay/adapters'
import { FaultProxy, createRandom, type FaultOptions, type FaultStats, type Random } from './FaultProxy.js'

/** Options of a {@link Lab} run. */
export interface LabOptions extends FaultOptions {
  /** Number of nodes (ids `n0`..). */
  nodes: number
  /** Milliseconds the network is split in two halves from the start (0: no partition). */
  partition: number
  /** Writes each node makes to the shared map. */
  writes: number
  /** Milliseconds over which the writes are spread. */
  writeWindow: number
  /** Gossip interval of every node, ms. */
  interval: number
  /** Seed of the fault injection and the write schedule. */
  seed: number
  /** Keep the data directories. */
  keep: boolean
}

/** One node's view in a {@link LabSnapshot}. */
export interface LabNodeView {
  readonly id: string
  /** The shared map's version vector on this node. */
  readonly vector: Record<string, number>
  /** Updates of the shared map this node holds, out of every update written so far. */
  readonly have: number
  readonly connected: number
}

/** What the lab reports while it runs. */
export interface LabSnapshot {
  readonly elapsed: number
  readonly partitioned: boolean
  readonly written: number
  readonly expected: number
  readonly nodes: readonly LabNodeView[]
  /** Fraction of (node, update) pairs delivered, over every update the run will write. */
  readonly progress: number
  readonly converged: boolean
  readonly proxy: FaultStats
}

/** The outcome of a {@link Lab} run. */
export interface LabSummary {
  readonly converged: boolean
  /** Milliseconds from the start to convergence (or to giving up). */
  readonly elapsed: number
  /** Milliseconds from the partition healing to convergence (the run's start without one). */
  readonly sinceHeal: number
  readonly nodes: number
  readonly updates: number
  readonly proxy: FaultStats
  /** Bytes the nodes sent, as they count them (before the proxy lost any). */
  readonly bytesSent: number
  readonly rounds: number
  readonly dataDir: string
}

const OBJECT = 'lab'

/**
 * Gives each lab node a `lab://nI` address: listening opens a real TCP listener on 127.0.0.1,
 * connecting goes through the {@link FaultProxy} for this (from, to) pair.
 */
class LabTransport implements Transport {
  readonly scheme = 'lab'
  readonly capabilities: TransportCapabilities = { ordered: true, remote: true }
  readonly #from: number
  readonly #lab: Lab
  readonly #tcp = new TcpTransport({ connectTimeout: 3000 })

  constructor(from: number, lab: Lab) {
    this.#from = from
    this.#lab = lab
  }

  async listen(url: string, onConnection: (c: Connection) => void): Promise<Listener> {
    const index = labIndex(url)
    const l = await this.#tcp.listen('tcp://127.0.0.1:0', onConnection)
    this.#lab.registerPort(index, parseTcpUrl(l.url).port)
    return { url, close: () => l.close() }
  }

  async connect(url: string): Promise<Connection> {
    const proxy = await this.#lab.proxyFor(this.#from, labIndex(url))
    if (proxy === undefined) throw new HearsayError(ErrorCodes.TRANSPORT_ERROR, `${url} is not listening`)
    return this.#tcp.connect(`tcp://127.0.0.1:${proxy.port}`)
  }
}

function labIndex(url: string): number {
  const m = /^lab:\/\/n(\d+)$/.exec(url)
  if (m === null) throw new TypeError(`a lab address looks like lab://n3, got ${JSON.stringify(url)}`)
  return Number(m[1])
}

/** What a {@link Lab} emits. */
export interface LabEvents {
  /** The lab's state, as it goes. */
  snapshot: (snapshot: LabSnapshot) => void
}

/**
 * N gossip nodes in this process, each with its own LevelDB directory and a real TCP listener
 * on loopback, every link between them passing through a {@link FaultProxy} (loss, latency,
 * partition). Each node writes to one shared LWW map; the lab watches the version vectors
 * converge. Emits `snapshot` (LabSnapshot) as it goes.
 */
export class Lab extends Emitter<LabEvents> {
  readonly options: LabOptions
  readonly #random: Random
  readonly #ports = new Map<number, number>()
  readonly #proxies = new Map<string, FaultProxy>()
  readonly #nodes: Node[] = []
  readonly #maps: LWWMap[] = []
  #dir = ''
  #partitioned = false
  #start = 0
  #written = 0
  readonly #timers = new Set<NodeJS.Timeout>()
  #stopped = false

  constructor(options: LabOptions) {
    super()
    this.options = options
    this.#random = createRandom(options.seed)
  }

  /** @internal */
  registerPort(index: number, port: number): void {
    this.#ports.set(index, port)
  }

  #half(i: number): number {
    return i < Math.ceil(this.options.nodes / 2) ? 0 : 1
  }

  /** @internal The proxy carrying connections from node `from` to node `to`, started on first use. */
  async proxyFor(from: number, to: number): Promise<FaultProxy | undefined> {
    const key = `${from}>${to}`
    let p = this.#proxies.get(key)
    if (p === undefined) {
      const port = this.#ports.get(to)
      if (port === undefined) return undefined
      p = new FaultProxy({ host: '127.0.0.1', port }, this.options, createRandom((this.options.seed ^ (from * 7919 + to * 104729)) >>> 0))
      this.#proxies.set(key, p)
      p.cut = this.#partitioned && this.#half(from) !== this.#half(to)
      await p.listen()
    }
    return p
  }

  #setPartition(on: boolean): void {
    this.#partitioned = on
    for (const [key, p] of this.#proxies) {
      const [from, to] = key.split('>').map(Number) as [number, number]
      p.cut = on && this.#half(from) !== this.#half(to)
    }
  }

  #later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t)
      fn()
    }, ms)
    this.#timers.add(t)
  }

  /** Ends a running {@link run} early (it still shuts everything down and cleans up). */
  stop(): void {
    this.#stopped = true
  }

  /** True once {@link stop} was called. */
  get stopped(): boolean {
    return this.#stopped
  }

  /** Proxy counters summed over every link. */
  proxyStats(): FaultStats {
    const total: FaultStats = { connections: 0, frames: 0, bytes: 0, lostFrames: 0, resets: 0, refused: 0 }
    for (const p of this.#proxies.values()) for (const k of Object.keys(total) as (keyof FaultStats)[]) total[k] += p.stats[k]
    return total
  }

  /** The current state of the run. */
  snapshot(): LabSnapshot {
    const n = this.options.nodes
    const expected = n * this.options.writes
    const views: LabNodeView[] = this.#maps.map((m, i) => {
      const vector = m.clock.toJSON() as Record<string, number>
      let have = 0
      for (const v of Object.values(vector)) have += v
      return { id: `n${i}`, vector, have, connected: this.#nodes[i]!.status().peers.filter((p) => p.connected).length }
    })
    const delivered = views.reduce((s, v) => s + v.have, 0)
    let converged = this.#written === expected && views.every((v) => v.have === expected)
    if (converged) {
      const first = Buffer.from(this.#maps[0]!.encodeState())
      converged = this.#maps.every((m) => first.equals(Buffer.from(m.encodeState())))
    }
    return {
      elapsed: performance.now() - this.#start,
      partitioned: this.#partitioned,
      written: this.#written,
      expected,
      nodes: views,
      progress: delivered / (n * expected),
      converged,
      proxy: this.proxyStats(),
    }
  }

  /**
   * Runs the lab until every node holds byte-identical maps with every write, or `timeout` ms.
   * Always shuts every node down and removes the data directories (unless `keep`).
   */
  async run(timeout: number, tick = 250): Promise<LabSummary> {
    const o = this.options
    this.#dir = await mkdtemp(join(tmpdir(), 'hearsay-lab-'))
    let converged = false
    let elapsed = 0
    let rounds = 0
    let bytesSent = 0
    try {
      for (let i = 0; i < o.nodes; i++) {
        const node = new Node({
          id: `n${i}`,
          store: new LevelStore(join(this.#dir, `n${i}`)),
          networkKey: `hearsay-lab-${o.seed}`,
          transports: [new LabTransport(i, this)],
          interval: o.interval,
          backoff: o.interval,
          maxBackoff: 8 * o.interval,
          authTimeout: Math.max(1000, 4 * o.interval + 4 * o.latency),
          random: createRandom(o.seed * 31 + i),
        })
        this.#nodes.push(node)
        await node.listen(`lab://n${i}`)
        this.#maps.push(await node.open(OBJECT, LWWMap))
      }
      this.#start = performance.now()
      if (o.partition > 0) {
        this.#setPartition(true)
        this.#later(o.partition, () => this.#setPartition(false))
      }
      // A ring plus one random chord per node; membership introduces the rest.
      for (let i = 0; i < o.nodes; i++) {
        const targets = new Set([(i + 1) % o.nodes])
        if (o.nodes > 2) targets.add((i + 1 + Math.floor(this.#random() * (o.nodes - 1))) % o.nodes)
        targets.delete(i)
        for (const t of targets) this.#nodes[i]!.connect(`lab://n${t}`).catch(() => {})
      }
      for (let i = 0; i < o.nodes; i++) {
        for (let w = 0; w < o.writes; w++) {
          this.#later(this.#random() * o.writeWindow, () => {
            const map = this.#maps[i]!
            // Every fifth write goes to a key all nodes fight over: last writer wins everywhere.
            if (w % 5 === 4) map.set('leader', `n${i}`)
            else map.set(`n${i}/${w}`, Math.round(this.#random() * 1000) / 10)
            this.#written++
          })
        }
      }
      const deadline = this.#start + timeout
      for (;;) {
        await new Promise((r) => setTimeout(r, tick))
        const snap = this.snapshot()
        this.emit('snapshot', snap)
        elapsed = snap.elapsed
        if (snap.converged) {
          converged = true
          break
        }
        if (performance.now() >= deadline || this.#stopped) break
      }
    } finally {
      for (const t of this.#timers) clearTimeout(t)
      this.#timers.clear()
      for (const node of this.#nodes) {
        const s = node.status()
        rounds += s.rounds
        bytesSent += s.bytesOut
      }
      await Promise.all(this.#nodes.map((n) => n.close().catch(() => {})))
      await Promise.all([...this.#proxies.values()].map((p) => p.close()))
      if (!o.keep) await rm(this.#dir, { recursive: true, force: true })
    }
    return {
      converged,
      elapsed,
      sinceHeal: Math.max(0, elapsed - o.partition),
      nodes: o.nodes,
      updates: o.nodes * o.writes,
      proxy: this.proxyStats(),
      bytesSent,
      rounds,
      dataDir: this.#dir,
    }
  }
}
