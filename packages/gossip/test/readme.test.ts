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
