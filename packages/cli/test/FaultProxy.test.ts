import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Connection } from '@hearsay/core'
import { TcpTransport } from '@hearsay/adapters'
import { testSeed } from '@hearsay/core/testing'
import { FaultProxy, createRandom } from '../src/FaultProxy.ts'

async function setup(faults: Partial<ConstructorParameters<typeof FaultProxy>[1]>, seed: number) {
  const tcp = new TcpTransport()
  const received: Uint8Array[] = []
  let server: Connection | undefined
  const listener = await tcp.listen('tcp://127.0.0.1:0', (c) => {
    server = c
    c.on('frame', (f: Uint8Array) => received.push(f))
  })
  const port = Number(new URL(listener.url).port)
  const proxy = new FaultProxy({ host: '127.0.0.1', port }, { loss: 0, latency: 0, jitter: 0, lossMode: 'drop', ...faults }, createRandom(seed))
  await proxy.listen()
  const client = await tcp.connect(`tcp://127.0.0.1:${proxy.port}`)
  return { tcp, listener, proxy, client, received, server: () => server }
}

const frame = (i: number) => Uint8Array.of(i & 0xff, (i >> 8) & 0xff, 7, 7, 7)
const until = async (cond: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 10))
  }
}

test('FaultProxy: loses about the asked share of whole frames, keeps the rest whole and in order', async () => {
  const seed = testSeed()
  const { listener, proxy, client, received } = await setup({ loss: 0.3, latency: 2, jitter: 3 }, seed)
  try {
    const N = 400
    for (let i = 0; i < N; i++) client.send(frame(i))
    await until(() => received.length + proxy.stats.lostFrames === N)
    assert.equal(proxy.stats.frames, received.length)
    assert.ok(proxy.stats.lostFrames > N * 0.15 && proxy.stats.lostFrames < N * 0.45, `seed ${seed}: lost ${proxy.stats.lostFrames} of ${N}`)
    const ids = received.map((f) => f[0]! | (f[1]! << 8))
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b), `seed ${seed}: order kept`)
    for (const f of received) assert.deepEqual([...f.slice(2)], [7, 7, 7])
  } finally {
    client.close()
    await proxy.close()
    await listener.close()
  }
})

test('FaultProxy: a partition cuts open connections and refuses new ones until healed', async () => {
  const { tcp, listener, proxy, client, received } = await setup({}, 1)
  try {
    client.send(frame(1))
    await until(() => received.length === 1)
    const closed = client.nextEvent('close')
    proxy.cut = true
    await closed
    const refused = await tcp.connect(`tcp://127.0.0.1:${proxy.port}`)
    await refused.nextEvent('close')
    assert.ok(proxy.stats.refused >= 1)
    proxy.cut = false
    const again = await tcp.connect(`tcp://127.0.0.1:${proxy.port}`)
    again.send(frame(2))
    await until(() => received.length === 2)
    again.close()
  } finally {
    await proxy.close()
    await listener.close()
  }
})

test('FaultProxy: reset mode cuts the connection on a lost frame', async () => {
  const { listener, proxy, client } = await setup({ loss: 0.5, lossMode: 'reset' }, 3)
  try {
    const closed = client.nextEvent('close')
    for (let i = 0; i < 50 && client.isOpen; i++) client.send(frame(i))
    await closed
    assert.equal(proxy.stats.resets, 1)
  } finally {
    await proxy.close()
    await listener.close()
  }
})
