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

test('packages/core/README.md: the Tags and WinnerPerKey types pass the law checker as written', { timeout: 180_000 }, () => {
  const doc = readFileSync(root + 'packages/core/README.md', 'utf8')
  const blocks = [...doc.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!)
  assert.ok(blocks.length >= 3 && /class Tags/.test(blocks[0]!) && /class Scores/.test(blocks[1]!) && /checkConvergence/.test(blocks[2]!), 'the README has the Tags, Scores and checker blocks')
  const file = `examples/.docs-core-${process.pid}.ts`
  const check = "await checkConvergence((o) => new Scores(o), fc.tuple(fc.constantFrom('a', 'b'), fc.nat(9)), { apply: (s, [k, v]) => s.set(k, v) })\nconsole.log('both pass')\n"
  writeFileSync(root + file, blocks.slice(0, 3).join('\n') + check)
  try {
    const r = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: 170_000 })
    assert.equal(r.status, 0, `exit ${r.status}\n${r.stdout}\n${r.stderr}`)
    assert.match(r.stdout, /^both pass$/m)
  } finally {
    rmSync(root + file, { force: true })
  }
})
