// The content check against real `hearsay peer` daemons (issue 16, part 2): bob's store is
// tampered with while he is stopped (a value changed under the same dots, so the vectors still
// match alice's). When the two meet again, bob finds the difference, says so in `hearsay status`,
// takes alice's state (the larger id takes the smaller one's), and a `hearsay watch` running on
// him shows the repaired value instead of going quiet with the replaced replica.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { LevelStore } from '@hearsay/adapters/level'
import { restoreReplica, type Range } from '@hearsay/core'
import { LWWMap, type LWWMapOp } from '@hearsay/model'
import { Running, hearsay, tempDir } from './helpers/cli.ts'
import { getObject, putMany, startPeer, waitForKeys } from './daemons.ts'

const KEY = { HEARSAY_KEY: 'content-check' }

/** In a stopped node's store: the same updates of `object` (same dots), `key` holding `value`. */
async function tamper(dataDir: string, object: string, key: string, value: string): Promise<void> {
  const store = new LevelStore(join(dataDir, 'db'))
  await store.open()
  const real = new LWWMap()
  const forged = new LWWMap()
  try {
    assert.ok(await restoreReplica(store, object, real), `${dataDir} stores ${object}`)
    const ranges = real.historySince() as Range<LWWMapOp>[]
    forged.applyRanges(ranges.map((r) => ({ ...r, updates: r.updates.map((u) => (u.op.key === key ? { ...u, op: { ...u.op, value } } : u)) })))
    assert.equal(forged.clock.compare(real.clock), 'equal', 'the vectors cannot tell')
    assert.equal(forged.get(key), value)
    await store.compact(object, LWWMap.typeId, forged.encodeState())
  } finally {
    real.dispose()
    forged.dispose()
    await store.close()
  }
}

test('a store tampered with under equal vectors: found, shown in status, repaired, and watched', { timeout: 120_000 }, async () => {
  const { dir, cleanup } = await tempDir('content-check')
  const a = join(dir, 'alice')
  const b = join(dir, 'bob')
  const running: Running[] = []
  try {
    let pb = await startPeer(b, KEY, ['--id', 'bob'])
    let pa = await startPeer(a, KEY, ['--id', 'alice', '--peer', pb.url])
    running.push(pa.p, pb.p)
    await putMany(a, 'm', 5, 'k')
    await waitForKeys(b, 'm', 5)
    for (const p of [pa.p, pb.p]) assert.equal(await p.stop('SIGTERM'), 0)

    await tamper(b, 'm', 'k2', 'forged')
    pb = await startPeer(b, KEY, ['--id', 'bob'])
    running.push(pb.p)
    assert.equal((await getObject(b, 'm'))['k2'], 'forged', 'bob serves the tampered value before he meets alice')
    const watch = new Running(['watch', 'm', '--data', b])
    running.push(watch)
    await watch.waitFor(/watching m/)

    pa = await startPeer(a, KEY, ['--id', 'alice', '--peer', pb.url])
    running.push(pa.p)
    await watch.waitFor(/^k2 2$/m, 30_000)
    await pb.p.waitFor(/content repaired: m had equal vectors but different content at peer alice/, 10_000)
    await pa.p.waitFor(/content differs: m has equal vectors but different content at peer bob/, 10_000)
    const status = await hearsay(['status', '--data', b], { env: KEY })
    assert.equal(status.code, 0, status.stderr)
    assert.match(status.stdout, /ALARM +1 object had equal vectors but different content at a peer; 1 repaired here/)
    const [ma, mb] = [await getObject(a, 'm'), await getObject(b, 'm')]
    assert.deepEqual(mb, ma)
    assert.equal(ma['k2'], 2)

    // The watch keeps following the new replica: a later write shows up too.
    await putMany(a, 'm', 1, 'after')
    await watch.waitFor(/^after0 0$/m, 30_000)
  } finally {
    for (const p of running.reverse()) await p.stop('SIGKILL')
    await cleanup()
  }
})
