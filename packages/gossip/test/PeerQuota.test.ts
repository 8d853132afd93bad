import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCodes, type HearsayError } from '@hearsay/core'
import { LWWMap } from '@hearsay/model'
import { PeerQuota } from '../src/PeerQuota.js'
import { TestNet, waitFor } from './helpers/net.ts'

test('PeerQuota: a burst, then tokens at the rate, per peer', () => {
  let now = 0
  const q = new PeerQuota({ burst: 3, perSecond: 2 }, () => now)
  assert.deepEqual([q.take('p'), q.take('p'), q.take('p'), q.take('p')], [true, true, true, false])
  assert.equal(q.take('other'), true, 'each peer has its own bucket')
  now = 499
  assert.equal(q.take('p'), false)
  now = 500
  assert.equal(q.take('p'), true, 'one token per 500 ms')
  now = 100_000
  assert.deepEqual([q.take('p'), q.take('p'), q.take('p'), q.take('p')], [true, true, true, false], 'refills up to the burst, no more')
  assert.throws(() => new PeerQuota({ burst: 0, perSecond: 1 }, () => 0), RangeError)
})

test('a peer bringing new objects past newObjectsPerPeer: they wait, one report, then all arrive', { timeout: 30_000 }, async () => {
  const net = new TestNet()
  try {
    const a = net.node({ id: 'a', interval: 50, newObjectsPerPeer: { burst: 5, perSecond: 10 } })
    const b = net.node({ id: 'b', interval: 50 })
    const errors: HearsayError[] = []
    a.on('peer-error', (e: HearsayError) => errors.push(e))
    await a.listen(net.address('a'))
    for (let i = 0; i < 20; i++) (await b.open(`o${i}`, LWWMap)).set('k', i)
    const hosted = () => a.status().objects.filter((o) => o.id.startsWith('o')).length
    await b.connect(net.address('a'))
    await waitFor(() => hosted() >= 5, 'the burst arrives')
    assert.ok(hosted() < 20, `all ${hosted()} arrived at once: no cap`)
    await waitFor(() => hosted() === 20, 'the rest arrive as the bucket refills', 20_000)
    const limited = errors.filter((e) => e.code === ErrorCodes.LIMIT_EXCEEDED)
    assert.ok(limited.length >= 1 && limited.length <= 10, `${limited.length} reports`)
    assert.equal(errors.filter((e) => e.code !== ErrorCodes.LIMIT_EXCEEDED).length, 0, errors.map((e) => e.message).join('\n'))
    assert.ok(a.status().peers.some((p) => p.id === 'b' && p.connected), 'the peer is not cut off')
  } finally {
    await net.close()
  }
})
