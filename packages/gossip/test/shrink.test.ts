// simulate() on a user's broken type: the report explains the divergence (core's
// explainDivergence between n0 and the first node that differs), and shrinkSimulation cuts the
// failing run down to the fewest nodes and writes that still fail, with the same seed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Replicated, registerType, type Update } from '@hearsay/core'
import { testSeed } from '@hearsay/core/testing'
import { shrinkSimulation, simulate, type SimObject, type SimulateOptions } from '@hearsay/gossip/sim'
import { MiniNode, SimGSet } from '@hearsay/gossip/testing'

/** Broken on purpose: keeps only the op that arrived last, so replicas keep different updates under equal vectors. */
class ArrivalRegister extends Replicated<number, number | null> {
  #last: Update<number> | undefined
  set(v: number): void {
    this.commit(v)
  }
  protected applyOp(u: Update<number>): boolean {
    this.#last = u
    return true
  }
  protected history(): Iterable<Update<number>> {
    return this.#last === undefined ? [] : [this.#last]
  }
  toJSON(): number | null {
    return this.#last?.op ?? null
  }
}
registerType(ArrivalRegister, { typeId: 9301, typeName: 'ArrivalRegister' })

const objects: SimObject<any>[] = [{ id: 'reg', type: ArrivalRegister, write: (r: ArrivalRegister, rand) => r.set(rand.int(0, 999)) }]
const failing = (seed: number): SimulateOptions => ({
  seed,
  nodes: 12,
  // Writes on both sides of a partition that lasts until the run heals: each side ends with
  // its own last write, and the broken type keeps whichever arrives last.
  ops: { count: 80, until: 5000 },
  createNode: (env) => new MiniNode(env),
  objects,
  faults: { link: { loss: 0.1, reorder: 0.2, jitter: 20 }, partitions: [{ at: 1000 }] },
})

/** The first of up to 8 seeds from `base` on which the broken type fails (it converges by luck on some). */
async function failingSeed(base: number): Promise<{ seed: number; report: Awaited<ReturnType<typeof simulate>> }> {
  for (let seed = base; seed < base + 8; seed++) {
    const report = await simulate(failing(seed))
    if (!report.ok) return { seed, report }
  }
  throw new Error(`seeds ${base}..${base + 7}: the broken type passed every run`)
}

test('a broken user type: the report explains why the nodes differ', async () => {
  const { seed, report } = await failingSeed(testSeed())
  assert.ok(report.divergence !== null, `seed ${seed}`)
  assert.match(report.divergence!, /\n {2}reg: /, `seed ${seed}: no explanation in ${report.divergence}`)
  assert.match(report.divergence!, /equal vectors hide different content|lacks|causal buffer/, report.divergence!)
})

test('shrinkSimulation: fewer nodes and writes, the same seed, still failing the same way; null for a passing run', { timeout: 120_000 }, async () => {
  const { seed } = await failingSeed(testSeed())
  const result = await shrinkSimulation(failing(seed), { maxRuns: 40 })
  assert.ok(result !== null, `seed ${seed}`)
  const steps = `seed ${seed}: ${result.steps.join(', ')}`
  assert.equal(result.original.ok, false)
  assert.equal(result.report.ok, false, `${steps}: the shrunk run passes`)
  assert.equal(result.report.converged, false, steps)
  assert.ok(result.options.nodes <= 12 && result.steps.length > 0, steps)
  // Sizes are tried smallest first, so every smaller write count on the ladder passed: the
  // count left is the smallest that still fails, not a fixed bound (seen: 3 to 29 of 80).
  assert.ok((result.options.ops as { count: number }).count < 80, `${steps}: ${JSON.stringify(result.options.ops)} writes left`)
  assert.ok(result.runs <= 40)
  assert.equal(result.options.seed, seed)
  // The shrunk options replay to the same report.
  assert.deepEqual(await simulate(result.options), result.report)
  // A correct run has nothing to shrink.
  const ok = await shrinkSimulation({ ...failing(seed), objects: [{ id: 'reg', type: SimGSet, write: (s: SimGSet, r) => s.add(r.word(2)) }] })
  assert.equal(ok, null)
})
