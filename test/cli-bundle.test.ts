// Offline links with the CLI: a bundle exported from one data directory (through its running
// daemon) is imported into another (no daemon: the command opens the directory itself), and a
// bundle back acknowledges what arrived.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { statSync } from 'node:fs'
import { Running, hearsay, tempDir } from './helpers/cli.ts'

test('bundle export --for / bundle import carry a map between two data directories', { timeout: 120_000 }, async () => {
  const { dir, cleanup } = await tempDir('bundle')
  const a = `${dir}/a`
  const b = `${dir}/b`
  const env = { HEARSAY_KEY: 'bundle-net' }
  const running: Running[] = []
  try {
    // Alice writes through her daemon and exports for bob, whom she has never met.
    const pa = new Running(['peer', '--data', a, '--id', 'alice'], env)
    running.push(pa)
    await pa.waitFor(/node alice ready/)
    for (const [k, v] of [['ny', '101.5'], ['ldn', '99.25'], ['hk', '{"bid":7,"ask":8}']] as const) {
      const r = await hearsay(['put', '--data', a, 'prices', k, v])
      assert.equal(r.code, 0, r.stderr)
    }
    let r = await hearsay(['bundle', 'export', '--data', a, '--for', 'bob', `${dir}/to-bob.hsb`])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /wrote .*to-bob\.hsb \(.+\) for bob/)
    assert.ok(statSync(`${dir}/to-bob.hsb`).size > 0)
    assert.equal(await pa.stop('SIGTERM'), 0)

    // Bob imports with no daemon running: the command opens his data directory itself.
    r = await hearsay(['bundle', 'import', '--data', b, `${dir}/to-bob.hsb`])
    assert.equal(r.code, 2, 'no daemon and no key is a usage error')
    assert.match(r.stderr, /needs the network key: add --key/)
    r = await hearsay(['bundle', 'import', '--data', b, '--key', 'wrong', `${dir}/to-bob.hsb`])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /another network key, or was altered/)
    r = await hearsay(['bundle', 'import', '--data', b, `${dir}/to-bob.hsb`], { env })
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /imported .* from alice: \d+ object\(s\), \d+ update\(s\) applied/)
    // Twice is harmless.
    r = await hearsay(['bundle', 'import', '--data', b, `${dir}/to-bob.hsb`], { env })
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /0 update\(s\) applied/)

    const pb = new Running(['peer', '--data', b, '--id', 'bob'], env)
    running.push(pb)
    await pb.waitFor(/node bob ready/)
    r = await hearsay(['get', '--data', b, 'prices'])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(JSON.parse(r.stdout), { hk: { bid: 7, ask: 8 }, ldn: 99.25, ny: 101.5 })
    r = await hearsay(['put', '--data', b, 'prices', 'sf', '103'])
    assert.equal(r.code, 0, r.stderr)
    r = await hearsay(['bundle', 'export', '--data', b, '--for', 'alice', `${dir}/to-alice.hsb`])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(await pb.stop('SIGINT'), 0)

    // Alice imports offline and, restarted, holds bob's write too.
    r = await hearsay(['bundle', 'import', '--data', a, `${dir}/to-alice.hsb`], { env })
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /from bob/)
    const pa2 = new Running(['peer', '--data', a], env)
    running.push(pa2)
    await pa2.waitFor(/node alice ready/)
    r = await hearsay(['get', '--data', a, 'prices', 'sf'])
    assert.equal(r.stdout.trim(), '103')
    assert.equal(await pa2.stop('SIGTERM'), 0)

    r = await hearsay(['bundle', 'import', '--data', a, `${dir}/missing.hsb`], { env })
    assert.equal(r.code, 1)
    assert.match(r.stderr, /cannot read bundle .*missing\.hsb: no such file/)
    r = await hearsay(['bundle', 'export', '--data', a, `${dir}/x.hsb`], { env })
    assert.equal(r.code, 2)
    assert.match(r.stderr, /bundle export needs --for PEER/)
  } finally {
    for (const p of running) await p.stop('SIGKILL')
    await cleanup()
  }
})
