import { bytesEqual, explainDivergence, type Replicated, type ReplicatedClass, type Store, type Transport } from '@hearsay/core'
import { Simulation, type RunOptions, type SimTimers, type TimerScope } from './Simulation.js'
import { SimNetwork, type LinkOptions } from './SimNetwork.js'
import { SimDisk } from './SimDisk.js'
import { Node } from '../Node.js'
import type { NodeOptions } from '../options.js'

/** Random helpers drawing from a simulation's one PRNG. */
export interface SimRandom {
  /** A float in [0, 1). */
  next(): number
  /** An integer in [min, max]. */
  int(min: number, max: number): number
  /** True with probability `p`. */
  chance(p: number): boolean
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T
  /** A string of `length` lowercase letters (default 1..8 letters). */
  word(length?: number): string
}

/** What a node factory receives: everything a node must take from the simulation. */
export interface SimNodeEnv {
  /** The node id (`n0`, `n1`, ...), stable across restarts. */
  readonly id: string
  /** The address the simulator listens on for it (`sim://<id>`). */
  readonly url: string
  /** Which start this is: 1 for the first, 2 after the first crash... */
  readonly incarnation: number
  /** The node's store: durable across crashes, cut off when this incarnation dies. */
  readonly store: Store
  /** The `sim:` transport of this incarnation. */
  readonly transport: Transport
  /** Wall clock (virtual, with this node's skew). */
  readonly now: () => number
  /** Timers in virtual time, cancelled when this incarnation dies. */
  readonly timers: SimTimers
  /** This incarnation's PRNG, forked from the run's seed. */
  readonly random: () => number
  /** The network key every node of the cluster shares. */
  readonly networkKey: string
  /** Peers picked per gossip round. */
  readonly fanout: number
  /** Virtual ms between gossip rounds. */
  readonly interval: number
}

/** The part of a node the simulator drives; the gossip `Node` satisfies it. */
export interface SimulatedNode {
  /** The replica of object `id`, created or loaded from the store. */
  open(id: string, type: ReplicatedClass): Replicated<any> | Promise<Replicated<any>>
  /** Starts accepting connections on `url`. */
  listen(url: string): unknown
  /** Connects to the node at `url` (and keeps reconnecting, as the node sees fit). */
  connect(url: string): unknown
  /** Shuts the node down. */
  close(): unknown
}

/** One object every node of a cluster hosts. */
export interface SimClusterObject {
  /** The object id, the same on every node. */
  readonly id: string
  /** Its replicated type. */
  readonly type: ReplicatedClass
}

/** Options of {@link SimCluster}. */
export interface SimClusterOptions {
  /** Seed of the one PRNG everything derives from. */
  seed: number
  /** How many nodes (ids `n0` .. `n<N-1>`). */
  nodes: number
  /** The objects every node opens when it starts. */
  objects: readonly SimClusterObject[]
  /** The default link (latency default 20 ms). */
  link?: LinkOptions
  /** Peers each node is told to connect to when it starts: a count of random other nodes (default 3) or a function returning node indices. */
  bootstrap?: number | ((index: number, count: number, random: SimRandom) => number[])
  /** Peers per gossip round (default 3). */
  fanout?: number
  /** Virtual ms between gossip rounds (default 1000). */
  interval?: number
  /** The shared network key (default `'hearsay-sim'`). */
  networkKey?: string
  /** Each node's wall clock is off by a fixed amount drawn from [-skew, skew] ms (default 0). */
  skew?: number
  /** Virtual ms a store write takes to become durable (default 0); a crash loses writes in flight. */
  writeLatency?: number
  /** Builds a node from its environment; default a gossip `Node` configured from `env` and `nodeOptions`. */
  createNode?: (env: SimNodeEnv) => SimulatedNode
  /** Extra options for the default node (`maxConnections`, `heartbeatInterval`, `compaction`, ...). */
  nodeOptions?: Partial<NodeOptions>
}

/** One simulated host as the cluster exposes it. */
export interface SimHost {
  /** Node id. */
  readonly id: string
  /** Its index in {@link SimCluster.hosts}. */
  readonly index: number
  /** The address it listens on. */
  readonly url: string
  /** Its durable storage. */
  readonly disk: SimDisk
  /** Its fixed clock skew, ms. */
  readonly skew: number
  /** Indices of the nodes it connects to when it starts. */
  readonly peers: readonly number[]
  /** Starts so far. */
  readonly incarnation: number
  /** True from start until a crash. */
  readonly up: boolean
  /** True once started, with every object open and listening. */
  readonly ready: boolean
  /** The running node, when up. */
  readonly node: SimulatedNode | undefined
  /** The replicas of the running node by object id (empty while down). */
  readonly replicas: ReadonlyMap<string, Replicated<any>>
}

interface Host {
  readonly id: string
  readonly index: number
  readonly url: string
  readonly disk: SimDisk
  readonly skew: number
  readonly peers: number[]
  incarnation: number
  up: boolean
  starting: boolean
  ready: boolean
  node: SimulatedNode | undefined
  timers: TimerScope | undefined
  replicas: Map<string, Replicated<any>>
  /** A rollback of the disk under way; the next start waits for it. */
  diskFault: Promise<unknown> | undefined
}

/** @internal */
export function checkInt(name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${String(v)}`)
  return v
}

/** @internal */
export function checkTime(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a finite number >= 0, got ${String(v)}`)
  return v
}

/**
 * The default node: a gossip {@link Node} taking everything from the simulation (id, store,
 * transport, clock, timers, randomness, key, fanout, interval), plus `extra` options.
 */
export function createSimNode(env: SimNodeEnv, extra: Partial<NodeOptions> = {}): Node {
  return new Node({
    ...extra,
    id: env.id,
    store: env.store,
    networkKey: env.networkKey,
    fanout: env.fanout,
    interval: env.interval,
    transports: [env.transport, ...(extra.transports ?? [])],
    now: env.now,
    timers: env.timers,
    random: env.random,
  })
}

/**
 * A network of simulated nodes you drive step by step: start them, write, crash and restart
 * them, partition the network, run virtual time, and check convergence. {@link simulate} is
 * built on it; use it directly for custom scenarios and measurements.
 *
 * Every node gets its own {@link SimDisk} (kept across crashes), a fresh `sim:` transport,
 * timer scope and PRNG per incarnation, and the simulation's virtual clock plus its skew.
 * All random choices derive from `seed`; the same calls in the same order replay exactly.
 *
 * @example
 * ```ts
 * const cluster = new SimCluster({ seed: 1, nodes: 100, objects: [{ id: 'm', type: LWWMap }] })
 * cluster.start()
 * await cluster.run({ until: 10_000 })
 * ;(cluster.replica(0, 'm') as LWWMap).set('k', 1)
 * const at = await cluster.runUntilConverged({ maxTime: 60_000 })
 * ```
 */
export class SimCluster {
  /** The simulation (virtual time, PRNG). */
  readonly sim: Simulation
  /** The network between the nodes. */
  readonly network: SimNetwork
  /** Random helpers on the simulation's PRNG. */
  readonly random: SimRandom
  /** The objects every node hosts. */
  readonly objects: readonly SimClusterObject[]
  /** Virtual ms between gossip rounds. */
  readonly interval: number
  readonly #hosts: Host[]
  readonly #factory: (env: SimNodeEnv) => SimulatedNode
  readonly #networkKey: string
  readonly #fanout: number
  readonly #errors: string[] = []
  readonly #listeners = new Set<() => void>()
  #updates = 0
  #crashes = 0
  #restarts = 0
  #rollbacks = 0
  #tailLosses = 0
  #lostWrites = 0
  #closed = false

  /** @throws TypeError / RangeError for invalid options. */
  constructor(options: SimClusterOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError('options is an object such as { seed, nodes, objects }')
    if (!Number.isSafeInteger(options.seed)) throw new RangeError(`seed must be a safe integer, got ${String(options.seed)}`)
    const n = checkInt('nodes', options.nodes, 1)
    const objects = options.objects
    if (!Array.isArray(objects) || objects.length === 0) throw new TypeError('objects is a non-empty array of { id, type }')
    const seen = new Set<string>()
    for (const o of objects) {
      if (o === null || typeof o !== 'object' || typeof o.id !== 'string' || typeof o.type !== 'function') throw new TypeError('each object is { id: string, type: ReplicatedClass }')
      if (seen.has(o.id)) throw new TypeError(`object id ${o.id} appears twice`)
      seen.add(o.id)
    }
    this.objects = objects
    this.interval = checkTime('interval', options.interval ?? 1000)
    if (this.interval <= 0) throw new RangeError('interval must be > 0')
    this.#fanout = checkInt('fanout', options.fanout ?? 3, 1)
    this.#networkKey = options.networkKey ?? 'hearsay-sim'
    const extra = options.nodeOptions ?? {}
    this.#factory = options.createNode ?? ((env) => createSimNode(env, extra))
    const sim = (this.sim = new Simulation({ seed: options.seed }))
    this.network = new SimNetwork(sim, options.link ?? {})
    const random = (this.random = {
      next: () => sim.random(),
      int: (min: number, max: number) => sim.int(min, max),
      chance: (p: number) => sim.chance(p),
      pick: <T>(items: readonly T[]) => sim.pick(items),
      word: (length?: number) => {
        const len = length ?? sim.int(1, 8)
        let s = ''
        for (let i = 0; i < len; i++) s += String.fromCharCode(97 + sim.int(0, 25))
        return s
      },
    })
    const skew = checkTime('skew', options.skew ?? 0)
    const writeLatency = checkTime('writeLatency', options.writeLatency ?? 0)
    const boot = options.bootstrap ?? 3
    this.#hosts = Array.from({ length: n }, (_, index) => {
      let peers: number[]
      if (typeof boot === 'function') {
        peers = [...new Set(boot(index, n, random))].filter((p) => p !== index)
        for (const p of peers) if (!Number.isSafeInteger(p) || p < 0 || p >= n) throw new RangeError(`bootstrap(${index}) returned ${p}, not a node index below ${n}`)
      } else {
        const k = Math.min(checkInt('bootstrap', boot, 0), n - 1)
        const set = new Set<number>()
        while (set.size < k) {
          const p = sim.int(0, n - 1)
          if (p !== index) set.add(p)
        }
        peers = [...set].sort((a, b) => a - b)
      }
      const id = `n${index}`
      return {
        id,
        index,
        url: `sim://${id}`,
        disk: new SimDisk(sim, { writeLatency }),
        skew: skew > 0 ? Math.round((sim.random() * 2 - 1) * skew) : 0,
        peers,
        incarnation: 0,
        up: false,
        starting: false,
        ready: false,
        node: undefined,
        timers: undefined,
        replicas: new Map(),
        diskFault: undefined,
      }
    })
  }

  /** The hosts, in index order. */
  get hosts(): readonly SimHost[] {
    return this.#hosts
  }

  /** Errors thrown while starting nodes or by node callbacks (messages, at most 50). */
  get errors(): readonly string[] {
    return [...this.#errors, ...this.sim.errors.map(describe)].slice(0, 50)
  }

  /** Seqs produced by {@link write} calls. */
  get updates(): number {
    return this.#updates
  }

  /** Crashes so far. */
  get crashes(): number {
    return this.#crashes
  }

  /** Restarts so far. */
  get restarts(): number {
    return this.#restarts
  }

  /** Disk rollbacks so far ({@link rollBack}). */
  get rollbacks(): number {
    return this.#rollbacks
  }

  /** Log tails lost so far ({@link loseTail}). */
  get tailLosses(): number {
    return this.#tailLosses
  }

  /** Durable disk writes (appends, compactions, metadata) that rollbacks and lost tails undid. */
  get lostWrites(): number {
    return this.#lostWrites
  }

  #index(node: string | number): number {
    const i = typeof node === 'number' ? node : /^n\d+$/.test(node) ? Number(node.slice(1)) : -1
    if (!Number.isSafeInteger(i) || i < 0 || i >= this.#hosts.length) throw new RangeError(`no node ${String(node)} among ${this.#hosts.length}`)
    return i
  }

  /** The host by id or index. @throws RangeError for an unknown node. */
  host(node: string | number): SimHost {
    return this.#hosts[this.#index(node)]!
  }

  /** The replica of `objectId` on a node, while that node is ready. */
  replica(node: string | number, objectId: string): Replicated<any> | undefined {
    return this.#hosts[this.#index(node)]!.replicas.get(objectId)
  }

  /** Calls `fn` whenever any replica applies something or a node becomes ready (for cheap convergence polling). */
  onChange(fn: () => void): () => void {
    this.#listeners.add(fn)
    return () => this.#listeners.delete(fn)
  }

  #changed = (): void => {
    for (const fn of this.#listeners) fn()
  }

  /** Schedules every node that is down to start now (in index order). */
  start(): void {
    for (const h of this.#hosts) {
      if (h.up || h.starting) continue
      h.starting = true
      this.sim.schedule(0, () => void this.#start(h))
    }
  }

  async #start(h: Host): Promise<void> {
    h.starting = false
    if (h.up || this.#closed) return
    if (h.diskFault !== undefined) await h.diskFault
    if (h.up || this.#closed) return
    const incarnation = ++h.incarnation
    const transport = this.network.transport(h.id)
    const timers = this.sim.createTimers()
    const store = h.disk.mount()
    const sim = this.sim
    const env: SimNodeEnv = {
      id: h.id,
      url: h.url,
      incarnation,
      store,
      transport,
      now: () => sim.now() + h.skew,
      timers,
      random: sim.fork(),
      networkKey: this.#networkKey,
      fanout: this.#fanout,
      interval: this.interval,
    }
    h.up = true
    h.ready = false
    h.timers = timers
    h.replicas = new Map()
    const alive = () => h.up && h.incarnation === incarnation
    try {
      const node = this.#factory(env)
      h.node = node
      for (const o of this.objects) {
        const r = await node.open(o.id, o.type)
        if (!alive()) return
        r.on('ranges', this.#changed)
        h.replicas.set(o.id, r)
      }
      await node.listen(h.url)
      if (!alive()) return
      for (const p of h.peers) {
        // A peer that is down now is the node's business to retry.
        Promise.resolve()
          .then(() => node.connect(this.#hosts[p]!.url))
          .catch(() => {})
      }
      h.ready = true
      this.#changed()
    } catch (err) {
      this.#record(err)
    }
  }

  #record(err: unknown): void {
    if (this.#errors.length < 50) this.#errors.push(describe(err))
  }

  /**
   * Crashes a node now: its connections drop (peers notice as the network lets them), its timers
   * die, its memory is gone; only what its disk made durable survives. No-op when it is down.
   */
  crash(node: string | number): void {
    const h = this.#hosts[this.#index(node)]!
    if (!h.up) return
    h.up = false
    h.ready = false
    this.#crashes++
    this.network.crash(h.id)
    h.timers?.kill()
    h.disk.crash()
    for (const r of h.replicas.values()) r.off('ranges', this.#changed)
    h.replicas = new Map()
    h.node = undefined
  }

  /**
   * Crashes a node (when up) and puts its disk back as it was after its first `mark` durable
   * writes (read {@link SimDisk.writes} earlier): its data directory restored from a backup
   * taken then. It stays down until {@link restart}.
   * @throws RangeError for an unknown node or a mark past what the disk wrote.
   */
  rollBack(node: string | number, mark: number): void {
    const h = this.#hosts[this.#index(node)]!
    if (!Number.isSafeInteger(mark) || mark < 0 || mark > h.disk.writes) throw new RangeError(`mark must be an integer in [0, ${h.disk.writes}], got ${mark}`)
    this.crash(h.index)
    this.#rollbacks++
    this.#lostWrites += h.disk.writes - mark
    this.#diskFault(h, () => h.disk.rollBack(mark))
  }

  /**
   * Crashes a node (when up) and loses the last `count` durable writes of its disk, as a log
   * whose tail a crash or a fault took. It stays down until {@link restart}.
   * @returns how many writes were lost (at most what the disk holds).
   */
  loseTail(node: string | number, count: number): number {
    const h = this.#hosts[this.#index(node)]!
    checkInt('count', count, 0)
    this.crash(h.index)
    const lost = Math.min(count, h.disk.writes)
    this.#tailLosses++
    this.#lostWrites += lost
    this.#diskFault(h, () => h.disk.loseTail(lost))
    return lost
  }

  #diskFault(h: Host, fn: () => Promise<unknown>): void {
    const before = h.diskFault ?? Promise.resolve()
    h.diskFault = before.then(fn).catch((err: unknown) => this.#record(err))
  }

  /** Restarts a crashed node from its disk (it becomes ready once its objects are loaded). No-op when it is up. */
  restart(node: string | number): void {
    const h = this.#hosts[this.#index(node)]!
    if (h.up || h.starting) return
    h.starting = true
    this.#restarts++
    this.sim.schedule(0, () => void this.#start(h))
  }

  /**
   * Performs a local write on a node's replica now: `fn(replica)`. Returns the seqs it
   * produced (0 for a write that changed nothing), or null when the node is not ready.
   * Whatever `fn` throws is thrown: the caller decides which refusals are expected (swallowing
   * TypeErrors here once hid types that crash).
   */
  write<R extends Replicated<any>>(node: string | number, objectId: string, fn: (replica: R) => void): number | null {
    const r = this.replica(node, objectId) as R | undefined
    if (r === undefined) return null
    const before = r.clock.get(r.id)
    fn(r)
    const made = r.clock.get(r.id) - before
    this.#updates += made
    return made
  }

  /** Runs the simulation (see {@link Simulation.run}). */
  run(options?: RunOptions): ReturnType<Simulation['run']> {
    return this.sim.run(options)
  }

  /**
   * Checks convergence now: every node ready and, per object, empty causal buffers, equal
   * vectors and byte-identical `encodeState()`. Returns null when converged, otherwise the
   * first difference found.
   */
  divergence(): string | null {
    const hosts = this.#hosts
    for (const h of hosts) if (!h.ready) return `node ${h.id} is not up`
    for (const o of this.objects) {
      const first = hosts[0]!.replicas.get(o.id)!
      for (const h of hosts) {
        const r = h.replicas.get(o.id)!
        if (r.pendingCount !== 0) return `${h.id}/${o.id} holds ${r.pendingCount} pending updates`
        if (r.clock.compare(first.clock) !== 'equal') {
          return `${h.id}/${o.id} vector ${JSON.stringify(r.clock.toJSON())} differs from n0's ${JSON.stringify(first.clock.toJSON())}`
        }
      }
    }
    for (const o of this.objects) {
      const r0 = hosts[0]!.replicas.get(o.id)!
      const s0 = r0.encodeState()
      for (const h of hosts) {
        const r = h.replicas.get(o.id)!
        if (!bytesEqual(r.encodeState(), s0)) {
          const v0 = JSON.stringify(r0.toJSON())
          const v = JSON.stringify(r.toJSON())
          return `${h.id}/${o.id} encodes differently from n0 with equal vectors${v === v0 ? ' (equal values)' : `: ${v.slice(0, 200)} vs ${v0.slice(0, 200)}`}`
        }
      }
    }
    return null
  }

  /**
   * Why the nodes differ, for a failing run's report: per object, {@link explainDivergence}
   * between n0 and the first node that differs from it (which ranges one lacks, what waits in a
   * causal buffer and for which dot, what was refused, equal vectors over different content).
   * Empty when converged. Deterministic, so reports stay deep-equal across replays.
   */
  explain(): string[] {
    const hosts = this.#hosts
    const lines: string[] = []
    for (const h of hosts) if (!h.ready) lines.push(`node ${h.id} is not up`)
    for (const o of this.objects) {
      const r0 = hosts[0]?.replicas.get(o.id)
      if (r0 === undefined) continue
      for (const h of hosts.slice(1)) {
        const r = h.replicas.get(o.id)
        if (r === undefined) continue
        const report = explainDivergence(r0, r)
        if (report.converged) continue
        for (const l of report.lines.slice(0, 12)) lines.push(`${o.id}: ${l}`)
        if (report.lines.length > 12) lines.push(`${o.id}: and ${report.lines.length - 12} more`)
        break
      }
    }
    return lines
  }

  /**
   * Runs until {@link divergence} is null (checked whenever a replica applies something or a
   * node becomes ready, and not before virtual time `from`), or until `maxTime`.
   * @returns the virtual time convergence was observed at, or null.
   */
  async runUntilConverged(options: { from?: number; maxTime: number; maxEvents?: number }): Promise<number | null> {
    const from = options.from ?? this.sim.time
    let dirty = true
    const off = this.onChange(() => {
      dirty = true
    })
    let at: number | null = null
    try {
      // A check right at `from`, in case nothing changes after it.
      if (from > this.sim.time) this.sim.scheduleAt(from, () => (dirty = true))
      await this.sim.run({
        until: options.maxTime,
        maxEvents: options.maxEvents ?? 50_000_000,
        stopWhen: () => {
          if (!dirty || this.sim.time < from) return false
          dirty = false
          if (this.divergence() !== null) return false
          at = this.sim.time
          return true
        },
      })
    } finally {
      off()
    }
    return at
  }

  /**
   * Stops every node: kills its timers (so nothing it schedules runs), asks it to close, and
   * takes it off the network. The cluster cannot be started again.
   */
  close(): void {
    this.#closed = true
    for (const h of this.#hosts) {
      const node = h.node
      h.timers?.kill()
      h.up = false
      h.ready = false
      if (node !== undefined) {
        try {
          void Promise.resolve(node.close()).catch(() => {})
        } catch {
          // a node that throws on close changes nothing here
        }
      }
      h.node = undefined
      this.network.crash(h.id)
      h.disk.crash()
    }
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err)
}
