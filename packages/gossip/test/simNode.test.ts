// The gossip Node under the simulator: the issue's scenario (50 nodes, 20% loss, duplicates,
// reordering, a partition that heals, 2 crash-restarts, random writes on LWWMap / ORSet / List)
// must end with byte-identical states, equal vectors and empty causal buffers on every node.
// Default runs use a few seeds; HEARSAY_RUNS=<n> (or `npm run test:soak`) runs more.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { testSeed } from '@hearsay/core/testing'
import { LWWMap, ORSet } from '@hearsay/model'
import { List } from '@hearsay/seq'
import type { Node } from '@hearsay/gossip'
import { SimCluster, createSimNode, simulate, type SimObject, type SimReport, type SimulateOptions } from '@hearsay/gossip/sim'
import type { ReplicatedClass } from '@hearsay/core'

const objects: SimObject<any>[] = [
  { id: 'prices', type: LWWMap, write: (m: LWWMap<any>, r) => (r.chance(0.15) ? m.delete(r.word(1)) : m.set(r.word(1), r.int(0, 999))) },
  { id: 'tags', type: ORSet, write: (s: ORSet<any>, r) => (r.chance(0.35) ? s.delete(r.word(1)) : s.add(r.word(1))) },
  {
    id: 'todo',
    type: List,
    write: (l: List<string>, r) => {
      const len = l.length
      const k = r.next()
      if (len > 0 && k < 0.25) l.delete(r.int(0, len - 1))
      else if (len > 1 && k < 0.35) l.move(r.int(0, len - 1), r.int(0, len - 1))
      else l.insert(r.int(0, len), r.word())
    },
  },
]

const issueScenario = (seed: number): SimulateOptions => ({
  seed,
  nodes: 50,
  objects,
  ops: { count: 300, until: 10_000 },
  heal: 10_000,
  faults: {
    link: { latency: 20, jitter: 15, loss: 0.2, duplicate: 0.1, reorder: 0.2 },
    partitions: [{ at: 2_000 }],
    crashes: 2,
  },
})

function why(r: SimReport): string {
  return `seed ${r.seed}: ${r.divergence ?? ''} ${r.errors.join('; ')}\n  replay with SEED=${r.seed} node scripts/test.mjs simNode`
}

function assertConverged(r: SimReport): void {
  assert.ok(r.converged, why(r))
  assert.deepEqual(r.errors, [], why(r))
  const v0 = r.perNode[0]!.vectors
  for (const node of r.perNode) {
    assert.equal(node.up, true)
    assert.equal(node.pending, 0, `${node.id}: ${why(r)}`)
    assert.deepEqual(node.vectors, v0, `${node.id}: ${why(r)}`)
  }
}

test('sim: 50 nodes converge through 20% loss, duplicates, reordering, a partition and 2 crash-restarts', async () => {
  const base = testSeed()
  const runs = Number(process.env['HEARSAY_RUNS']) || 3
  for (let i = 0; i < runs; i++) {
    const r = await simulate(issueScenario(base + i))
    assertConverged(r)
    assert.equal(r.crashes, 2, why(r))
    assert.equal(r.restarts, 2, why(r))
    assert.ok(r.updates > 150, `only ${r.updates} updates: ${why(r)}`)
    assert.ok(r.network.framesDropped > 0 && r.network.framesDuplicated > 0 && r.network.framesReordered > 0)
    // With durable-before-send and instant disks, no acknowledged write is lost to a crash.
    const covered = Object.values(r.perNode[0]!.vectors).reduce((s, v) => s + Object.values(v).reduce((a, b) => a + b, 0), 0)
    assert.equal(covered, r.updates, `vectors cover ${covered} of ${r.updates} seqs: ${why(r)}`)
  }
})

test('sim: the same seed replays the same report; another seed differs', async () => {
  const seed = testSeed()
  const small = (s: number): SimulateOptions => ({ ...issueScenario(s), nodes: 16, ops: { count: 80, until: 6000 }, heal: 6000 })
  const a = await simulate(small(seed))
  const b = await simulate(small(seed))
  assertConverged(a)
  assert.deepEqual(b, a, `seed ${seed}`)
  const c = await simulate(small(seed + 1))
  assertConverged(c)
  assert.notDeepEqual(c, a)
  assert.notEqual(c.stateHash, a.stateHash)
})

test('sim: slow disks and crashes never make a node reuse a seq (durable before it leaves)', async () => {
  const seed = testSeed()
  const r = await simulate({
    seed,
    nodes: 12,
    objects: objects.slice(0, 2),
    ops: { count: 300, until: 6000 },
    heal: 8000,
    faults: {
      link: { loss: 0.1, jitter: 10 },
      writeLatency: 150,
      crashes: [
        { node: 0, at: 1500, restart: 2500 },
        { node: 1, at: 3000, restart: 3200 },
        { node: 2, at: 4500 },
        { node: 0, at: 5000, restart: 5600 },
      ],
      skew: 2000,
    },
  })
  assertConverged(r)
  assert.equal(r.crashes, 4)
})

// Lossy, duplicating, reordering links everywhere, a partition that heals, skewed clocks.
const lossyLinks = (seed: number): SimulateOptions => ({
  seed,
  nodes: 24,
  objects,
  ops: { count: 150, until: 5000 },
  heal: 9000,
  faults: {
    link: { latency: 40, jitter: 40, loss: 0.3, duplicate: 0.2, reorder: 0.3 },
    partitions: [
      { at: 1000, heal: 4000, groups: [['n0', 'n1', 'n2', 'n3', 'n4', 'n5']] },
      { at: 5000 },
    ],
    skew: 5000,
  },
})

test('sim: a network with lossy links all the way converges once partitions heal, with skewed clocks', async () => {
  const seed = testSeed()
  const r = await simulate(lossyLinks(seed))
  assertConverged(r)
})

test('sim: lossy, reordering links: a first round that overtakes the hello does not refuse the session (seed 1298697088)', async () => {
  // Replays the seed that found it: n16's sessions were refused ("message kind 4 before
  // authentication") whenever its Root overtook its hello, and a lost hello cost 10 s; it never
  // synced in 120 rounds. Now early frames wait for the hello and the hello is resent.
  const r = await simulate(lossyLinks(1298697088))
  assertConverged(r)
})

test('sim: nodes joined through one seed keep converging after the seed crashes (membership)', async () => {
  const seed = testSeed()
  const cluster = new SimCluster({
    seed,
    nodes: 20,
    objects: [{ id: 'prices', type: LWWMap }],
    bootstrap: (i) => (i === 0 ? [] : [0]),
    link: { latency: 20, jitter: 10, loss: 0.05 },
  })
  try {
    cluster.start()
    // Everyone joins first (each node knows all 20): a handshake frame lost on these lossy links
    // costs a node the 10 s authentication timeout, and some seeds need more than 20 s.
    const joined = () => cluster.hosts.every((h) => (h.node as Node | undefined)?.membership.members().length === 20)
    const how = await cluster.run({ until: 60_000, stopWhen: joined })
    assert.equal(how, 'stopped', `seed ${seed}: not every node joined through the seed; replay with SEED=${seed}`)
    await cluster.run({ until: Math.max(20_000, cluster.sim.time) })
    cluster.crash('n0')
    for (let i = 1; i < 20; i++) cluster.write(i, 'prices', (m: LWWMap<number>) => m.set(`k${i}`, i))
    const others = cluster.hosts.slice(1)
    const done = () => others.every((h) => (h.replicas.get('prices') as LWWMap<number> | undefined)?.size === 19)
    const why = await cluster.run({ until: cluster.sim.time + 60_000, stopWhen: done })
    assert.equal(why, 'stopped', `seed ${seed}: without the seed node the others did not converge; replay with SEED=${seed}`)
    cluster.restart('n0')
    const at = await cluster.runUntilConverged({ maxTime: cluster.sim.time + 60_000 })
    assert.notEqual(at, null, `seed ${seed}: ${cluster.divergence()}`)
    assert.deepEqual(cluster.errors, [])
  } finally {
    cluster.close()
  }
})

const diskFaults = (seed: number): SimulateOptions => ({
  seed,
  nodes: 16,
  objects,
  ops: { count: 300, until: 10_000 },
  heal: 10_000,
  faults: {
    link: { latency: 20, jitter: 15, loss: 0.1, duplicate: 0.05, reorder: 0.1 },
    crashes: 1,
    rollbacks: 3,
    tailLosses: 3,
  },
})

test('sim: disks rolled back to an older backup and lost log tails never make nodes diverge (the seeded sweep)', async () => {
  const base = testSeed()
  const runs = Number(process.env['HEARSAY_RUNS']) || 3
  for (let i = 0; i < runs; i++) {
    const r = await simulate(diskFaults(base + i))
    assertConverged(r)
    assert.equal(r.rollbacks, 3, why(r))
    assert.equal(r.tailLosses, 3, why(r))
    assert.ok(r.lostWrites > 0, why(r))
  }
})

test('sim: the disk faults replay from the seed, and without incarnations they make nodes diverge', async () => {
  const seed = testSeed()
  const a = await simulate(diskFaults(seed))
  assert.deepEqual(await simulate(diskFaults(seed)), a, `seed ${seed}`)
  // The node of before incarnations: every replica writes under the bare node id, so a node
  // whose disk went back reuses seqs its peers hold with other content.
  let diverged = 0
  for (let i = 0; i < 4 && diverged === 0; i++) {
    const r = await simulate({
      ...diskFaults(seed + i),
      maxTime: 40_000,
      createNode: (env) => {
        const node = createSimNode(env)
        return {
          open: async (id: string, type: ReplicatedClass) => {
            const r = await node.open(id, type)
            r.reincarnate(env.id)
            return r
          },
          listen: (url: string) => node.listen(url),
          connect: (url: string) => node.connect(url),
          close: () => node.close(),
        }
      },
    })
    if (!r.converged) diverged++
  }
  assert.ok(diverged > 0, `seeds ${seed}..${seed + 3}: writing under the bare id never diverged, so the faults do not test what they should`)
})
