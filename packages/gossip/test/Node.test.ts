import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { LWWMap, ORSet } from '@hearsay/model'
import { List } from '@hearsay/seq'
import { withSeed } from '@hearsay/core/testing'
import { ErrorCodes, isHearsayError } from '@hearsay/core'
import { MEMBERSHIP_OBJECT_ID } from '@hearsay/gossip'
import { TestNet, waitFor } from './helpers/net.ts'

describe('Node over mem://', () => {
  it('two nodes converge on an LWWMap, both ways', async () => {
    const net = new TestNet()
    try {
      const a = net.node({ id: 'a' })
      const b = net.node({ id: 'b' })
      await a.listen(net.address('a'))
      assert.equal(await b.connect(net.address('a')), 'a')
      const ma = await a.open('prices', LWWMap)
      ma.set('apples', 3)
      await waitFor(() => (b.get('prices') as LWWMap | undefined)?.get('apples') === 3, 'b sees apples')
      const mb = await b.open('prices', LWWMap)
      assert.equal(mb, b.get('prices'), 'open returns the replica created for the peer object')
      mb.set('pears', 5)
      await waitFor(() => ma.get('pears') === 5, 'a sees pears')
      assert.deepEqual(ma.toJSON(), mb.toJSON())
      assert.deepEqual(ma.encodeState(), mb.encodeState())
    } finally {
      await net.close()
    }
  })

  it('records the peer digest when a round finds the roots equal (live pushes carry no vectors)', async () => {
    const net = new TestNet()
    try {
      // Heartbeats an hour apart: no membership change makes the roots differ and carry vectors.
      const a = net.node({ id: 'a', interval: 50, heartbeatInterval: 3_600_000 })
      const b = net.node({ id: 'b', interval: 50, heartbeatInterval: 3_600_000 })
      await a.listen(net.address('a'))
      await b.connect(net.address('a'))
      const ma = await a.open('prices', LWWMap)
      ma.set('apples', 3)
      await waitFor(() => (b.get('prices') as LWWMap | undefined)?.get('apples') === 3, 'b sees apples')
      ma.set('apples', 4)
      await waitFor(() => (b.get('prices') as LWWMap | undefined)?.get('apples') === 4, 'b sees the live push')
      // The push arrived without vectors; the next in-sync round must record that b holds a's 2.
      let seen = new Map<string, { get(s: string): number }>()
      await waitFor(async () => {
        seen = await a.digestSeen('b')
        return seen.get('prices')?.get(a.source) === 2
      }, 'a records b at 2 of its source once a round finds them in sync', 5_000)
    } finally {
      await net.close()
    }
  })

  it('syncs history written before the nodes met, on the first round', async () => {
    const net = new TestNet()
    try {
      const a = net.node({ id: 'a', interval: 60_000 })
      const b = net.node({ id: 'b', interval: 60_000 })
      const sa = await a.open('s', ORSet)
      const mb = await b.open('m', LWWMap)
      for (let i = 0; i < 50; i++) sa.add(`x${i}`)
      for (let i = 0; i < 50; i++) mb.set(`k${i % 7}`, i)
      await a.listen(net.address('a'))
      await b.connect(net.address('a'))
      await waitFor(() => (b.get('s') as ORSet | undefined)?.toJSON().length === 50 && (a.get('m') as LWWMap | undefined)?.get('k0') === 49, 'both objects cross')
      assert.deepEqual(a.get('m')!.encodeState(), mb.encodeState())
      assert.deepEqual(b.get('s')!.encodeState(), sa.encodeState())
    } finally {
      await net.close()
    }
  })

  it('many nodes in a chain converge on LWWMap, ORSet and List objects (relay, discovery)', () =>
    withSeed('gossip chain', async (rng) => {
      const net = new TestNet()
      try {
        const n = 6
        const nodes = Array.from({ length: n }, (_, i) => net.node({ id: `n${i}`, fanout: 2, random: () => rng.next() }))
        for (let i = 0; i < n; i++) await nodes[i]!.listen(net.address(`n${i}`))
        // Each node is told only about the previous one.
        for (let i = 1; i < n; i++) await nodes[i]!.connect(net.address(`n${i - 1}`))
        const maps = await Promise.all(nodes.map((x) => x.open('doc', LWWMap)))
        const sets = await Promise.all(nodes.map((x) => x.open('tags', ORSet)))
        const lists = await Promise.all(nodes.map((x) => x.open('todo', List)))
        for (let step = 0; step < 200; step++) {
          const i = Math.floor(rng.next() * n)
          const r = rng.next()
          if (r < 0.35) maps[i]!.set(`k${Math.floor(rng.next() * 20)}`, step)
          else if (r < 0.55) sets[i]!.add(`t${Math.floor(rng.next() * 30)}`)
          else if (r < 0.75) lists[i]!.insert(Math.floor(rng.next() * (lists[i]!.length + 1)), `item${step}`)
          else if (r < 0.85) {
            const l = lists[i]!
            if (l.length > 0) l.delete(Math.floor(rng.next() * l.length))
          } else {
            const v = sets[i]!.toJSON()
            if (v.length > 0) sets[i]!.delete(v[Math.floor(rng.next() * v.length)]!)
          }
          if (step % 20 === 0) await new Promise((r) => setTimeout(r, 2))
        }
        await waitFor(
          () =>
            nodes.every(
              (x) =>
                Buffer.compare(x.get('doc')!.encodeState(), maps[0]!.encodeState()) === 0 &&
                Buffer.compare(x.get('tags')!.encodeState(), sets[0]!.encodeState()) === 0 &&
                Buffer.compare(x.get('todo')!.encodeState(), lists[0]!.encodeState()) === 0,
            ),
          'every node holds equal states',
          20_000,
        )
        for (const x of nodes) {
          assert.equal(x.get('doc')!.clock.compare(maps[0]!.clock), 'equal')
          assert.equal(x.get('tags')!.pendingCount, 0)
          assert.equal(x.get('todo')!.pendingCount, 0)
          assert.deepEqual(x.get('todo')!.toJSON(), lists[0]!.toJSON())
        }
        // Membership reached everyone, so nodes connected beyond the chain.
        await waitFor(() => nodes.every((x) => x.membership.members().length === n), 'every node knows every member')
        assert.ok(nodes[0]!.status().peers.filter((p) => p.connected).length >= 2, 'n0 connected to peers it was never told about')
      } finally {
        await net.close()
      }
    }))

  it('refuses opening an object under another type', async () => {
    const net = new TestNet()
    try {
      const a = net.node({ id: 'a' })
      await a.open('x', LWWMap)
      await assert.rejects(a.open('x', ORSet), (e: unknown) => isHearsayError(e, ErrorCodes.TYPE_MISMATCH))
      await assert.rejects(a.open('', LWWMap), TypeError)
      assert.equal(await a.open('x', LWWMap), a.get('x'))
    } finally {
      await net.close()
    }
  })

  it('reports status: peers, objects, vectors, traffic, pending', async () => {
    const net = new TestNet()
    try {
      const a = net.node({ id: 'a' })
      const b = net.node({ id: 'b' })
      await a.listen(net.address('a'))
      await b.connect(net.address('a'))
      const m = await a.open('m', LWWMap)
      m.set('k', 1)
      await waitFor(() => b.get('m') !== undefined, 'b gets m')
      await waitFor(() => a.status().peers.some((p) => p.id === 'b' && p.lastSync !== undefined), 'a synced with b')
      const s = a.status()
      assert.equal(s.id, 'a')
      assert.match(s.source, /^a\.1\.[A-Za-z0-9_-]{8}$/)
      assert.equal(s.historyAlarms, 0)
      assert.deepEqual(s.addresses, [net.address('a')])
      const pb = s.peers.find((p) => p.id === 'b')!
      assert.equal(pb.connected, true)
      assert.equal(pb.suspected, false)
      assert.ok(pb.bytesIn > 0 && pb.bytesOut > 0)
      assert.ok(s.bytesIn >= pb.bytesIn && s.bytesOut >= pb.bytesOut)
      assert.deepEqual(s.objects.find((o) => o.id === 'm'), { id: 'm', typeId: LWWMap.typeId, typeName: 'LWWMap', vector: { [a.source]: 1 }, pending: 0 })
      assert.ok(s.objects.some((o) => o.id === MEMBERSHIP_OBJECT_ID))
      assert.equal(s.pendingUpdates, 0)
      assert.ok(b.status().updatesApplied >= 1)
    } finally {
      await net.close()
    }
  })

  it('reconnects to a peer that comes back (backoff), and catches up', async () => {
    const net = new TestNet()
    try {
      const a = net.node({ id: 'a', backoff: 10, maxBackoff: 40 })
      const b1 = net.node({ id: 'b' })
      await b1.listen(net.address('b'))
      await a.connect(net.address('b'))
      await b1.close()
      await waitFor(() => !a.status().peers.some((p) => p.connected), 'a sees b gone')
      const m = await a.open('m', LWWMap)
      m.set('while-away', true)
      // Several failed attempts back off; then b returns on the same address.
      await new Promise((r) => setTimeout(r, 100))
      const b2 = net.node({ id: 'b' })
      await b2.listen(net.address('b'))
      await waitFor(() => (b2.get('m') as LWWMap | undefined)?.get('while-away') === true, 'b catches up after a reconnects')
    } finally {
      await net.close()
    }
  })

  it('keeps the newer of two connections dialed from one end', async () => {
    const net = new TestNet()
    try {
      const a = net.node({ id: 'a' })
      const b = net.node({ id: 'b' })
      await a.listen(net.address('a'))
      await a.listen(net.address('a2'))
      await b.connect(net.address('a'))
      await b.connect(net.address('a2'))
      await waitFor(() => b.status().peers.find((p) => p.id === 'a')?.connected === true && a.status().peers.filter((p) => p.connected).length === 1, 'one link')
      await new Promise((r) => setTimeout(r, 100))
      const m = await b.open('m', LWWMap)
      m.set('x', 1)
      await waitFor(() => (a.get('m') as LWWMap | undefined)?.get('x') === 1, 'a gets x')
    } finally {
      await net.close()
    }
  })

  it('keeps one connection when two nodes dial each other', async () => {
    const net = new TestNet()
    try {
      const a = net.node({ id: 'a' })
      const b = net.node({ id: 'b' })
      await a.listen(net.address('a'))
      await b.listen(net.address('b'))
      await Promise.all([a.connect(net.address('b')), b.connect(net.address('a'))])
      await new Promise((r) => setTimeout(r, 100))
      const m = await a.open('m', LWWMap)
      m.set('x', 1)
      await waitFor(() => (b.get('m') as LWWMap | undefined)?.get('x') === 1, 'b gets x')
      await new Promise((r) => setTimeout(r, 100))
      assert.equal(a.status().peers.filter((p) => p.connected).length, 1)
      assert.ok(b.status().peers.find((p) => p.id === 'a')?.connected)
    } finally {
      await net.close()
    }
  })

  it('relays updates between nodes that cannot reach each other (store-and-forward), by live push alone', async () => {
    const net = new TestNet()
    try {
      // No rounds: only live pushes and the first round of each connection move data.
      const quiet = { interval: 3_600_000 }
      const a = net.node({ id: 'a', ...quiet })
      const b = net.node({ id: 'b', ...quiet })
      const c1 = net.node({ id: 'c', ...quiet })
      // Only b listens, so a and c have no address for each other.
      await b.listen(net.address('b'))
      await a.connect(net.address('b'))
      await c1.connect(net.address('b'))
      const ma = await a.open('m', LWWMap)
      ma.set('live', 1)
      await waitFor(() => (c1.get('m') as LWWMap | undefined)?.get('live') === 1, 'c gets a write of a through b')
      const mc = await c1.open('m', LWWMap)
      mc.set('back', 2)
      await waitFor(() => ma.get('back') === 2, 'a gets a write of c through b')
      // c goes away; a writes; a goes away; c returns and gets it from b.
      await c1.close()
      ma.set('while-c-was-away', 3)
      await waitFor(() => (b.get('m') as LWWMap).get('while-c-was-away') === 3, 'b holds it')
      await a.close()
      const c2 = net.node({ id: 'c2', ...quiet })
      await c2.connect(net.address('b'))
      await waitFor(() => (c2.get('m') as LWWMap | undefined)?.get('while-c-was-away') === 3, 'c2 gets it from b alone')
      assert.deepEqual(c2.get('m')!.encodeState(), b.get('m')!.encodeState())
    } finally {
      await net.close()
    }
  })

  it('checks its options and addresses, and logs peer errors', async () => {
    const net = new TestNet()
    try {
      const { Node } = await import('@hearsay/gossip')
      assert.throws(() => new Node({} as never), TypeError)
      assert.throws(() => new Node({ networkKey: '' }), TypeError)
      assert.throws(() => new Node({ networkKey: 'k', fanout: 0 }), RangeError)
      assert.throws(() => new Node({ networkKey: 'k', id: '' }), TypeError)
      const logged: string[] = []
      const fields: Record<string, unknown>[] = []
      // The pino/bunyan shape: fields first, then the message.
      const a = net.node({ id: 'a', logger: { warn: (f, m) => (fields.push(f), logged.push(m)) } })
      await assert.rejects(a.connect('carrier-pigeon://x'), (e: unknown) => isHearsayError(e, ErrorCodes.NOT_SUPPORTED))
      await assert.rejects(a.listen('not a url'), TypeError)
      await assert.rejects(a.connect(net.address('nobody')), (e: unknown) => isHearsayError(e, ErrorCodes.TRANSPORT_ERROR))
      a.disconnect(net.address('nobody'))
      const c = net.node({ id: 'c', networkKey: 'other', backoff: 60_000 })
      await a.listen(net.address('a'))
      await c.connect(net.address('a')).catch(() => {})
      await waitFor(() => logged.includes('peer error'), 'a logged the refused peer')
      const f = fields[logged.indexOf('peer error')]!
      assert.equal(f['node'], 'a', 'the structured fields name the node')
      assert.ok(Object.keys(f).length > 1, `the fields carry the event's data: ${JSON.stringify(f)}`)
      await a.close()
      await a.close()
      await assert.rejects(a.open('x', LWWMap), (e: unknown) => isHearsayError(e, ErrorCodes.NOT_OPEN))
    } finally {
      await net.close()
    }
  })
})
