// Signed objects (issue 15, parts 3 and 4) against real `hearsay peer` daemons: alice writes a
// price list only she may write (`hearsay put --writers`); relay holds the network key and
// carries it to carol, who listen nowhere else; relay's own write is refused; alice restarts and
// serves her signed segments (from before and after the restart) to a node that meets only her.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { createWritePolicy, signedObjectId } from '@hearsay/gossip'
import { requestDaemon } from '../packages/cli/src/control.ts'
import { Running, hearsay, tempDir } from './helpers/cli.ts'
import { getObject, startPeer, waitForKeys } from './daemons.ts'

const KEY = { HEARSAY_KEY: 'signed-daemons' }

/** A daemon that listens nowhere and dials only `peer`: all it gets comes through that peer. */
async function startLeaf(dataDir: string, peer: string): Promise<Running> {
  const p = new Running(['peer', '--data', dataDir, '--peer', peer, '--interval', '100ms'], KEY)
  await p.waitFor(/ready/)
  return p
}

async function idOf(dataDir: string): Promise<string> {
  return ((await requestDaemon(dataDir, { op: 'ping' })) as { id: string }).id
}

test('a signed price list through a relay that may not write it, and across a restart of its writer', { timeout: 180_000 }, async () => {
  const { dir, cleanup } = await tempDir('signed-daemons')
  const [a, r, c, d] = ['alice', 'relay', 'carol', 'dave'].map((n) => join(dir, n)) as [string, string, string, string]
  const running: Running[] = []
  try {
    const relay = await startPeer(r, KEY)
    running.push(relay.p)
    let alice = await startLeaf(a, relay.url)
    running.push(alice)
    running.push(await startLeaf(c, relay.url))
    const aliceId = await idOf(a)
    const id = signedObjectId('prices', createWritePolicy([aliceId]))

    const put = await hearsay(['put', '--data', a, '--writers', aliceId, 'prices', 'bread', '3'], { env: KEY })
    assert.equal(put.code, 0, put.stderr)
    assert.equal(put.stdout.trim(), `${id}.bread = 3`, 'put prints the signed id')
    for (const [k, v] of [['milk', 2], ['eggs', 5]] as const) await requestDaemon(a, { op: 'put', object: id, key: k, value: v })
    assert.deepEqual(await waitForKeys(c, id, 3), { bread: 3, milk: 2, eggs: 5 }, 'carol gets alice\'s prices through the relay')

    const forged = await hearsay(['put', '--data', r, id, 'bread', '0'], { env: KEY })
    assert.notEqual(forged.code, 0, 'the relay may not write the price list')
    assert.match(forged.stderr, /HEARSAY_NOT_PERMITTED/)
    const forged2 = await hearsay(['put', '--data', r, '--writers', aliceId, 'prices', 'bread', '0'], { env: KEY })
    assert.notEqual(forged2.code, 0, 'naming alice as the writer does not make the relay her')
    await new Promise((res) => setTimeout(res, 500))
    assert.equal((await getObject(c, id))['bread'], 3)
    assert.equal((await getObject(r, id))['bread'], 3)
    for (const n of [a, r, c]) {
      const s = JSON.parse((await hearsay(['status', '--json', '--data', n], { env: KEY })).stdout) as { refused: Record<string, number> }
      assert.deepEqual(s.refused, { badSignature: 0, notPermitted: 0, invalid: 0 }, `${n}: nothing refused among honest nodes`)
    }

    // Alice restarts, listening this time; the relay stops, so dave can hear only alice.
    assert.equal(await alice.stop('SIGTERM'), 0)
    assert.equal(await relay.p.stop('SIGTERM'), 0)
    const alice2 = await startPeer(a, KEY)
    running.push(alice2.p)
    await requestDaemon(a, { op: 'put', object: id, key: 'salt', value: 1 })
    running.push(await startLeaf(d, alice2.url))
    assert.deepEqual(await waitForKeys(d, id, 4), { bread: 3, milk: 2, eggs: 5, salt: 1 }, 'dave gets the segments from before and after the restart')
    const status = await hearsay(['status', '--data', d], { env: KEY })
    assert.doesNotMatch(status.stdout, /REFUSED/)
  } finally {
    await Promise.all(running.map((p) => p.stop('SIGTERM').catch(() => {})))
    await cleanup()
  }
})
