// `hearsay explain` and `hearsay status --explain` against real daemons, as a user runs them:
// two nodes that never met say which ranges each lacks and that they do not know each other;
// once connected and converged, explain finds nothing and exits 0.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Running, hearsay, tempDir } from './helpers/cli.ts'

test('explain names the missing ranges and the missing link, then nothing once the nodes converged', { timeout: 120_000 }, async () => {
  const { dir, cleanup } = await tempDir('explain')
  const a = `${dir}/a`
  const b = `${dir}/b`
  const running: Running[] = []
  try {
    const pa = new Running(['peer', '--data', a, '--id', 'alice', '--key', 'k', '--listen', 'tcp://127.0.0.1:0', '--interval', '200ms'])
    running.push(pa)
    const [, url] = await pa.waitFor(/listening on (tcp:\/\/127\.0\.0\.1:\d+)/)
    let pb = new Running(['peer', '--data', b, '--id', 'bob', '--key', 'k', '--interval', '200ms'])
    running.push(pb)
    await pb.waitFor(/node bob ready/)
    for (const [k, v] of [['x', '1'], ['y', '2'], ['z', '3']]) assert.equal((await hearsay(['put', '--data', a, 'notes', k!, v!])).code, 0)
    assert.equal((await hearsay(['put', '--data', b, 'notes', 'w', '4'])).code, 0)
    assert.equal((await hearsay(['put', '--data', a, 'only-a', 'k', '1'])).code, 0)

    let r = await hearsay(['explain', '--data', a, '--with', b])
    assert.equal(r.code, 5, r.stderr + r.stdout)
    assert.match(r.stdout, /^notes: bob lacks alice\.1\.[\w-]{8} \(0, 3\] \(3 seqs\)$/m)
    assert.match(r.stdout, /^notes: alice lacks bob\.1\.[\w-]{8} \(0, 1\]$/m)
    assert.match(r.stdout, /^notes: alice does not know bob as a peer/m)
    assert.match(r.stdout, /^only-a: only alice holds it; bob does not know alice as a peer$/m)
    r = await hearsay(['explain', '--data', a, '--with', b, '--json'])
    const json = JSON.parse(r.stdout) as { converged: boolean; lines: string[] }
    assert.equal(json.converged, false)
    r = await hearsay(['explain', '--data', a, '--with', b, 'notes'])
    assert.doesNotMatch(r.stdout, /only-a/, 'one object when named')

    // Connected: they converge, and there is nothing left to explain.
    assert.equal(await pb.stop('SIGTERM'), 0)
    pb = new Running(['peer', '--data', b, '--key', 'k', '--peer', url!, '--interval', '200ms'])
    running.push(pb)
    await pb.waitFor(/peer alice connected/)
    const deadline = Date.now() + 30_000
    for (;;) {
      r = await hearsay(['explain', '--data', a, '--with', b])
      if (r.code === 0 || Date.now() > deadline) break
      await new Promise((res) => setTimeout(res, 300))
    }
    assert.equal(r.code, 0, r.stdout)
    assert.match(r.stdout, /alice and bob hold the same 2 objects/)
    r = await hearsay(['status', '--data', b, '--explain'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /explain: nothing to explain/)
  } finally {
    for (const p of running) await p.stop('SIGKILL')
    await cleanup()
  }
})
