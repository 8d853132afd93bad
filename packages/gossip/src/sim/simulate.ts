import { sha256 } from '@noble/hashes/sha2.js'
import { toHex, type Replicated, type ReplicatedClass } from '@hearsay/core'
import type { LinkOptions, TrafficStats } from './SimNetwork.js'
import type { NodeOptions } from '../options.js'
import { SimCluster, checkInt, checkTime, type SimNodeEnv, type SimRandom, type SimulatedNode } from './SimCluster.js'

/** One replicated object every simulated node hosts, and how to write to it at random. */
export interface SimObject<R extends Replicated<any> = Replicated<any>> {
  /** The object id (the same on every node). */
  readonly id: string
  /** Its replicated type. */
  readonly type: ReplicatedClass<R>
  /**
   * Performs one random local write on `replica`. Anything it throws is a crash of the type under
   * test and fails the run (`report.ok` is false, the error is in `report.errors`), unless
   * {@link refuses} declares it.
   */
  write(replica: R, random: SimRandom, context: { node: string; time: number }): void
  /**
   * The refusals this object's writes may throw without failing the run (an op the type refuses
   * for its arguments, such as deleting from an empty list): such a write is skipped and counted
   * in `report.refusedWrites`. Default: none, every throw is a crash. A run in which most writes
   * are refused fails too, since it tests almost nothing.
   */
  refuses?: (error: unknown) => boolean
}

/** A partition in the fault plan. */
export interface SimPartition {
  /** Virtual ms it starts. */
  at: number
  /** Virtual ms it heals (default: the run's `heal`). */
  heal?: number
  /** The sides, by node id; default a random half of the nodes against the rest. Nodes in no group form one more side. */
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

/** A disk rollback in the fault plan: the node's data directory restored from an older backup. */
export interface SimRollback {
  /** The node (id or index). */
  node: string | number
  /** Virtual ms the backup is taken: the disk goes back to what was durable then. */
  backup: number
  /** Virtual ms the node crashes and its disk is put back (after `backup`). */
  at: number
  /** Virtual ms it restarts (default: the run's `heal`). */
  restart?: number
}

/** A lost log tail in the fault plan: the node crashes and its last durable writes are gone. */
export interface SimTailLoss {
  /** The node (id or index). */
  node: string | number
  /** Virtual ms it crashes. */
  at: number
  /** How many of its last durable writes (appends, compactions, metadata) are lost (default 1..16, drawn from the seed). */
  writes?: number
  /** Virtual ms it restarts (default: the run's `heal`). */
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
  /** Crash-restarts: a count (distinct random nodes at random times before heal) or an explicit list. */
  crashes?: number | SimCrash[]
  /**
   * Disk rollbacks: a count (random nodes, each restored from a backup taken at a random earlier
   * time) or an explicit list. What the node wrote after the backup and no peer received is lost
   * with it; nothing else may be, and the run must still converge.
   */
  rollbacks?: number | SimRollback[]
  /** Lost log tails: a count (random nodes at random times, 1..16 writes each) or an explicit list. */
  tailLosses?: number | SimTailLoss[]
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
  /** Random writes on random ready nodes and objects: a count spread uniformly over [0, 10 000) ms (or [0, heal) when `heal` is earlier), or a count and a window. */
  ops?: number | { count: number; from?: number; until?: number }
  /** Faults to inject. */
  faults?: SimFaults
  /** Virtual ms at which every partition heals and every crashed node restarts (default: the end of the op window + 5 000). Convergence is checked from then on. */
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
  /** Builds a node from its environment; default a gossip `Node` from `env` and `nodeOptions`. Pass your own to simulate another node implementation. */
  createNode?: (env: SimNodeEnv) => SimulatedNode
  /** Extra options for the default node (`maxConnections`, `heartbeatInterval`, `compaction`, ...). */
  nodeOptions?: Partial<NodeOptions>
  /** Most events to run (a guard against a runaway schedule; default 50 000 000). */
  maxEvents?: number
  /** Called at the end of the run, before the nodes are stopped: inspect the replicas of a failing run here. */
  inspect?: (cluster: SimCluster) => void | Promise<void>
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
  /** Frames this node sent. */
  framesSent: number
  /** Payload bytes this node sent. */
  bytesSent: number
  /** Payload bytes that reached it. */
  bytesReceived: number
}

/** What {@link simulate} observed. Plain data: two runs with the same seed produce deep-equal reports. */
export interface SimReport {
  /** The run's seed. */
  seed: number
  /** How many nodes ran. */
  nodes: number
  /**
   * The run passed: it `converged`, and no write crashed, no node callback threw and no more
   * than half the writes were refused (see `errors`). Check this, not `converged` alone.
   */
  ok: boolean
  /** After heal, every node held byte-identical `encodeState()` per object, equal vectors and empty causal buffers. */
  converged: boolean
  /** Virtual ms at which faults ended. */
  healedAt: number
  /** Virtual ms at which convergence was first observed (null if never). */
  convergedAt: number | null
  /** `convergedAt - healedAt`. */
  timeToConverge: number | null
  /** Gossip rounds from heal to convergence: `ceil(timeToConverge / interval)`. */
  rounds: number | null
  /** Virtual ms at the end of the run. */
  endTime: number
  /** Calls of an object's `write` that returned normally. */
  writes: number
  /** Calls of `write` that threw a refusal the object declares (`SimObject.refuses`); skipped. */
  refusedWrites: number
  /** Calls of `write` that threw anything else: each is a crash of the type and fails the run. */
  crashedWrites: number
  /** Seqs those writes produced (a write that changes nothing may produce none; a run-length write several). */
  updates: number
  /** Frames sent over the whole run. */
  messages: number
  /** Frames sent per update. */
  messagesPerUpdate: number | null
  /** Payload bytes sent over the whole run. */
  bytes: number
  /** Payload bytes sent per update. */
  bytesPerUpdate: number | null
  /** Network counters (loss, duplicates, reordering, connections). */
  network: TrafficStats
  /** Crashes injected. */
  crashes: number
  /** Restarts performed (each crashed node restarts by heal at the latest). */
  restarts: number
  /** Disk rollbacks injected. */
  rollbacks: number
  /** Lost log tails injected. */
  tailLosses: number
  /** Durable disk writes the rollbacks and lost tails undid. */
  lostWrites: number
  /** Events the simulation ran. */
  events: number
  /** SHA-256 over every object's final state on node n0 (hex); the same on every node when converged. */
  stateHash: string
  /** When not converged: the first difference found, then (one per line) why n0 and the first node that differs from it are not converged, from core's `explainDivergence`. */
  divergence: string | null
  /** Why the run is not `ok` beyond divergence: crashed writes (the first 20), errors thrown by node callbacks or while starting nodes, too many refused writes. */
  errors: string[]
  /** Each node's end state and traffic, in index order. */
  perNode: SimNodeReport[]
}

/**
 * Runs a whole network of nodes on virtual time: starts `nodes` nodes that each host every
 * object, performs random writes on random ready nodes, injects the faults (lossy, duplicating,
 * reordering links; partitions; crashes with restart from the store; disks rolled back to an
 * older backup; lost log tails; clock skew; slow disks),
 * heals at `heal`, then runs until every node holds byte-identical `encodeState()` per object,
 * equal vectors and empty causal buffers, or until `maxTime`.
 *
 * Deterministic: every random choice (the plan, the links, the nodes' own randomness) derives
 * from `seed`, and nodes see only virtual time and timers, so the same seed and options give a
 * deep-equal {@link SimReport}. It does not throw when the run fails: check `report.ok`, then
 * `report.divergence` and `report.errors`. A write that throws anything its object does not
 * declare in `refuses` is a crash and fails the run, as in the law checker.
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
 * console.log(report.ok, report.timeToConverge, report.bytesPerUpdate)
 * ```
 */
export async function simulate(options: SimulateOptions): Promise<SimReport> {
  if (options === null || typeof options !== 'object') throw new TypeError('options is an object such as { seed, nodes, objects }')
  const objects = options.objects
  if (!Array.isArray(objects) || objects.some((o) => o === null || typeof o !== 'object' || typeof o.write !== 'function')) {
    throw new TypeError('objects is a non-empty array of { id, type, write(replica, random) }')
  }
  const interval = options.interval ?? 1000
  const opsSpec = typeof options.ops === 'number' || options.ops === undefined ? { count: options.ops ?? 0 } : options.ops
  const opCount = checkInt('ops.count', opsSpec.count, 0)
  const opFrom = checkTime('ops.from', opsSpec.from ?? 0)
  const opUntil = checkTime('ops.until', opsSpec.until ?? Math.max(opFrom, Math.min(10_000, options.heal ?? 10_000)))
  if (opUntil < opFrom) throw new RangeError('ops.until must not be before ops.from')
  const healAt = checkTime('heal', options.heal ?? opUntil + 5000)
  if (healAt < opUntil) throw new RangeError('heal must not be before the end of the op window')
  const maxTime = checkTime('maxTime', options.maxTime ?? healAt + 120 * interval)
  const faults = options.faults ?? {}

  const cluster = new SimCluster({
    seed: options.seed,
    nodes: options.nodes,
    objects,
    link: faults.link ?? {},
    bootstrap: options.bootstrap ?? 3,
    fanout: options.fanout ?? 3,
    interval,
    networkKey: options.networkKey ?? 'hearsay-sim',
    skew: faults.skew ?? 0,
    writeLatency: faults.writeLatency ?? 0,
    ...(options.createNode === undefined ? {} : { createNode: options.createNode }),
    ...(options.nodeOptions === undefined ? {} : { nodeOptions: options.nodeOptions }),
  })
  const { sim, network: net } = cluster
  const hosts = cluster.hosts
  const n = hosts.length
  const ids = hosts.map((h) => h.id)

  // The rest of the plan: every random choice made up front, in a fixed order.
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
      return { host: cluster.host(c.node).index, at, restart }
    })
  }
  // Disk faults after the crashes, so that plans without them draw exactly as before.
  const rollbackPlan: Array<{ host: number; backup: number; at: number; restart: number }> = []
  if (typeof faults.rollbacks === 'number') {
    for (let i = checkInt('faults.rollbacks', faults.rollbacks, 0); i > 0; i--) {
      const host = sim.int(0, n - 1)
      const backup = opFrom + (0.05 + 0.4 * sim.random()) * (healAt - opFrom)
      const at = backup + (0.1 + 0.5 * sim.random()) * (healAt - backup)
      rollbackPlan.push({ host, backup, at, restart: Math.min(healAt, at + 2 * interval + sim.random() * 0.25 * (healAt - opFrom)) })
    }
  } else {
    for (const r of faults.rollbacks ?? []) {
      const backup = checkTime('rollback.backup', r.backup)
      const at = checkTime('rollback.at', r.at)
      const restart = checkTime('rollback.restart', r.restart ?? healAt)
      if (at < backup || restart < at || restart > healAt) throw new RangeError('a rollback is taken, then done, then restarts, by the run heal')
      rollbackPlan.push({ host: cluster.host(r.node).index, backup, at, restart })
    }
  }
  const tailPlan: Array<{ host: number; at: number; writes: number; restart: number }> = []
  if (typeof faults.tailLosses === 'number') {
    for (let i = checkInt('faults.tailLosses', faults.tailLosses, 0); i > 0; i--) {
      const host = sim.int(0, n - 1)
      const at = opFrom + (0.1 + 0.6 * sim.random()) * (healAt - opFrom)
      tailPlan.push({ host, at, writes: sim.int(1, 16), restart: Math.min(healAt, at + 2 * interval + sim.random() * 0.25 * (healAt - opFrom)) })
    }
  } else {
    for (const t of faults.tailLosses ?? []) {
      const at = checkTime('tailLoss.at', t.at)
      const restart = checkTime('tailLoss.restart', t.restart ?? healAt)
      if (restart < at || restart > healAt) throw new RangeError('a lost tail restarts between its crash and the run heal')
      tailPlan.push({ host: cluster.host(t.node).index, at, writes: checkInt('tailLoss.writes', t.writes ?? sim.int(1, 16), 0), restart })
    }
  }
  const opTimes = Array.from({ length: opCount }, () => opFrom + sim.random() * (opUntil - opFrom)).sort((a, b) => a - b)

  let writes = 0
  let refusedWrites = 0
  let crashedWrites = 0
  const failures: string[] = []
  cluster.start()
  for (const t of opTimes) {
    sim.scheduleAt(t, () => {
      const live = hosts.filter((h) => h.ready)
      if (live.length === 0) return
      const h = sim.pick(live)
      const o = sim.pick(objects)
      try {
        if (cluster.write(h.index, o.id, (r) => o.write(r, cluster.random, { node: h.id, time: sim.time })) !== null) writes++
      } catch (err) {
        if (o.refuses?.(err) === true) {
          refusedWrites++
          return
        }
        crashedWrites++
        if (failures.length < 20) failures.push(`write to ${o.id} on ${h.id} at ${Math.round(sim.time)} ms crashed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`)
      }
    })
  }
  for (const p of partitions) {
    sim.scheduleAt(p.at, () => net.partition(p.groups))
    sim.scheduleAt(p.heal, () => net.heal())
  }
  for (const c of crashPlan) {
    sim.scheduleAt(c.at, () => cluster.crash(c.host))
    sim.scheduleAt(c.restart, () => cluster.restart(c.host))
  }
  for (const r of rollbackPlan) {
    let mark = 0
    sim.scheduleAt(r.backup, () => (mark = hosts[r.host]!.disk.writes))
    // An earlier fault on the same disk may have cut it below the mark.
    sim.scheduleAt(r.at, () => cluster.rollBack(r.host, Math.min(mark, hosts[r.host]!.disk.writes)))
    sim.scheduleAt(r.restart, () => cluster.restart(r.host))
  }
  for (const t of tailPlan) {
    sim.scheduleAt(t.at, () => cluster.loseTail(t.host, t.writes))
    sim.scheduleAt(t.restart, () => cluster.restart(t.host))
  }
  sim.scheduleAt(healAt, () => {
    net.heal()
    if (faults.healLinks) net.setDefaults({ loss: 0, duplicate: 0, reorder: 0 })
    for (const h of hosts) cluster.restart(h.index)
  })

  const convergedAt = await cluster.runUntilConverged({ from: healAt, maxTime, maxEvents: options.maxEvents ?? 50_000_000 })
  let divergence: string | null = null
  if (convergedAt === null) {
    const why = cluster.explain()
    divergence = `${cluster.divergence() ?? 'not converged'}${why.length > 0 ? `\n${why.map((l) => `  ${l}`).join('\n')}` : ''}`
  }
  const hash = sha256.create()
  const utf8 = new TextEncoder()
  for (const o of objects) {
    const r = cluster.replica(0, o.id)
    hash.update(utf8.encode(o.id))
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
  const events = sim.eventCount
  const errors = [...failures, ...cluster.errors]
  const attempted = writes + refusedWrites + crashedWrites
  if (attempted > 0 && refusedWrites > attempted / 2) {
    errors.push(`${refusedWrites} of ${attempted} writes were refused: the run tests almost nothing; make write() produce ops the type accepts`)
  }
  const updates = cluster.updates
  const report: SimReport = {
    seed: options.seed,
    nodes: n,
    ok: convergedAt !== null && errors.length === 0,
    converged: convergedAt !== null,
    healedAt: healAt,
    convergedAt,
    timeToConverge: convergedAt === null ? null : convergedAt - healAt,
    rounds: convergedAt === null ? null : Math.ceil((convergedAt - healAt) / interval),
    endTime,
    writes,
    refusedWrites,
    crashedWrites,
    updates,
    messages: stats.framesSent,
    messagesPerUpdate: updates > 0 ? stats.framesSent / updates : null,
    bytes: stats.bytesSent,
    bytesPerUpdate: updates > 0 ? stats.bytesSent / updates : null,
    network: stats,
    crashes: cluster.crashes,
    restarts: cluster.restarts,
    rollbacks: cluster.rollbacks,
    tailLosses: cluster.tailLosses,
    lostWrites: cluster.lostWrites,
    events,
    stateHash: toHex(hash.digest()),
    divergence,
    errors,
    perNode,
  }
  try {
    await options.inspect?.(cluster)
  } finally {
    cluster.close()
  }
  return report
}
