// `hearsay lab`: real nodes on loopback behind the fault proxy converge and the command exits 0
// with its summary; a seed makes the fault schedule replayable.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { testSeed } from '@hearsay/core/testing'
import { hearsay } from './helpers/cli.ts'

test('lab: 4 nodes with loss, latency and a partition converge and exit 0 with a summary', { timeout: 120_000 }, async () => {
  const seed = testSeed()
  const before = new Set(readdirSync(tmpdir()).filter((n) => n.startsWith('hearsay-lab-')))
  const r = await hearsay(['lab', '--nodes', '4', '--loss', '0.15', '--latency', '10ms', '--jitter', '5ms', '--partition', '1s', '--writes', '6', '--interval', '100ms', '--timeout', '60s', '--seed', String(seed)])
  assert.equal(r.code, 0, `seed ${seed}\n${r.stdout}\n${r.stderr}`)
  assert.match(r.stdout, /converged: all 4 nodes hold the same 24 updates \(byte-identical state\)/)
  assert.match(r.stdout, /time to converge +\d/)
  assert.match(r.stdout, /messages +\d+ frames delivered, \d+ lost/)
  assert.match(r.stdout, /bytes +[\d.]+ k?B delivered/)
  assert.match(r.stdout, /PARTITIONED/)
  const after = readdirSync(tmpdir()).filter((n) => n.startsWith('hearsay-lab-') && !before.has(n))
  assert.deepEqual(after, [], 'the lab removes its data directories')
})

test('lab: a run that cannot converge in time exits 5', { timeout: 60_000 }, async () => {
  const r = await hearsay(['lab', '--nodes', '2', '--partition', '30s', '--writes', '1', '--timeout', '1500ms', '--seed', '1'])
  assert.equal(r.code, 5, r.stdout + r.stderr)
  assert.match(r.stdout, /NOT converged/)
})
