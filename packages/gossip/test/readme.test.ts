import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'

// The README's first example runs as written (it is plain JavaScript), so it never rots.
test('the README example runs', { timeout: 60_000 }, () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const code = /```ts\n([\s\S]*?)```/.exec(readme)![1]!
  const r = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: new URL('..', import.meta.url).pathname,
    encoding: 'utf8',
    timeout: 50_000,
  })
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /\{ apples: 3 \} \[ 'fresh' \]/)
  assert.match(r.stdout, /connected: true/)
})

// The budgeted-sync block runs as written too.
test('the README budgeted sync example runs', { timeout: 60_000 }, () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const code = /## Thin links: budgeted sync\n+```ts\n([\s\S]*?)```/.exec(readme)![1]!
  const r = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: new URL('..', import.meta.url).pathname,
    encoding: 'utf8',
    timeout: 50_000,
  })
  assert.equal(r.status, 0, r.stderr)
  const lines = r.stdout.trim().split('\n')
  assert.match(r.stdout.trim(), /^(budget \d+\n)+complete \d+\n1000\ntrue$/, r.stdout)
  for (const l of lines.filter((x) => x.startsWith('budget '))) assert.ok(Number(l.split(' ')[1]) <= 32 * 1024, l)
})
