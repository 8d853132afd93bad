// Incarnations against real `hearsay peer` daemons (issue 16, part 1): a node whose history went
// back (its data directory restored from a backup, after a kill -9 or a clean stop) must never
// write under a (source, seq) its peers already hold. Before incarnations, the restored node's
// next writes reused the seqs of the writes it had lost, its peer took them for duplicates, and
// both reported equal vectors over different content forever.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { cpSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { LevelStore } from '@hearsay/adapters/level'
import { restoreReplica } from '@hearsay/core'
import { LWWMap } from '@hearsay/model'
import { requestDaemon } from '../packages/cli/src/control.ts'
import { Running, tempDir } from './helpers/cli.ts'
import { getObject, putMany, startPeer, waitForKeys } from './daemons.ts'

const KEY = { HEARSAY_KEY: 'incarnations' }

/** The encoded state of `object` in a stopped node's data directory. */
async function storedState(dataDir: string, object: string): Promise<Uint8Array> {
  const store = new LevelStore(join(dataDir, 'db'))
  await store.open()
  const map = new LWWMap()
  try {
    assert.ok(await restoreReplica(store, object, map), `${dataDir} stores ${object}`)
    return map.encodeState()
  } finally {
    map.dispose()
    await store.close()
  }
}

/**
 * alice writes `k*` (received by bob), stops; her data directory is copied; she writes `lost*`
 * (received by bob) and stops; the copy is put back; she writes `after*` alone, then meets bob
 * again. Every acknowledged write must end up on both, with identical states. `stop` is how
 * alice stops each time: SIGTERM (a clean close) or SIGKILL (kill -9).
 */
async function restoreScenario(stop: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  const { dir, cleanup } = await tempDir(`restore-${stop}`)
  const a = join(dir, 'a')
  const b = join(dir, 'b')
  const backup = join(dir, 'backup')
  const N = 50
  const running: Running[] = []
  const run = async (dataDir: string, extra: string[]) => {
    const r = await startPeer(dataDir, KEY, extra)
    running.push(r.p)
    return r
  }
  try {
    let pb = await run(b, ['--id', 'bob'])
    let pa = await run(a, ['--id', 'alice', '--peer', pb.url])
    await putMany(a, 'prices', N, 'k')
    await waitForKeys(b, 'prices', N)
    await pa.p.stop(stop)
    // A backup as `cp -a` or tar makes it; a kill -9 leaves the control socket behind, which is not data.
    cpSync(a, backup, { recursive: true, filter: (src) => !src.endsWith('.sock') })

    pa = await run(a, ['--id', 'alice', '--peer', pb.url])
    await putMany(a, 'prices', N, 'lost')
    await waitForKeys(b, 'prices', 2 * N)
    await pa.p.stop(stop)
    rmSync(a, { recursive: true, force: true })
    cpSync(backup, a, { recursive: true })

    // Back from the backup, alone (bob is down, or alice would find him in her membership):
    // these writes are made before she hears of `lost*` again.
    assert.equal(await pb.p.stop('SIGTERM'), 0)
    pa = await run(a, ['--id', 'alice'])
    assert.equal(Object.keys(await getObject(a, 'prices')).length, N, 'the backup holds k* only')
    await putMany(a, 'prices', N, 'after')
    await pa.p.stop(stop)

    pb = await run(b, ['--id', 'bob'])
    pa = await run(a, ['--id', 'alice', '--peer', pb.url])
    const onA = await waitForKeys(a, 'prices', 3 * N)
    const onB = await waitForKeys(b, 'prices', 3 * N)
    assert.deepEqual(onA, onB)
    for (const prefix of ['k', 'lost', 'after']) for (let i = 0; i < N; i++) assert.equal(onA[`${prefix}${i}`], i, `${prefix}${i}`)
    const until = Date.now() + 10_000
    let clocks: unknown[] = []
    while (Date.now() < until) {
      clocks = await Promise.all([a, b].map(async (d) => ((await requestDaemon(d, { op: 'ls' })) as Array<{ id: string; clock: unknown }>).find((o) => o.id === 'prices')?.clock))
      if (JSON.stringify(clocks[0]) === JSON.stringify(clocks[1])) break
      await new Promise((r) => setTimeout(r, 100))
    }
    assert.deepEqual(clocks[0], clocks[1])
    // The node said that a peer held more of its own history than it did.
    await pa.p.waitFor(/history went back/)
    const status = (await requestDaemon(a, { op: 'status' })) as { historyAlarms: number }
    assert.ok(status.historyAlarms >= 1, `status counts the alarm: ${JSON.stringify(status.historyAlarms)}`)
    for (const p of [pa.p, pb.p]) assert.equal(await p.stop('SIGTERM'), 0)
    assert.deepEqual(await storedState(a, 'prices'), await storedState(b, 'prices'))
  } finally {
    for (const p of running) await p.stop('SIGKILL')
    await cleanup()
  }
}

test('a data directory restored from a backup taken while stopped: the node writes under a fresh incarnation; every acknowledged write reaches both nodes and their states are identical', { timeout: 180_000 }, () =>
  restoreScenario('SIGTERM'),
)

test('the same after kill -9 each time (the backup is of a crashed node)', { timeout: 180_000 }, () => restoreScenario('SIGKILL'))
