#!/usr/bin/env node
// Finds every *.test.ts under packages/*/test and test/ and runs them with node's test runner
// through tsx. Node 20's --test takes no globs, hence this script.
// Usage: node scripts/test.mjs [substring ...]   (only files whose path contains a substring)
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { spawnSync } from 'node:child_process'

const root = new URL('..', import.meta.url).pathname
const roots = [...readdirSync(join(root, 'packages')).map((p) => join(root, 'packages', p, 'test')), join(root, 'test')]
const files = []
const walk = (dir) => {
  let names
  try {
    names = readdirSync(dir)
  } catch {
    return
  }
  for (const n of names.sort()) {
    if (n === 'node_modules' || n === 'fixtures-data') continue
    const p = join(dir, n)
    if (statSync(p).isDirectory()) walk(p)
    else if (n.endsWith('.test.ts')) files.push(relative(root, p))
  }
}
roots.forEach(walk)
const filters = process.argv.slice(2)
const selected = filters.length ? files.filter((f) => filters.some((s) => f.includes(s))) : files
if (selected.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`)
  process.exit(1)
}
const r = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...selected], {
  stdio: 'inherit',
  cwd: root,
})
process.exit(r.status ?? 1)
