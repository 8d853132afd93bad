// The code in docs/testing.md runs as written: the block is extracted, saved next to the
// examples (so package imports resolve) and run.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'

const root = new URL('..', import.meta.url).pathname

test('docs/testing.md: the law checker and simulator program runs and converges', { timeout: 180_000 }, () => {
  const doc = readFileSync(root + 'docs/testing.md', 'utf8')
  const block = /```ts\n([\s\S]*?)```/.exec(doc)
  assert.ok(block, 'docs/testing.md has a ts block')
  const file = `examples/.docs-testing-${process.pid}.ts`
  writeFileSync(root + file, block[1]!)
  try {
    const r = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: 170_000 })
    assert.equal(r.status, 0, `exit ${r.status}\n${r.stdout}\n${r.stderr}`)
    assert.match(r.stdout, /^converged \d+ ms after the heal; \d+ bytes per update/m)
  } finally {
    rmSync(root + file, { force: true })
  }
})
