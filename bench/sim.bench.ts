// Gossip at scale on the simulator: for N = 10, 100, 1000 nodes, how long (virtual time and
// gossip rounds) one write takes to reach every node, and how many bytes each node sends per
// round while nothing changes. Everything is virtual and seeded: the figures are exact for the
// seed (only the wall-clock "time" column depends on the machine).
// Run: node --expose-gc --conditions=source --import tsx bench/index.ts sim
// SIM_BENCH_N=10,100 limits the sizes; BENCH_RUNS is ignored (each size runs once per seed).
import { LWWMap } from '@hearsay/model'
import { SimCluster, type SimNodeEnv, type SimulatedNode } from '@hearsay/gossip/sim'
import type { NodeOptions } from '@hearsay/gossip'
import { MiniNode } from '@hearsay/gossip/testing'
import { group } from './harness.ts'

const INTERVAL = 1000
const LATENCY = 20

interface Spread {
  nodes: number
  warmup: number
  reachMs: number
  rounds: number
  idleBytesPerNodeRound: number
  idlePeakBytesPerNodeRound: number
  idleFramesPerNodeRound: number
  writeBytes: number
  events: number
}

interface Setup {
  createNode?: (env: SimNodeEnv) => SimulatedNode
  nodeOptions?: Partial<NodeOptions>
  warmupRounds: number
}

async function spread(n: number, seed: number, setup: Setup): Promise<Spread> {
  const cluster = new SimCluster({
    seed,
    nodes: n,
    objects: [{ id: 'm', type: LWWMap }],
    link: { latency: LATENCY, jitter: 10 },
    interval: INTERVAL,
    fanout: 3,
    bootstrap: 3,
    ...(setup.createNode ? { createNode: setup.createNode } : {}),
    ...(setup.nodeOptions ? { nodeOptions: setup.nodeOptions } : {}),
  })
  const { sim, network } = cluster
  cluster.start()
  // Warm up: every node up and connected, membership spread, then a quiet spell.
  const warmup = setup.warmupRounds * INTERVAL
  await cluster.run({ until: warmup })
  if (cluster.hosts.some((h) => !h.ready)) throw new Error('nodes failed to start: ' + cluster.errors.join('; '))

  // Idle traffic over 20 rounds with no writes: the mean per node per round, and the busiest
  // round (periodic heartbeats come in bursts).
  const idleRounds = 20
  const b0 = network.stats.bytesSent
  const f0 = network.stats.framesSent
  let peak = 0
  for (let i = 0; i < idleRounds; i++) {
    const b = network.stats.bytesSent
    await cluster.run({ until: sim.time + INTERVAL })
    peak = Math.max(peak, network.stats.bytesSent - b)
  }
  const idleBytes = network.stats.bytesSent - b0
  const idleFrames = network.stats.framesSent - f0
  // Write half a round later, away from round boundaries.
  await cluster.run({ until: sim.time + INTERVAL / 2 })

  // One write on n0; run until every node has it.
  const t0 = sim.time
  const bytesBefore = network.stats.bytesSent
  cluster.write(0, 'm', (m: LWWMap<number>) => m.set('k', 1))
  const source = cluster.replica(0, 'm')!.id
  const has = (h: (typeof cluster.hosts)[number]) => (h.replicas.get('m')?.clock.get(source) ?? 0) >= 1
  let reached = 1
  const off = cluster.onChange(() => {
    reached = cluster.hosts.reduce((k, h) => k + (has(h) ? 1 : 0), 0)
  })
  const why = await cluster.run({ until: t0 + 200 * INTERVAL, stopWhen: () => reached === n })
  off()
  if (why !== 'stopped') throw new Error(`the write reached ${reached} of ${n} nodes in 200 rounds`)
  const reachMs = sim.time - t0
  // Traffic from the write until every node had it, less the idle mean for that time.
  const writeBytes = network.stats.bytesSent - bytesBefore - (idleBytes / idleRounds) * (reachMs / INTERVAL)
  const events = sim.eventCount
  cluster.close()
  return {
    nodes: n,
    warmup,
    reachMs,
    rounds: reachMs / INTERVAL,
    idleBytesPerNodeRound: idleBytes / (n * idleRounds),
    idlePeakBytesPerNodeRound: peak / n,
    idleFramesPerNodeRound: idleFrames / (n * idleRounds),
    writeBytes,
    events,
  }
}

export async function run(): Promise<void> {
  const sizes = (process.env['SIM_BENCH_N'] ?? '10,100,1000').split(',').map(Number)
  const rows: Array<{ name: string; n: number; setup: Setup }> = []
  for (const n of sizes) {
    rows.push({ name: `Node N=${n}`, n, setup: { warmupRounds: n >= 1000 ? 15 : 30 } })
    rows.push({ name: `anti-entropy only N=${n}`, n, setup: { warmupRounds: 10, createNode: (env) => new MiniNode(env, { push: false }) } })
  }
  const g = group(`simulated gossip: one write reaching N nodes (interval ${INTERVAL} ms, latency ${LATENCY}+0..10 ms, fanout 3, 3 bootstrap peers, seed 1)`, rows[0]!.name)
  for (const row of rows) {
    await g.add(
      row.name,
      async () => {
        const s = await spread(row.n, 1, row.setup)
        return {
          ops: 1,
          bytes: Math.round(s.writeBytes),
          extra: {
            reachMs: Math.round(s.reachMs),
            rounds: Number(s.rounds.toFixed(2)),
            log2N: Number(Math.log2(row.n).toFixed(2)),
            idleB_node_round: Math.round(s.idleBytesPerNodeRound),
            idlePeakB_node_round: Math.round(s.idlePeakBytesPerNodeRound),
            idleFrames_node_round: Number(s.idleFramesPerNodeRound.toFixed(2)),
            events: s.events,
          },
        }
      },
      1,
    )
  }
  g.print()
  console.log(
    [
      'reachMs/rounds: virtual time from the write on n0 until every node had it (rounds = reachMs / interval).',
      'bytes: traffic network-wide from the write until every node had it, less the idle mean over that time.',
      'idle*: bytes (frames) per node per round over 20 rounds without writes: the mean, and the busiest round (heartbeat bursts).',
      'Node rows: the gossip Node with default options (live push + relay, so a write floods in a few link latencies).',
      'anti-entropy only: MiniNode from the simulator tests (digest exchange with fanout 3 per round, no push): the log N bound.',
      'time: wall clock to simulate warm-up, idle rounds and the spread (machine-dependent; everything else is exact for the seed).',
    ].join('\n'),
  )
}
