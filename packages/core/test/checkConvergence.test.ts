import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fc from 'fast-check'
import { checkConvergence } from '@hearsay/core/testing'
import { TestGSet, BrokenRegister } from './helpers/types.ts'

test('a correct grow-only set passes the law checker', async () => {
  await checkConvergence((o) => new TestGSet(o), fc.string({ maxLength: 3 }), { apply: (s, x) => s.add(x) })
})

test('the law checker catches a non-commutative type', async () => {
  await assert.rejects(
    checkConvergence((o) => new BrokenRegister(o), fc.nat({ max: 100 }), { apply: (r, v) => r.set(v), numRuns: 200 }),
    (err: Error) => /checkConvergence failed \(seed \d+; replay with SEED=\d+\)/.test(err.message) && /Counterexample/.test(err.message),
  )
})
