// The simulator driving MiniNode (@hearsay/gossip/testing), a minimal anti-entropy node: this tests
// `simulate` itself (plan, faults, crash/restart, convergence check, replay) independently of
// the gossip Node, whose own simulated runs are in simNode.test.ts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { testSeed } from '@hearsay/core/testing'
import { SimCluster, simulate, type SimObject, type SimulateOptions, type SimNodeEnv } from '@hearsay/gossip/sim'
import { MiniNode, SimGSet, SimLWWMap } from '@hearsay/gossip/testing'

const objects: SimObject<any>[] = [
  { id: 'set', type: SimGSet, write: (s: SimGSet, r) => s.add(r.word(3)) },
  { id: 'map', type: SimLWWMap, write: (m: SimLWWMap, r) => m.set(r.word(1), r.int(0, 99)) },
]

const harsh = (seed: number): SimulateOptions => ({
  seed,
  nodes: 30,
  ops: 150,
  createNode: (env) => new MiniNode(env),
  objects,
  faults: { link: { loss: 0.2, duplicate: 0.1, reorder: 0.2, jitter: 15 }, partitions: [{ at: 3000, heal: 9000 }], crashes: 2, skew: 500 },
})

function explain(seed: number, report: { divergence: string | null; errors: string[] }): string {
  return `seed ${seed}: ${report.divergence ?? ''} ${report.errors.join('; ')}\n  replay with SEED=${seed} node scripts/test.mjs simulate.test`
}

test('simulate: MiniNode networks converge under loss, duplicates, reordering, a partition and crashes', async () => {
  const base = testSeed()
  const runs = Number(process.env['HEARSAY_RUNS']) || 8
  for (let i = 0; i < runs; i++) {
    const seed = base + i
    const report = await simulate(harsh(seed))
    assert.ok(report.ok, explain(seed, report))
    assert.ok(report.converged, explain(seed, report))
    assert.deepEqual(report.errors, [], explain(seed, report))
    assert.equal(report.crashes, 2)
    assert.equal(report.restarts, 2)
    assert.ok(report.writes > 100, `seed ${seed}: only ${report.writes} writes`)
    assert.ok(report.network.framesDropped > 0 && report.network.framesDuplicated > 0 && report.network.framesReordered > 0)
    const v0 = report.perNode[0]!.vectors
    for (const node of report.perNode) {
      assert.deepEqual(node.vectors, v0, `seed ${seed}: ${node.id}`)
      assert.equal(node.pending, 0)
    }
    // Every surviving write is in the vectors: with write latency 0 nothing durable is lost.
    const covered = Object.values(v0).reduce((s, v) => s + Object.values(v).reduce((a, b) => a + b, 0), 0)
    assert.equal(covered, report.updates, `seed ${seed}: vectors cover ${covered} of ${report.updates} updates`)
  }
})

test('simulate: a write that crashes fails the run, even when the nodes converge', async () => {
  const seed = testSeed()
  // Crashes before it changes anything, on about a third of the calls: the network still
  // converges on the writes that went through, which is exactly what hid such types before.
  const crashy: SimObject<SimGSet> = {
    id: 'set',
    type: SimGSet,
    write: (s, r) => {
      const w = r.word(3)
      if (r.int(0, 2) === 0) throw new TypeError(`Cannot read properties of undefined (reading '${w}')`)
      s.add(w)
    },
  }
  const report = await simulate({ seed, nodes: 6, ops: 60, createNode: (env) => new MiniNode(env), objects: [crashy] })
  assert.ok(report.converged, explain(seed, report))
  assert.equal(report.ok, false, explain(seed, report))
  assert.ok(report.crashedWrites > 0, `seed ${seed}`)
  assert.equal(report.refusedWrites, 0)
  assert.match(report.errors[0] ?? '', /write to set on n\d+ at \d+ ms crashed: TypeError: Cannot read properties/)
  // The same throws, declared as refusals, pass and are counted.
  const declared = await simulate({ seed, nodes: 6, ops: 60, createNode: (env) => new MiniNode(env), objects: [{ ...crashy, refuses: (e) => e instanceof TypeError }] })
  assert.ok(declared.ok, explain(seed, declared))
  assert.equal(declared.refusedWrites, report.crashedWrites)
  assert.equal(declared.crashedWrites, 0)
})

test('simulate: a run whose writes are mostly refused fails (it tests almost nothing)', async () => {
  const seed = testSeed()
  const refused: SimObject<SimGSet> = {
    id: 'set',
    type: SimGSet,
    write: (s, r) => {
      if (r.int(0, 3) !== 0) throw new RangeError('nothing to remove')
      s.add(r.word(3))
    },
    refuses: (e) => e instanceof RangeError,
  }
  const report = await simulate({ seed, nodes: 4, ops: 40, createNode: (env) => new MiniNode(env), objects: [refused] })
  assert.ok(report.converged, explain(seed, report))
  assert.equal(report.ok, false, explain(seed, report))
  assert.equal(report.crashedWrites, 0)
  assert.match(report.errors.join('; '), /writes were refused: the run tests almost nothing/)
})

test('simulate: a seed replays exactly; another seed gives another run', async () => {
  const seed = testSeed()
  const a = await simulate(harsh(seed))
  const b = await simulate(harsh(seed))
  assert.deepEqual(a, b, `seed ${seed}`)
  const c = await simulate(harsh(seed + 1))
  assert.notDeepEqual(c, a)
  assert.notEqual(c.stateHash, a.stateHash)
})

test('simulate: reports divergence instead of throwing when nodes cannot converge', async () => {
  // Links that lose everything after heal: the network can never agree.
  const report = await simulate({
    seed: 5,
    nodes: 4,
    ops: 20,
    heal: 2000,
    maxTime: 6000,
    createNode: (env) => new MiniNode(env),
    objects,
    faults: { link: { loss: 1 } },
  })
  assert.equal(report.converged, false)
  assert.equal(report.convergedAt, null)
  assert.equal(report.rounds, null)
  assert.match(report.divergence ?? '', /differs|pending/)
  assert.equal(report.endTime, 6000)
})

test('simulate: a node that sends writes before they are durable is caught after a crash', async () => {
  // A careless node: pushes local writes at once and stores them later. With slow disks and
  // crashes it reuses seqs, and the simulator must notice.
  class Careless extends MiniNode {
    constructor(env: SimNodeEnv) {
      super(env)
    }
  }
  let caught = 0
  for (let seed = 1; seed <= 6 && caught === 0; seed++) {
    const report = await simulate({
      seed,
      nodes: 6,
      ops: { count: 200, until: 4000 },
      heal: 6000,
      maxTime: 40_000,
      createNode: (env) => new Careless({ ...env, store: slowStoreFor(env) }),
      objects: [objects[1]!],
      faults: { crashes: [{ node: 0, at: 2000, restart: 3000 }, { node: 1, at: 2500, restart: 3500 }], writeLatency: 400 },
    })
    if (!report.converged) caught++
  }
  assert.ok(caught > 0, 'seq reuse after a crash went unnoticed')
})

// MiniNode pushes only after the append resolves; to model a careless node, answer appends at
// once while the disk (writeLatency) makes them durable later.
function slowStoreFor(env: SimNodeEnv): SimNodeEnv['store'] {
  const s = env.store
  return {
    capabilities: s.capabilities,
    open: () => s.open(),
    close: () => s.close(),
    append: (entries) => {
      void s.append(entries)
      return Promise.resolve()
    },
    load: (id) => s.load(id),
    list: () => s.list(),
    compact: (id, t, snap) => s.compact(id, t, snap),
    getMeta: (k) => s.getMeta(k),
    putMeta: (k, v) => s.putMeta(k, v),
  }
}

test('simulate: validates its options', async () => {
  await assert.rejects(simulate({ seed: 1.5, nodes: 2, objects }), RangeError)
  await assert.rejects(simulate({ seed: 1, nodes: 0, objects }), RangeError)
  await assert.rejects(simulate({ seed: 1, nodes: 2, objects: [] }), TypeError)
  await assert.rejects(simulate({ seed: 1, nodes: 2, objects: [objects[0]!, objects[0]!] }), TypeError)
  await assert.rejects(simulate({ seed: 1, nodes: 2, objects, heal: 10, ops: { count: 1, until: 100 } }), RangeError)
  await assert.rejects(simulate({ seed: 1, nodes: 2, objects, faults: { crashes: [{ node: 'n9', at: 1 }] } }), RangeError)
})

test('SimCluster: drive a scenario step by step', async () => {
  const cluster = new SimCluster({ seed: 3, nodes: 8, objects, createNode: (env) => new MiniNode(env), link: { latency: 10 } })
  assert.equal(cluster.hosts.length, 8)
  assert.equal(cluster.write(0, 'map', (m: SimLWWMap) => m.set('a', 1)), null, 'not started yet')
  cluster.start()
  await cluster.run({ until: 3000 })
  assert.ok(cluster.hosts.every((h) => h.ready && h.incarnation === 1))
  assert.equal(cluster.write('n1', 'map', (m: SimLWWMap) => m.set('a', 1)), 1)
  // A refused op is thrown to the caller, which decides whether it was expected.
  assert.throws(() => cluster.write(1, 'map', (m: SimLWWMap) => m.set('a', -1)), RangeError)
  assert.equal(cluster.write(1, 'set', (s: SimGSet) => s.add('x')), 1)
  assert.equal(cluster.write(2, 'set', (s: SimGSet) => s.add('x')), 1)
  assert.equal(cluster.updates, 3)
  const at = await cluster.runUntilConverged({ maxTime: 60_000 })
  assert.notEqual(at, null, cluster.divergence() ?? '')
  assert.deepEqual(cluster.replica('n7', 'map')!.toJSON(), { a: 1 })

  cluster.network.partition([['n0', 'n1', 'n2', 'n3']])
  cluster.crash('n5')
  assert.equal(cluster.hosts[5]!.up, false)
  assert.equal(cluster.replica(5, 'map'), undefined)
  cluster.write(0, 'map', (m: SimLWWMap) => m.set('b', 2))
  cluster.write(6, 'map', (m: SimLWWMap) => m.set('c', 3))
  await cluster.run({ until: cluster.sim.time + 10_000 })
  assert.equal((cluster.replica(7, 'map')!.toJSON() as Record<string, unknown>)['b'], undefined, 'the partition holds')
  assert.match(cluster.divergence() ?? '', /n5 is not up/)
  cluster.network.heal()
  cluster.restart('n5')
  const healed = cluster.sim.time
  const at2 = await cluster.runUntilConverged({ maxTime: healed + 60_000 })
  assert.notEqual(at2, null, cluster.divergence() ?? '')
  assert.equal(cluster.hosts[5]!.incarnation, 2)
  assert.deepEqual(cluster.replica(5, 'map')!.toJSON(), { a: 1, b: 2, c: 3 })
  assert.equal(cluster.crashes, 1)
  assert.equal(cluster.restarts, 1)
  assert.deepEqual(cluster.errors, [])
  cluster.close()
  assert.ok(cluster.hosts.every((h) => !h.up))
  assert.throws(() => cluster.host('n8'), RangeError)
})
