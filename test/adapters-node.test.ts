// Gossip nodes on real loopback sockets (TCP and WebSocket from @hearsay/adapters) persisting in
// LevelDB (LevelStore): three nodes edit one Y.Text and an LWW map concurrently and converge;
// a node restarted from its directory gets back its id, its objects and the digests it last saw
// from its peers, and catches up on what it missed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { withSeed, prng } from '@hearsay/core/testing'
import { Node } from '@hearsay/gossip'
import { LWWMap } from '@hearsay/model'
import { TcpTransport, WsTransport } from '@hearsay/adapters'
import { LevelStore } from '@hearsay/adapters/level'
import { YDocReplica } from '@hearsay/adapters/yjs'

const KEY = 'adapters-node-test'

function makeNode(dir: string): Node {
  return new Node({
    networkKey: KEY,
    store: new LevelStore(dir),
    transports: [new TcpTransport(), new WsTransport({ heartbeatInterval: 1000 })],
    interval: 50,
    fanout: 2,
  })
}

async function until(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const text = (y: YDocReplica) => y.doc.getText('t').toString()

test('nodes over TCP and WebSocket with LevelStore converge on Y.Text and LWW edits, and a restarted node resumes', { timeout: 60_000 }, async () => {
  await withSeed('adapters node', async (rng) => {
    const dirs = [0, 1, 2].map(() => mkdtempSync(join(tmpdir(), 'hearsay-node-')))
    let nodes = dirs.map(makeNode)
    try {
      const [a, b, c] = nodes as [Node, Node, Node]
      const tcpUrl = await a.listen('tcp://127.0.0.1:0')
      const wsUrl = await b.listen('ws://127.0.0.1:0/hearsay')
      await b.connect(tcpUrl)
      await c.connect(wsUrl)
      let docs = await Promise.all(nodes.map((n) => n.open('notes', YDocReplica)))
      let maps = await Promise.all(nodes.map((n) => n.open('prices', LWWMap)))
      for (let step = 0; step < 150; step++) {
        const i = prng.uint32(rng, 0, 2)
        const t = docs[i]!.doc.getText('t')
        if (t.length > 5 && prng.uint32(rng, 0, 3) === 0) t.delete(prng.uint32(rng, 0, t.length - 1), 1)
        else t.insert(prng.uint32(rng, 0, t.length), prng.word(rng, 1, 3))
        if (step % 5 === 0) maps[i]!.set(`k${prng.uint32(rng, 0, 9)}`, step)
        if (step % 10 === 0) await new Promise((r) => setTimeout(r, 1))
      }
      const converged = () =>
        docs.every((d) => text(d) === text(docs[0]!) && d.clock.compare(docs[0]!.clock) === 'equal') &&
        maps.every((m) => m.clock.compare(maps[0]!.clock) === 'equal')
      await until('convergence', converged)
      for (const d of docs) assert.deepEqual(d.encodeState(), docs[0]!.encodeState())
      for (const m of maps) assert.deepEqual(m.toJSON(), maps[0]!.toJSON())
      assert.ok(text(docs[0]!).length > 0)

      // Restart c from its directory while the others keep writing.
      const cId = c.id
      const cSource = c.source
      const bId = b.id
      await c.flush()
      await c.close()
      docs[0]!.doc.getText('t').insert(0, 'while-c-was-away ')
      maps[1]!.set('late', 1)
      const c2 = makeNode(dirs[2]!)
      nodes[2] = c2
      await c2.start()
      assert.equal(c2.id, cId, 'node id restored from the store')
      const seen = await c2.digestSeen(bId)
      assert.ok((seen.get('notes')?.get(cSource) ?? 0) > 0, 'the digest last seen from b was restored')
      assert.notEqual(c2.source, cSource, 'the restarted node writes under a fresh incarnation')
      const d2 = await c2.open('notes', YDocReplica)
      const m2 = await c2.open('prices', LWWMap)
      d2.doc.getText('t')
      assert.ok(text(d2).length > 0, 'document restored from LevelDB before any sync')
      await c2.connect(wsUrl)
      docs = [docs[0]!, docs[1]!, d2]
      maps = [maps[0]!, maps[1]!, m2]
      d2.doc.getText('t').insert(0, 'back ')
      await until('convergence after the restart', converged)
      assert.ok(text(d2).includes('while-c-was-away'))
      assert.ok(text(docs[0]!).includes('back '))
      assert.equal(m2.get('late'), 1)
    } finally {
      await Promise.all(nodes.map((n) => n.close().catch(() => {})))
      for (const d of dirs) rmSync(d, { recursive: true, force: true })
    }
  })
})
