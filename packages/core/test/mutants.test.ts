// Mutation testing of the law checker: every broken type in the corpus must be caught within the
// default run count, or this test fails. Prints, per mutant, the run that caught it and the time.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConvergenceCheckError, mutants, testSeed } from '@hearsay/core/testing'

test('the law checker catches every broken type in the corpus within the default run count', async () => {
  assert.ok(mutants.length >= 10)
  const seed = testSeed()
  const rows: string[] = []
  const escaped: string[] = []
  for (const m of mutants) {
    const t0 = performance.now()
    try {
      await m.run({ seed, numRuns: 100 })
      escaped.push(m.name)
      rows.push(`  ${m.name.padEnd(52)} NOT CAUGHT in 100 runs`)
    } catch (err) {
      const ms = performance.now() - t0
      if (!(err instanceof ConvergenceCheckError)) throw err
      const law = /\n\n(?:ConvergenceFailure: )?([^\n]{0,70})/.exec(err.message)?.[1] ?? ''
      rows.push(`  ${m.name.padEnd(52)} run #${String(err.failedAtRun).padEnd(3)} ${ms.toFixed(0).padStart(5)} ms  ${law}`)
    }
  }
  console.log(`law checker corpus (seed ${seed}; replay with SEED=${seed}):\n${rows.join('\n')}`)
  assert.deepEqual(escaped, [], `mutants the checker let pass (seed ${seed}): ${escaped.join(', ')}`)
})
