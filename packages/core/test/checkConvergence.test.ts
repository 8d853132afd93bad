import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fc from 'fast-check'
import { ErrorCodes, HearsayError } from '@hearsay/core'
import { ConvergenceCheckError, checkConvergence, runScenario, type Scenario } from '@hearsay/core/testing'
import { TestGSet, BrokenRegister } from './helpers/types.ts'

const items = fc.string({ maxLength: 3 }).filter((x) => !x.startsWith('!'))

test('a correct grow-only set passes the law checker', async () => {
  const stats = await checkConvergence((o) => new TestGSet(o), items, { apply: (s, x) => s.add(x) })
  assert.ok(stats.committed > 0 && stats.remote > 0 && stats.refused === 0, JSON.stringify(stats))
})

test('the law checker catches a non-commutative type', async () => {
  await assert.rejects(
    checkConvergence((o) => new BrokenRegister(o), fc.nat({ max: 100 }), { apply: (r, v) => r.set(v), numRuns: 200 }),
    (err: Error) => /checkConvergence failed \(seed \d+; replay with SEED=\d+\)/.test(err.message) && /Counterexample/.test(err.message),
  )
})

test('an op that crashes with a TypeError fails the checker (it used to be swallowed)', async () => {
  // The type: add() throws a TypeError on every tag but one.
  class Crashy extends TestGSet {
    override add(item: string): void {
      if (item !== 'a') throw new TypeError(`Cannot read properties of undefined (reading '${item}')`)
      super.add(item)
    }
  }
  await assert.rejects(checkConvergence((o) => new Crashy(o), fc.constantFrom('a', 'b', 'c'), { apply: (s, x) => s.add(x) }), (err: Error) => {
    assert.ok(err instanceof ConvergenceCheckError)
    assert.match(err.message, /op "[bc]" crashed on r\d at step \d+: TypeError: Cannot read properties of undefined/)
    return true
  })
})

test('a declared refusal is not a crash, and the checker counts it', async () => {
  const refuses = (e: unknown) => e instanceof TypeError && /not starting with "!"/.test(e.message)
  const stats = await checkConvergence((o) => new TestGSet(o), fc.constantFrom('a', 'b', 'c', 'd', 'e', '!x'), { apply: (s, x) => s.add(x), refuses })
  assert.ok(stats.refused > 0 && stats.refused < stats.ops, JSON.stringify(stats))
})

test('a generator whose ops are mostly refused fails the checker', async () => {
  const refuses = (e: unknown) => e instanceof TypeError
  await assert.rejects(
    checkConvergence((o) => new TestGSet(o), fc.constantFrom('a', '!x', '!y', '!z'), { apply: (s, x) => s.add(x), refuses }),
    /\d+ of \d+ generated ops were refused \(more than 50%\): the generator tests nothing/,
  )
})

test('a run that commits nothing fails the checker', async () => {
  await assert.rejects(checkConvergence((o) => new TestGSet(o), fc.constant('a'), { apply: (s) => void s.has('a') }), /no op committed an update in \d+ runs/)
})

test('the default refusal is the typed HEARSAY_INVALID_UPDATE error, and a refused op must change nothing', async () => {
  class Picky extends TestGSet {
    override add(item: string): void {
      if (item === 'bad') throw new HearsayError(ErrorCodes.INVALID_UPDATE, 'bad is refused')
      super.add(item)
    }
  }
  await checkConvergence((o) => new Picky(o), fc.constantFrom('a', 'b', 'bad'), { apply: (s, x) => s.add(x), numRuns: 30 })
  class HalfApplies extends TestGSet {
    override add(item: string): void {
      super.add(item)
      if (item === 'bad') throw new HearsayError(ErrorCodes.INVALID_UPDATE, 'bad is refused (after it was added)')
    }
  }
  await assert.rejects(checkConvergence((o) => new HalfApplies(o), fc.constantFrom('a', 'b', 'bad'), { apply: (s, x) => s.add(x), numRuns: 30 }), /was refused on r\d at step \d+ but changed the replica \(half-applied\)/)
})

test('a failure prints a scenario that replays the failure through runScenario, and the delivery schedule', async () => {
  const factory = (o: object) => new BrokenRegister(o)
  const options = { apply: (r: BrokenRegister, v: number) => r.set(v) }
  const err = await checkConvergence(factory, fc.nat({ max: 100 }), { ...options, numRuns: 200, seed: 42 }).then(
    () => assert.fail('the broken register passed'),
    (e: unknown) => e as ConvergenceCheckError,
  )
  assert.ok(err instanceof ConvergenceCheckError)
  assert.equal(err.seed, 42)
  assert.match(err.message, /path: "[\d:]+"/)
  assert.match(err.message, /Delivery schedule of the shrunk scenario/)
  // Why the replicas differ, from explainDivergence: equal vectors over different content here.
  assert.match(err.message, /explainDivergence\(r0, r\d\):\n  equal vectors hide different content: the states encode to different bytes/)
  assert.match(err.message, /deliver m\d+ \(r\d → r\d: r\d \(\d+, \d+\]\)/)
  // The printed literal is the scenario itself: paste it and the same law breaks.
  const literal = /await runScenario\(factory, (\{.*\}), options\)/.exec(err.message)![1]!
  const pasted = JSON.parse(literal) as Scenario<number>
  assert.deepEqual(pasted, err.scenario)
  await assert.rejects(runScenario(factory, pasted, options), { name: 'ConvergenceFailure' })
  // fast-check's seed and path replay the same counterexample.
  await assert.rejects(checkConvergence(factory, fc.nat({ max: 100 }), { ...options, numRuns: 200, seed: 42, path: err.path! }), (e: ConvergenceCheckError) => {
    assert.equal(e.failedAtRun, 1)
    return true
  })
})

test('an update one replica wrote and another refuses fails the checker', async () => {
  // applyOp refuses remote copies of 'x' only: a local write passes, its delivery is refused.
  class Refuser extends TestGSet {
    protected override applyOp(u: Parameters<TestGSet['applyOp']>[0]): boolean {
      if (u.op === 'x' && u.source !== this.id) throw new Error('x from elsewhere is refused')
      return super.applyOp(u)
    }
  }
  await assert.rejects(checkConvergence((o) => new Refuser(o), fc.constantFrom('a', 'x'), { apply: (s, x) => s.add(x) }), /r\d refused update r\d:\d+ written by an honest replica: Error: x from elsewhere is refused/)
})
