import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { MemoryStore } from '@hearsay/core'
import { checkConvergence } from '@hearsay/core/testing'
import * as fc from 'fast-check'
import { LWWMap } from '@hearsay/model'
import { Membership } from '@hearsay/gossip'
import { TestNet, waitFor } from './helpers/net.ts'

describe('Membership', () => {
  it('passes the convergence laws', async () => {
    await checkConvergence((o) => new Membership(o), fc.array(fc.constantFrom('mem://a', 'tcp://b:1', 'ws://c:2'), { maxLength: 3 }), {
      apply: (m, addresses) => m.beat(addresses),
      numRuns: Number(process.env['HEARSAY_RUNS']) || 50,
    })
  })

  it('keeps one entry per node with a growing heartbeat', () => {
    const m = new Membership({ id: 'n1' })
    m.beat(['mem://x'])
    m.beat(['mem://x', 'mem://y'])
    assert.deepEqual(m.toJSON(), { n1: { addresses: ['mem://x', 'mem://y'], heartbeat: 2 } })
    assert.equal(m.historySince().reduce((n, r) => n + r.updates.length, 0), 1)
    assert.throws(() => m.beat([''] as string[]), TypeError)
  })
})

describe('membership on nodes', () => {
  it('nodes learn of peers they were never told about and connect to them', async () => {
    const net = new TestNet()
    try {
      const hub = net.node({ id: 'hub' })
      const b = net.node({ id: 'b' })
      const c = net.node({ id: 'c' })
      await hub.listen(net.address('hub'))
      await b.listen(net.address('b'))
      await c.listen(net.address('c'))
      await b.connect(net.address('hub'))
      await c.connect(net.address('hub'))
      await waitFor(() => b.status().peers.some((p) => p.id === 'c' && p.connected), 'b connects to c through the membership')
      assert.deepEqual(b.membership.get('c')?.addresses, [net.address('c')])
      // A node can announce other addresses than its listeners'.
      const d = net.node({ id: 'd', advertise: [net.address('d-public')] })
      await d.listen(net.address('d'))
      await d.connect(net.address('hub'))
      await waitFor(() => b.membership.get('d')?.addresses[0] === net.address('d-public'), 'b learns the advertised address of d')
      // With the hub gone, b and c still converge directly.
      await hub.close()
      const mb = await b.open('m', LWWMap)
      mb.set('direct', 1)
      await waitFor(() => (c.get('m') as LWWMap | undefined)?.get('direct') === 1, 'c gets the write from b directly')
    } finally {
      await net.close()
    }
  })

  it('suspects a node whose heartbeat stops, leaves it out, and takes it back when it returns', async () => {
    const net = new TestNet()
    try {
      const timing = { interval: 10, heartbeatInterval: 10, suspectAfter: 120, backoff: 10, maxBackoff: 40 }
      const a = net.node({ id: 'a', ...timing })
      const b = net.node({ id: 'b', ...timing })
      const storeC = new MemoryStore()
      const c1 = net.node({ id: 'c', ...timing, store: storeC })
      const suspected: string[] = []
      const recovered: string[] = []
      b.on('peer-suspected', (id: string) => suspected.push(id))
      b.on('peer-recovered', (id: string) => recovered.push(id))
      await a.listen(net.address('a'))
      await b.connect(net.address('a'))
      await c1.listen(net.address('c'))
      await c1.connect(net.address('a'))
      await waitFor(() => b.membership.get('c') !== undefined, 'b learns of c')
      await c1.close()
      await waitFor(() => suspected.includes('c'), 'b suspects c')
      assert.equal(b.status().peers.find((p) => p.id === 'c')?.suspected, true)
      await waitFor(() => a.status().peers.find((p) => p.id === 'c')?.suspected === true, 'a suspects c too')
      // c comes back from its store, with the same id, and beats again.
      const c2 = net.node({ id: 'c', ...timing, store: storeC })
      await c2.listen(net.address('c'))
      await c2.connect(net.address('a'))
      await waitFor(() => recovered.includes('c'), 'b takes c back')
      assert.equal(b.status().peers.find((p) => p.id === 'c')?.suspected, false)
    } finally {
      await net.close()
    }
  })
})
