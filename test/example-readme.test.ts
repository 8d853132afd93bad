// The README promises a newcomer exactly two set-up commands and a code example that runs; this
// keeps the README's snippet identical to examples/two-replicas.ts (which examples.test.ts runs)
// and every example and doc it links to present.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'

const root = new URL('..', import.meta.url).pathname
const readme = readFileSync(root + 'README.md', 'utf8')

test('README: the code example is examples/two-replicas.ts, 15 to 20 lines', () => {
  const m = /## Two replicas[^\n]*\n+```ts\n([\s\S]*?)```/.exec(readme)
  assert.ok(m, 'README has a "Two replicas" ts block')
  const file = readFileSync(root + 'examples/two-replicas.ts', 'utf8')
  assert.equal(m[1], file)
  const lines = file.trimEnd().split('\n').length
  assert.ok(lines >= 15 && lines <= 20, `${lines} lines`)
})

test('README: the signed price list example is examples/signed-prices.ts', () => {
  const m = /## A price list only the camp can write\n+```ts\n([\s\S]*?)```/.exec(readme)
  assert.ok(m, 'README has the signed price list ts block')
  assert.equal(m[1], readFileSync(root + 'examples/signed-prices.ts', 'utf8'))
})

test('README: exactly two set-up commands, npm ci && npm start and npm test', () => {
  const m = /## Set up\n+```sh\n([\s\S]*?)```/.exec(readme)
  assert.ok(m)
  assert.deepEqual(m[1]!.trim().split('\n'), ['npm ci && npm start', 'npm test'])
})

test('README: every linked local file exists', () => {
  for (const [, link] of readme.matchAll(/\]\(([^)#]+)(?:#[^)]*)?\)/g)) {
    if (/^https?:/.test(link!)) continue
    assert.ok(existsSync(root + link), `README links to ${link}`)
  }
})
