import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCodes, isHearsayError } from '@hearsay/core'
import { transportSuite } from '@hearsay/core/testing'
import { LWWMap } from '@hearsay/model'
import { Node } from '@hearsay/gossip'
import { BroadcastChannelTransport } from '@hearsay/adapters/web'

// Node has the web's BroadcastChannel (between the threads of a process, and between the
// channel objects of one thread), so the browser transport runs its suite here.
let n = 0
transportSuite('BroadcastChannelTransport', (limits) => ({
  transport: new BroadcastChannelTransport({ maxFrame: limits.maxFrame }),
  address: () => `bc://suite-${process.pid}-${++n}`,
  unbuffered: 'postMessage hands every frame to the platform at once; no send buffer is visible',
}))

test('BroadcastChannelTransport refuses malformed addresses and fails a connect nobody answers', async () => {
  const t = new BroadcastChannelTransport({ connectTimeout: 100 })
  await assert.rejects(t.connect('ws://x'), TypeError)
  await assert.rejects(t.connect(`bc://nobody-${process.pid}`), (e: unknown) => isHearsayError(e, ErrorCodes.TRANSPORT_ERROR))
})

test('two gossip nodes (two tabs) converge over BroadcastChannel with no server', { timeout: 60_000 }, async () => {
  const a = new Node({ id: 'tab-a', networkKey: 'k', interval: 50 })
  const b = new Node({ id: 'tab-b', networkKey: 'k', interval: 50 })
  a.use(new BroadcastChannelTransport())
  b.use(new BroadcastChannelTransport())
  try {
    const ma = await a.open('notes', LWWMap)
    const mb = await b.open('notes', LWWMap)
    ma.set('from-a', 1)
    mb.set('from-b', 2)
    await a.listen(`bc://tab-a-${process.pid}`)
    await b.connect(`bc://tab-a-${process.pid}`)
    for (let i = 0; i < 400 && !(ma.get('from-b') === 2 && mb.get('from-a') === 1); i++) await new Promise((r) => setTimeout(r, 25))
    assert.deepEqual(ma.toJSON(), { 'from-a': 1, 'from-b': 2 })
    assert.deepEqual(mb.encodeState(), ma.encodeState())
  } finally {
    await a.close()
    await b.close()
  }
})
