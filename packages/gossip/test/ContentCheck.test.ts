// The content check of the in-sync exchange (issue 16, part 2): two nodes whose vectors are
// equal but whose content differs find it, count it, and converge on one state.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { MemoryStore, type Range } from '@hearsay/core'
import { LWWMap, type LWWMapOp } from '@hearsay/model'
import { GossipKind } from '@hearsay/gossip'
import { TestNet, waitFor } from './helpers/net.ts'

describe('content check', () => {
  it('equal vectors over different content: both nodes report it and the larger id takes the smaller one\'s state', async () => {
    const net = new TestNet()
    try {
      const store = new MemoryStore()
      const a = net.node({ id: 'a', interval: 20 })
      const b1 = net.node({ id: 'b', interval: 20, store })
      await a.listen(net.address('a'))
      await b1.connect(net.address('a'))
      const ma = await a.open('m', LWWMap)
      for (let i = 0; i < 5; i++) ma.set(`k${i}`, i)
      await waitFor(() => (b1.get('m') as LWWMap | undefined)?.size === 5, 'b has the five keys')
      await b1.close()
      // Tamper with b's store: the same updates (same dots, so the same vector), k2 holding
      // another value. Nothing a vector can see.
      const ranges = ma.historySince() as Range<LWWMapOp>[]
      const forged = ranges.map((r) => ({ ...r, updates: r.updates.map((u) => (u.op.key === 'k2' ? { ...u, op: { ...u.op, value: 'forged' } } : u)) }))
      const fake = new LWWMap({ id: 'x' })
      fake.applyRanges(forged)
      await store.open()
      await store.compact('m', LWWMap.typeId, fake.encodeState())
      await store.close()

      const b = net.node({ id: 'b', interval: 20, store })
      const mb = await b.open('m', LWWMap)
      assert.equal(mb.get('k2'), 'forged')
      assert.equal(mb.clock.compare(ma.clock), 'equal', 'the vectors cannot tell')
      let repaired = false
      b.on('content-mismatch', (id, peer, done) => (repaired ||= id === 'm' && peer === 'a' && done))
      await b.connect(net.address('a'))
      await waitFor(() => repaired, 'b finds the difference and takes a\'s state', 10_000)
      const now = b.get('m') as LWWMap
      assert.notEqual(now, mb, 'the repaired object has a new replica')
      assert.equal(mb.isOpen, false)
      assert.equal(now.get('k2'), 2)
      assert.deepEqual(now.encodeState(), ma.encodeState())
      assert.ok(b.status().contentMismatches >= 1 && b.status().contentRepairs === 1, JSON.stringify(b.status().contentMismatches))
      await waitFor(() => a.status().contentMismatches >= 1, 'a counts it too')
      assert.equal(a.status().contentRepairs, 0, 'the smaller id keeps its state')
      assert.equal(ma.get('k2'), 2)
      // The repair is in b's store: a restart keeps it.
      await b.close()
      const b3 = net.node({ id: 'b', interval: 20, store })
      assert.equal((await b3.open('m', LWWMap)).get('k2'), 2)
    } finally {
      await net.close()
    }
  })

  it('an idle in-sync round carries the content root once every few rounds only', async () => {
    const net = new TestNet()
    try {
      const sizes: Array<[number, number]> = []
      const a = net.node({ id: 'a', interval: 15, heartbeatInterval: 3_600_000, inspect: (dir, frame) => dir === 'out' && frame[0] === GossipKind.Root && sizes.push([frame[1]!, frame.length]) })
      const b = net.node({ id: 'b', interval: 15, heartbeatInterval: 3_600_000 })
      await a.listen(net.address('a'))
      await b.connect(net.address('a'))
      const m = await a.open('m', LWWMap)
      m.set('k', 1)
      await waitFor(() => sizes.length >= 60, 'sixty rounds from a', 20_000)
      const plain = sizes.filter(([flags]) => (flags & 8) === 0).map(([, n]) => n)
      const withContent = sizes.filter(([flags]) => (flags & 8) !== 0).map(([, n]) => n)
      assert.ok(withContent.length > 0, 'content roots were sent')
      assert.ok(withContent.length <= sizes.length / 4, `${withContent.length} of ${sizes.length} roots carried content`)
      assert.ok(Math.max(...plain) <= 20, `plain root ${Math.max(...plain)} B`)
      assert.ok(Math.max(...withContent) <= 36, `root with content ${Math.max(...withContent)} B`)
      console.log(`# root frames: ${Math.max(...plain)} B plain, ${Math.max(...withContent)} B with the content root, ${withContent.length} of ${sizes.length}`)
    } finally {
      await net.close()
    }
  })
})
