// `hearsay peer` as a daemon with put/get/del/watch/ls/status talking to it over its control
// socket: two real processes gossiping over TCP and WebSocket on loopback, as a user runs them.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Running, hearsay, tempDir } from './helpers/cli.ts'

test('two peers gossip; put/get/del/watch/ls/status reach the daemon; SIGTERM closes cleanly and the data survives', { timeout: 120_000 }, async () => {
  const { dir, cleanup } = await tempDir('peer')
  const a = `${dir}/a`
  const b = `${dir}/b`
  const key = { HEARSAY_KEY: 'test-network' }
  const peers: Running[] = []
  try {
    const pa = new Running(['peer', '--data', a, '--id', 'alice', '--listen', 'tcp://127.0.0.1:0', '--interval', '200ms', '--status-every', '1s'], key)
    peers.push(pa)
    const [, tcpUrl] = await pa.waitFor(/listening on (tcp:\/\/127\.0\.0\.1:\d+)/)
    const pb = new Running(['peer', '--data', b, '--id', 'bob', '--key', 'test-network', '--listen', 'ws://127.0.0.1:0', '--peer', tcpUrl!, '--interval', '200ms'])
    peers.push(pb)
    await pb.waitFor(/peer alice connected/)
    await pa.waitFor(/peer bob connected/)
    await pa.waitFor(/status: 1\/1 peers connected/)

    const watch = new Running(['watch', '--data', b, 'inventory'])
    peers.push(watch)
    await watch.waitFor(/watching inventory/)

    let r = await hearsay(['put', '--data', a, 'inventory', 'apples', '12'])
    assert.equal(r.code, 0, r.stderr)
    r = await hearsay(['put', '--data', a, 'inventory', 'crate', '{"kg":4.5,"tags":["fruit"]}'])
    assert.equal(r.code, 0, r.stderr)
    r = await hearsay(['put', '--data', b, '--string', 'inventory', 'note', 'from bob'])
    assert.equal(r.code, 0, r.stderr)
    await watch.waitFor(/apples 12/)
    await watch.waitFor(/crate \{"kg":4\.5,"tags":\["fruit"\]\}/)
    await watch.waitFor(/note "from bob"/)

    r = await hearsay(['get', '--data', b, 'inventory', 'crate'])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(JSON.parse(r.stdout), { kg: 4.5, tags: ['fruit'] })
    r = await hearsay(['get', '--data', b, 'inventory'])
    assert.deepEqual(JSON.parse(r.stdout), { apples: 12, crate: { kg: 4.5, tags: ['fruit'] }, note: 'from bob' })
    r = await hearsay(['get', '--data', b, 'inventory', 'nope'])
    assert.equal(r.code, 4)
    assert.match(r.stderr, /inventory has no key "nope"/)

    r = await hearsay(['del', '--data', b, 'inventory', 'apples'])
    assert.equal(r.code, 0, r.stderr)
    await watch.waitFor(/apples \(deleted\)/)

    r = await hearsay(['ls', '--data', a, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const ls = JSON.parse(r.stdout) as Array<{ id: string; type: string; size: number; clock: Record<string, number> }>
    assert.equal(ls.length, 1)
    assert.equal(ls[0]!.id, 'inventory')
    assert.equal(ls[0]!.type, 'LWWMap')

    r = await hearsay(['status', '--data', b, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const status = JSON.parse(r.stdout)
    assert.equal(status.id, 'bob')
    const alice = status.peers.find((p: { id: string }) => p.id === 'alice')
    assert.ok(alice, r.stdout)
    assert.match(alice.state, /connected|in sync/)
    assert.ok(status.bytesIn > 0 && status.bytesOut > 0)
    r = await hearsay(['status', '--data', b])
    assert.match(r.stdout, /node bob/)
    assert.match(r.stdout, /alice/)

    // Clean shutdown: the watch is told, the daemon says so and exits 0.
    assert.equal(await pb.stop('SIGTERM'), 0)
    assert.match(pb.output, /stopped cleanly/)
    await watch.waitFor(/the daemon stopped/)
    r = await hearsay(['get', '--data', b, 'inventory'])
    assert.equal(r.code, 3)
    assert.match(r.stderr, /no hearsay daemon is running for .*\/b/)
    assert.match(r.stderr, /hearsay peer --data/)

    // Restarted on the same directory, the node has every key and the same id (after SIGINT too).
    const pb2 = new Running(['peer', '--data', b, '--key', 'test-network'])
    peers.push(pb2)
    await pb2.waitFor(/node bob ready/)
    r = await hearsay(['get', '--data', b, 'inventory'])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(JSON.parse(r.stdout), { crate: { kg: 4.5, tags: ['fruit'] }, note: 'from bob' })
    assert.equal(await pb2.stop('SIGINT'), 0)
    assert.equal(await pa.stop('SIGINT'), 0)
  } finally {
    for (const p of peers) await p.stop('SIGKILL')
    await cleanup()
  }
})

test('a second daemon on the same data directory is refused with a clear message', { timeout: 60_000 }, async () => {
  const { dir, cleanup } = await tempDir('twice')
  const p = new Running(['peer', '--data', dir, '--key', 'k'])
  try {
    await p.waitFor(/ready/)
    const r = await hearsay(['peer', '--data', dir, '--key', 'k'])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /already runs for|in use by another process/)
  } finally {
    await p.stop('SIGTERM')
    await cleanup()
  }
})
