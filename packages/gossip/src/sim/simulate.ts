import { createHash } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import type { Replicated, ReplicatedClass, Store, Transport } from '@hearsay/core'
import { Simulation, type SimTimers } from './Simulation.js'
import { SimNetwork, type LinkOptions, type TrafficStats } from './SimNetwork.js'
import { SimDisk } from './SimDisk.js'

/** Random helpers handed to an object's `write` function; every draw comes from the run's one PRNG. */
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

/** One replicated object every simulated node hosts, and how to write to it at random. */
export interface SimObject<R extends Replicated<any> = Replicated<any>> {
  /** The object id (the same on every node). */
  readonly id: string
  /** Its replicated type. */
  readonly type: ReplicatedClass<R>
  /**
   * Performs one random local write on `replica`. A `TypeError`/`RangeError` thrown here (an op
   * the type refuses for its arguments, such as deleting from an empty list) is not a failure:
   * the write is skipped and not counted.
   */
  write(replica: R, random: SimRandom, context: { node: string; time: number }): void
}

/** What a node factory receives: everything a node must take from the simulation. */
export interface SimNodeEnv {
  /** The node id (`n0`, `n1`, ...), stable across restarts. */
  readonly id: string
  /** The address the simulator will `listen` on for it (`sim://<id>`). */
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
  /** The network key every node of the run shares. */
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

/** A partition in the fault plan. */
export interface SimPartition {
  /** Virtual ms it starts. */
  at: number
  /** Virtual ms it heals (default: the run's `heal`). */
  heal?: number
  /** The sides, by node id; default a random split in two halves. Nodes in no group form one more side. */
  groups?: string[][]
}

/** A crash in the fault plan. */
export interface SimCrash {
  /** The node (id or index). */
  node: string | number
  /** Virtual ms it crashes. */
  at: number
  /** Virtual ms it restarts from its store (default: the run's `heal`). */
  restart?: number
}

/** Faults to inject, all before `heal` unless noted. */
export interface SimFaults {
  /** Every link's behaviour (latency default 20 ms). Loss, duplication and reordering stay on after heal unless `healLinks` is set. */
  link?: LinkOptions
  /** Turn link loss, duplication and reordering off at heal (default false). */
  healLinks?: boolean
  /** Partitions; each heals at its `heal` or at the run's `heal`. */
  partitions?: SimPartition[]
  /** Crash-restarts: a count (random nodes and times before heal) or an explicit list. */
  crashes?: number | SimCrash[]
  /** Each node's wall clock is off by a fixed amount drawn from [-skew, skew] ms (default 0). */
  skew?: number
  /** Virtual ms a store write takes to become durable (default 0); a crash loses writes in flight. */
  writeLatency?: number
}

/** Options of {@link simulate}. */
export interface SimulateOptions {
  /** Seed of the run: the same seed and options replay the run exactly. */
  seed: number
  /** How many nodes (ids `n0` .. `n<N-1>`). */
  nodes: number
  /** The objects every node hosts and how to write to them. */
  objects: readonly SimObject<any>[]
  /** Random writes: a count spread uniformly over [0, 10 000) ms, or a count and a window. */
  ops?: number | { count: number; from?: number; until?: number }
  /** Faults to inject. */
  faults?: SimFaults
  /** Virtual ms at which every partition heals and every crashed node has restarted (default: the end of the op window + 5 000). Convergence is checked from then on. */
  heal?: number
  /** Give up at this virtual time (default `heal` + 120 × `interval`). */
  maxTime?: number
  /** Peers each node is told to connect to at start: a count of random other nodes (default 3) or a function returning node indices. */
  bootstrap?: number | ((index: number, count: number, random: SimRandom) => number[])
  /** Peers per gossip round (default 3). */
  fanout?: number
  /** Virtual ms between gossip rounds (default 1000). */
  interval?: number
  /** The shared network key (default `'hearsay-sim'`). */
  networkKey?: string
  /**
   * Builds a node from its environment; default a gossip `Node` configured from `env` and
   * `nodeOptions`. Pass your own to simulate another node implementation.
   */
  createNode?: (env: SimNodeEnv) => SimulatedNode
  /** Extra options for the default node factory. */
  nodeOptions?: Record<string, unknown>
  /** Most events to run (a guard against a runaway schedule; default 50 000 000). */
  maxEvents?: number
}

/** One node in a {@link SimReport}. */
export interface SimNodeReport {
  /** Node id. */
  id: string
  /** Starts so far (1 + restarts). */
  incarnation: number
  /** Whether the node was up at the end. */
  up: boolean
  /** Each object's version vector at the end, sorted by source. */
  vectors: Record<string, Record<string, number>>
  /** Updates waiting in causal buffers at the end, summed over objects. */
  pending: number
  /** Frames and bytes this node sent; bytes that reached it. */
  framesSent: number
  bytesSent: number
  bytesReceived: number
}

/** What {@link simulate} observed. Plain data: two runs with the same seed produce deep-equal reports. */
export interface SimReport {
  seed: number
  nodes: number
  /** After heal, every node held byte-identical `encodeState()` per object, equal vectors and empty causal buffers. */
  converged: boolean
  /** Virtual ms at which faults ended. */
  healedAt: number
  /** Virtual ms at which convergence was first observed (null if never). */
  convergedAt: number | null
  /** `convergedAt - healedAt` (0 when already converged at heal). */
  timeToConverge: number | null
  /** Gossip rounds from heal to convergence: `ceil(timeToConverge / interval)`. */
  rounds: number | null
  /** Virtual ms at the end of the run. */
  endTime: number
  /** Calls of an object's `write` that returned normally. */
  writes: number
  /** Seqs those writes produced (a write that changes nothing may produce none; a run-length write several). */
  updates: number
  /** Frames sent over the whole run, and per update. */
  messages: number
  messagesPerUpdate: number | null
  /** Payload bytes sent over the whole run, and per update. */
  bytes: number
  bytesPerUpdate: number | null
  /** Network counters (loss, duplicates, reordering, connections). */
  network: TrafficStats
  crashes: number
  restarts: number
  /** Events the simulation ran. */
  events: number
  /** SHA-256 over every object's final state on node n0 (hex); equal on every node when converged. */
  stateHash: string
  /** When not converged: the first difference found. */
  divergence: string | null
  /** Errors thrown by node callbacks or by starting nodes (their messages). */
  errors: string[]
  perNode: SimNodeReport[]
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
  ready: boolean
  node: SimulatedNode | undefined
  timers: ReturnType<Simulation['createTimers']> | undefined
  replicas: Map<string, Replicated<any>>
}

function makeRandom(sim: Simulation): SimRandom {
  return {
    next: () => sim.random(),
    int: (min, max) => sim.int(min, max),
    chance: (p) => sim.chance(p),
    pick: (items) => sim.pick(items),
    word: (length) => {
      const n = length ?? sim.int(1, 8)
      let s = ''
      for (let i = 0; i < n; i++) s += String.fromCharCode(97 + sim.int(0, 25))
      return s
    },
  }
}

function checkInt(name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${String(v)}`)
  return v
}

function checkTime(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a finite number >= 0, got ${String(v)}`)
  return v
}

let defaultFactory: ((env: SimNodeEnv, extra: Record<string, unknown>) => SimulatedNode) | undefined

/** @internal lets the package entry install the gossip `Node` as the default factory without an import cycle. */
export function setDefaultNodeFactory(f: (env: SimNodeEnv, extra: Record<string, unknown>) => SimulatedNode): void {
  defaultFactory = f
}

/**
 * Runs a whole network of nodes on virtual time: starts `nodes` nodes that each host every
 * object, performs random writes on random live nodes, injects the faults (lossy, duplicating,
 * reordering links; partitions; crashes with restart from the store; clock skew), heals at
 * `heal`, then runs until every node holds byte-identical `encodeState()` per object, equal
 * vectors and empty causal buffers, or until `maxTime`.
 *
 * Deterministic: every random choice (plan, links, nodes' own randomness) derives from `seed`,
 * and nodes see only virtual time and timers, so the same seed and options give a deep-equal
 * {@link SimReport}. Does not throw when the network fails to converge: check
 * `report.converged` (and `report.divergence`).
 *
 * @throws TypeError / RangeError for invalid options.
 *
 * @example
 * ```ts
 * import { simulate } from '@hearsay/gossip/sim'
 * import { LWWMap } from '@hearsay/model'
 * const report = await simulate({
 *   seed: 1, nodes: 20, ops: 200,
 *   objects: [{ id: 'prices', type: LWWMap, write: (m, r) => m.set(r.word(1), r.int(0, 99)) }],
 *   faults: { link: { loss: 0.2, duplicate: 0.05, reorder: 0.1, jitter: 10 }, crashes: 2, partitions: [{ at: 2000 }] },
 * })
 * console.log(report.converged, report.timeToConverge, report.bytesPerUpdate)
 * ```
 */
export async function simulate(options: SimulateOptions): Promise<SimReport> {
  if (options === null || typeof options !== 'object') throw new TypeError('options is an object such as { seed, nodes, objects }')
  const seed = options.seed
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${String(seed)}`)
  const n = checkInt('nodes', options.nodes, 1)
  const objects = options.objects
  if (!Array.isArray(objects) || objects.length === 0) throw new TypeError('objects is a non-empty array of { id, type, write }')
  const objectIds = new Set<string>()
  for (const o of objects) {
    if (o === null || typeof o !== 'object' || typeof o.id !== 'string' || typeof o.type !== 'function' || typeof o.write !== 'function') {
      throw new TypeError('each object is { id: string, type: ReplicatedClass, write(replica, random) }')
    }
    if (objectIds.has(o.id)) throw new TypeError(`object id ${o.id} appears twice`)
    objectIds.add(o.id)
  }
  const interval = checkTime('interval', options.interval ?? 1000)
  if (interval <= 0) throw new RangeError('interval must be > 0')
  const fanout = checkInt('fanout', options.fanout ?? 3, 1)
  const opsSpec = typeof options.ops === 'number' || options.ops === undefined ? { count: options.ops ?? 0 } : options.ops
  const opCount = checkInt('ops.count', opsSpec.count, 0)
  const opFrom = checkTime('ops.from', opsSpec.from ?? 0)
  const opUntil = checkTime('ops.until', opsSpec.until ?? Math.max(opFrom, Math.min(10_000, options.heal ?? 10_000)))
  if (opUntil < opFrom) throw new RangeError('ops.until must not be before ops.from')
  const healAt = checkTime('heal', options.heal ?? opUntil + 5000)
  if (healAt < opUntil) throw new RangeError('heal must not be before the end of the op window')
  const maxTime = checkTime('maxTime', options.maxTime ?? healAt + 120 * interval)
  const faults = options.faults ?? {}
  const networkKey = options.networkKey ?? 'hearsay-sim'
  const factory: (env: SimNodeEnv) => SimulatedNode =
    options.createNode ??
    ((env) => {
      if (defaultFactory === undefined) throw new TypeError('no default node: import @hearsay/gossip/sim through its package entry or pass createNode')
      return defaultFactory(env, options.nodeOptions ?? {})
    })

  const sim = new Simulation({ seed })
  const net = new SimNetwork(sim, faults.link ?? {})
  const random = makeRandom(sim)
  const ids = Array.from({ length: n }, (_, i) => `n${i}`)
  const indexOf = (node: string | number): number => {
    const i = typeof node === 'number' ? node : ids.indexOf(node)
    if (!Number.isSafeInteger(i) || i < 0 || i >= n) throw new RangeError(`no node ${String(node)} among ${n}`)
    return i
  }

  // The plan: every random choice made up front, in a fixed order.
  const skew = checkTime('faults.skew', faults.skew ?? 0)
  const boot = options.bootstrap ?? 3
  const hosts: Host[] = ids.map((id, index) => {
    let peers: number[]
    if (typeof boot === 'function') {
      peers = boot(index, n, random).filter((p) => p !== index).map((p) => indexOf(p))
    } else {
      const k = Math.min(checkInt('bootstrap', boot, 0), n - 1)
      const set = new Set<number>()
      while (set.size < k) {
        const p = sim.int(0, n - 1)
        if (p !== index) set.add(p)
      }
      peers = [...set].sort((a, b) => a - b)
    }
    return {
      id,
      index,
      url: `sim://${id}`,
      disk: new SimDisk(sim, { writeLatency: faults.writeLatency ?? 0 }),
      skew: skew > 0 ? Math.round((sim.random() * 2 - 1) * skew) : 0,
      peers,
      incarnation: 0,
      up: false,
      ready: false,
      node: undefined,
      timers: undefined,
      replicas: new Map(),
    }
  })
  const partitions = (faults.partitions ?? []).map((p) => {
    const at = checkTime('partition.at', p.at)
    const heal = checkTime('partition.heal', p.heal ?? healAt)
    if (heal > healAt || heal < at) throw new RangeError('a partition heals between its start and the run heal')
    let groups = p.groups
    if (groups === undefined) {
      const shuffled = [...ids]
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = sim.int(0, i)
        ;[shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!]
      }
      groups = [shuffled.slice(0, Math.floor(n / 2)).sort()]
    }
    return { at, heal, groups }
  })
  let crashPlan: Array<{ host: number; at: number; restart: number }>
  if (typeof faults.crashes === 'number') {
    const k = Math.min(checkInt('faults.crashes', faults.crashes, 0), n)
    const chosen = new Set<number>()
    while (chosen.size < k) chosen.add(sim.int(0, n - 1))
    crashPlan = [...chosen].map((host) => {
      const at = opFrom + (0.1 + 0.6 * sim.random()) * (healAt - opFrom)
      const restart = Math.min(healAt, at + 2 * interval + sim.random() * 0.25 * (healAt - opFrom))
      return { host, at, restart }
    })
  } else {
    crashPlan = (faults.crashes ?? []).map((c) => {
      const at = checkTime('crash.at', c.at)
      const restart = checkTime('crash.restart', c.restart ?? healAt)
      if (restart < at || restart > healAt) throw new RangeError('a crash restarts between its crash and the run heal')
      return { host: indexOf(c.node), at, restart }
    })
  }
  const opTimes = Array.from({ length: opCount }, () => opFrom + sim.random() * (opUntil - opFrom)).sort((a, b) => a - b)

  // ---- running ----
  const errors: string[] = []
  const record = (err: unknown) => {
    if (errors.length < 50) errors.push(err instanceof Error ? `${err.name}: ${err.message}` : String(err))
  }
  let dirty = false
  const markDirty = () => {
    dirty = true
  }
  let writes = 0
  let updates = 0
  let crashes = 0
  let restarts = 0

  const start = async (h: Host): Promise<void> => {
    const incarnation = ++h.incarnation
    const transport = net.transport(h.id)
    const timers = sim.createTimers()
    const store = h.disk.mount()
    const env: SimNodeEnv = {
      id: h.id,
      url: h.url,
      incarnation,
      store,
      transport,
      now: () => sim.now() + h.skew,
      timers,
      random: sim.fork(),
      networkKey,
      fanout,
      interval,
    }
    h.up = true
    h.ready = false
    h.timers = timers
    h.replicas = new Map()
    const alive = () => h.up && h.incarnation === incarnation
    try {
      const node = factory(env)
      h.node = node
      for (const o of objects) {
        const r = await node.open(o.id, o.type)
        if (!alive()) return
        r.on('ranges', markDirty)
        h.replicas.set(o.id, r)
      }
      await node.listen(h.url)
      if (!alive()) return
      for (const p of h.peers) {
        Promise.resolve()
          .then(() => node.connect(hosts[p]!.url))
          .catch(() => {}) // a peer that is down now is the node's business to retry
      }
      h.ready = true
      dirty = true
    } catch (err) {
      record(err)
    }
  }

  const crash = (h: Host): void => {
    if (!h.up) return
    h.up = false
    h.ready = false
    crashes++
    net.crash(h.id)
    h.timers?.kill()
    h.disk.crash()
    for (const r of h.replicas.values()) r.off('ranges', markDirty)
    h.replicas = new Map()
    h.node = undefined
  }

  const restart = (h: Host): void => {
    if (h.up) return
    restarts++
    void start(h)
  }

  for (const h of hosts) sim.schedule(0, () => void start(h))
  for (const t of opTimes) {
    sim.scheduleAt(t, () => {
      const live = hosts.filter((h) => h.ready)
      if (live.length === 0) return
      const h = sim.pick(live)
      const o = sim.pick(objects)
      const r = h.replicas.get(o.id)
      if (r === undefined) return
      const before = r.clock.get(r.id)
      try {
        o.write(r, random, { node: h.id, time: sim.time })
        writes++
        updates += r.clock.get(r.id) - before
      } catch (err) {
        if (!(err instanceof TypeError || err instanceof RangeError)) record(err)
      }
    })
  }
  for (const p of partitions) {
    sim.scheduleAt(p.at, () => net.partition(p.groups))
    sim.scheduleAt(p.heal, () => net.heal())
  }
  for (const c of crashPlan) {
    sim.scheduleAt(c.at, () => crash(hosts[c.host]!))
    sim.scheduleAt(c.restart, () => restart(hosts[c.host]!))
  }
  sim.scheduleAt(healAt, () => {
    net.heal()
    if (faults.healLinks) net.setDefaults({ loss: 0, duplicate: 0, reorder: 0 })
    for (const h of hosts) restart(h)
    dirty = true
  })

  let convergedAt: number | null = null
  const check = (): string | null => {
    for (const h of hosts) if (!h.ready) return `node ${h.id} is not up`
    for (const o of objects) {
      const first = hosts[0]!.replicas.get(o.id)!
      for (const h of hosts) {
        const r = h.replicas.get(o.id)!
        if (r.pendingCount !== 0) return `${h.id}/${o.id} holds ${r.pendingCount} pending updates`
        if (r.clock.compare(first.clock) !== 'equal') {
          return `${h.id}/${o.id} vector ${JSON.stringify(r.clock.toJSON())} differs from n0's ${JSON.stringify(first.clock.toJSON())}`
        }
      }
    }
    for (const o of objects) {
      const s0 = hosts[0]!.replicas.get(o.id)!.encodeState()
      for (const h of hosts) {
        const s = h.replicas.get(o.id)!.encodeState()
        if (Buffer.compare(s, s0) !== 0) {
          const v0 = hosts[0]!.replicas.get(o.id)!.toJSON()
          const v = h.replicas.get(o.id)!.toJSON()
          return `${h.id}/${o.id} encodes differently from n0 with equal vectors${isDeepStrictEqual(v, v0) ? ' (equal values)' : `: ${JSON.stringify(v).slice(0, 200)} vs ${JSON.stringify(v0).slice(0, 200)}`}`
        }
      }
    }
    return null
  }

  await sim.run({
    until: maxTime,
    maxEvents: options.maxEvents ?? 50_000_000,
    stopWhen: () => {
      if (!dirty || sim.time < healAt) return false
      dirty = false
      if (check() !== null) return false
      convergedAt = sim.time
      return true
    },
  })
  for (const err of sim.errors) record(err)

  const divergence = convergedAt === null ? check() ?? 'not converged' : null
  const hash = createHash('sha256')
  const n0 = hosts[0]!
  for (const o of objects) {
    const r = n0.replicas.get(o.id)
    hash.update(o.id)
    hash.update(r === undefined ? new Uint8Array() : r.encodeState())
  }
  const perNode: SimNodeReport[] = hosts.map((h) => {
    const vectors: Record<string, Record<string, number>> = {}
    let pending = 0
    for (const o of objects) {
      const r = h.replicas.get(o.id)
      vectors[o.id] = r === undefined ? {} : r.clock.toJSON()
      pending += r?.pendingCount ?? 0
    }
    const s = net.hostStats(h.id)
    return { id: h.id, incarnation: h.incarnation, up: h.up, vectors, pending, framesSent: s.framesSent, bytesSent: s.bytesSent, bytesReceived: s.bytesDelivered }
  })
  const stats = { ...net.stats }
  const endTime = sim.time

  // Stop every node: kill its timers first so nothing it schedules can run, then ask it to close.
  for (const h of hosts) {
    const node = h.node
    h.timers?.kill()
    h.up = false
    if (node !== undefined) {
      try {
        void Promise.resolve(node.close()).catch(() => {})
      } catch {
        // a node that throws on close changes nothing in the report
      }
    }
    net.crash(h.id)
    h.disk.crash()
  }

  const timeToConverge = convergedAt === null ? null : Math.max(0, convergedAt - healAt)
  return {
    seed,
    nodes: n,
    converged: convergedAt !== null,
    healedAt: healAt,
    convergedAt,
    timeToConverge,
    rounds: timeToConverge === null ? null : Math.ceil(timeToConverge / interval),
    endTime,
    writes,
    updates,
    messages: stats.framesSent,
    messagesPerUpdate: updates > 0 ? stats.framesSent / updates : null,
    bytes: stats.bytesSent,
    bytesPerUpdate: updates > 0 ? stats.bytesSent / updates : null,
    network: stats,
    crashes,
    restarts,
    events: sim.eventCount,
    stateHash: hash.digest('hex'),
    divergence,
    errors,
    perNode,
  }
}
