// The command line as people meet it: help on every command, errors that name the bad flag and
// the fix, a clear message when no daemon runs, documented exit codes, and the npx launcher.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { hearsay, root, tempDir } from './helpers/cli.ts'

const COMMANDS = ['peer', 'put', 'get', 'del', 'watch', 'ls', 'status', 'bundle', 'lab']

test('--help works for the tool and every command, and lists the exit codes', { timeout: 120_000 }, async () => {
  const main = await hearsay(['--help'])
  assert.equal(main.code, 0)
  for (const c of COMMANDS) assert.match(main.stdout, new RegExp(`^  ${c} `, 'm'))
  assert.match(main.stdout, /Exit codes:/)
  const results = await Promise.all(COMMANDS.map((c) => hearsay([c, '--help'])))
  results.forEach((r, i) => {
    assert.equal(r.code, 0, `${COMMANDS[i]} --help: ${r.stderr}`)
    assert.match(r.stdout, new RegExp(`^Usage: hearsay ${COMMANDS[i]}`))
    assert.match(r.stdout, /Exit codes:/)
  })
})

test('bad flags and arguments name the problem and the fix, exit 2', { timeout: 120_000 }, async () => {
  const [unknown, noValue, badDuration, badLoss, badJson, missing, badCmd, badUrl, noKey] = await Promise.all([
    hearsay(['get', '--daat', 'x', 'inv']),
    hearsay(['peer', '--key']),
    hearsay(['lab', '--latency', 'fast']),
    hearsay(['lab', '--loss', '1.5']),
    hearsay(['put', 'inv', 'k', 'hello']),
    hearsay(['put', 'inv']),
    hearsay(['stauts']),
    hearsay(['peer', '--key', 'k', '--listen', 'http://127.0.0.1:1']),
    hearsay(['peer', '--listen', 'tcp://127.0.0.1:0'], { env: { HEARSAY_KEY: '' } }),
  ])
  for (const r of [unknown, noValue, badDuration, badLoss, badJson, missing, badCmd, badUrl, noKey]) assert.equal(r.code, 2, r.stderr)
  assert.match(unknown.stderr, /unknown flag --daat for 'hearsay get': did you mean --data\?/)
  assert.match(noValue.stderr, /flag --key needs a value/)
  assert.match(badDuration.stderr, /--latency takes a duration such as 50ms, 5s or 2m, got "fast"/)
  assert.match(badLoss.stderr, /--loss takes a probability/)
  assert.match(badJson.stderr, /<json> must be JSON, got "hello": quote a string as '"hello"', or pass --string/)
  assert.match(missing.stderr, /missing <key>: usage is hearsay put <object> <key> <json>/)
  assert.match(badCmd.stderr, /unknown command "stauts": did you mean 'hearsay status'\?/)
  assert.match(badUrl.stderr, /--listen http:\/\/127\.0\.0\.1:1: the scheme must be ws:\/\/, wss:\/\/ or tcp:\/\//)
  assert.match(noKey.stderr, /--key is required/)
})

test('client commands without a daemon say so and exit 3', { timeout: 60_000 }, async () => {
  const { dir, cleanup } = await tempDir('nodaemon')
  try {
    const rs = await Promise.all([hearsay(['get', '--data', dir, 'inv']), hearsay(['status'], { env: { HEARSAY_DATA: dir } }), hearsay(['put', '--data', dir, 'inv', 'k', '1'])])
    for (const r of rs) {
      assert.equal(r.code, 3, r.stderr)
      assert.match(r.stderr, new RegExp(`no hearsay daemon is running for ${dir}`))
      assert.match(r.stderr, /start one with: +hearsay peer --data/)
    }
  } finally {
    await cleanup()
  }
})

test('the npx launcher (packages/cli/bin/hearsay.mjs) runs the CLI and passes its exit code', { timeout: 60_000 }, () => {
  const ok = spawnSync(process.execPath, ['packages/cli/bin/hearsay.mjs', '--version'], { cwd: root, encoding: 'utf8' })
  assert.equal(ok.status, 0, ok.stderr)
  assert.match(ok.stdout, /^\d+\.\d+\.\d+/)
  const bad = spawnSync(process.execPath, [`${root}packages/cli/bin/hearsay.mjs`, 'get', '--nope'], { cwd: '/', encoding: 'utf8' })
  assert.equal(bad.status, 2, bad.stderr)
})
