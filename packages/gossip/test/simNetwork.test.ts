import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isHearsayError, ErrorCodes, type Connection } from '@hearsay/core'
import { SimDisk, SimNetwork, Simulation, type LinkOptions } from '@hearsay/gossip/sim'

const bytes = (...xs: number[]) => new Uint8Array(xs)

async function pair(net: SimNetwork, a = 'a', b = 'b') {
  const ta = net.transport(a)
  const tb = net.transport(b)
  let server: Connection | undefined
  await tb.listen(`sim://${b}`, (c) => {
    server = c
  })
  const client = ta.connect(`sim://${b}`)
  await net.sim.run({ until: net.sim.time + 1000 })
  return { ta, tb, client: await client, server: server! }
}

function collect(c: Connection, sim: Simulation): Array<[number, number]> {
  const got: Array<[number, number]> = []
  c.on('frame', (f: Uint8Array) => got.push([sim.time, f[0]!]))
  return got
}

test('frames cross a link after its latency, in order, and close reaches the other end', async () => {
  const sim = new Simulation({ seed: 1 })
  const net = new SimNetwork(sim, { latency: 25 })
  const t0 = sim.time
  const { client, server } = await pair(net)
  assert.equal(client.remoteAddress, 'sim://b')
  assert.match(server.remoteAddress, /^sim:\/\/a:\d+$/)
  const gotB = collect(server, sim)
  const gotA = collect(client, sim)
  const start = sim.time
  for (let i = 0; i < 5; i++) assert.equal(client.send(bytes(i, 9, 9)), true)
  assert.equal(client.bufferedBytes, 15)
  server.send(bytes(42))
  await sim.run({ until: start + 100 })
  assert.deepEqual(gotB, [0, 1, 2, 3, 4].map((i) => [start + 25, i]))
  assert.deepEqual(gotA, [[start + 25, 42]])
  assert.equal(client.bufferedBytes, 0)
  assert.equal(net.stats.framesSent, 6)
  assert.equal(net.stats.bytesSent, 16)
  assert.equal(net.hostStats('a').bytesSent, 15)
  assert.equal(net.hostStats('b').bytesDelivered, 15)
  assert.equal(net.stats.connections, 1)
  assert.ok(t0 < start)

  const closes: string[] = []
  client.on('close', () => closes.push(`a@${sim.time}`))
  server.on('close', () => closes.push(`b@${sim.time}`))
  const at = sim.time
  client.close()
  assert.equal(client.isOpen, false)
  assert.equal(client.send(bytes(1)), false)
  await sim.run({ until: at + 100 })
  assert.deepEqual(closes, [`a@${at}`, `b@${at + 25}`])
  assert.equal(server.isOpen, false)
})

test('connecting to nobody is refused; across a partition it times out; an address is bound once', async () => {
  const sim = new Simulation({ seed: 2 })
  const net = new SimNetwork(sim, { latency: 10, connectTimeout: 500 })
  const ta = net.transport('a')
  const tb = net.transport('b')
  const refused = ta.connect('sim://nobody').catch((e: unknown) => e)
  await sim.run({ until: 100 })
  const e1 = await refused
  assert.ok(isHearsayError(e1, ErrorCodes.TRANSPORT_ERROR), String(e1))
  await tb.listen('sim://b', () => {})
  await assert.rejects(ta.listen('sim://b', () => {}), (e) => isHearsayError(e, ErrorCodes.TRANSPORT_ERROR))
  assert.throws(() => ta.connect('tcp://b'), TypeError)
  net.partition([['a']])
  assert.equal(net.canReach('a', 'b'), false)
  assert.equal(net.canReach('b', 'c'), true)
  const before = sim.time
  let failedAt = -1
  const timedOut = ta.connect('sim://b').catch((e: unknown) => {
    failedAt = sim.time
    return e
  })
  await sim.run({ until: before + 1000 })
  assert.ok(isHearsayError(await timedOut, ErrorCodes.TIMEOUT))
  assert.equal(failedAt, before + 500)
  net.heal()
  const ok = ta.connect('sim://b')
  await sim.run({ until: sim.time + 100 })
  assert.equal((await ok).isOpen, true)
  assert.equal(net.stats.connectFailures, 2)
  // Links can turn lossy at any time (setLink), so the transport never promises order.
  assert.equal(ta.capabilities.ordered, false)
})

test('a partition drops frames silently; after heal, data for a closed end resets the sender', async () => {
  const sim = new Simulation({ seed: 3 })
  const net = new SimNetwork(sim, { latency: 10 })
  const { client, server } = await pair(net)
  const got = collect(server, sim)
  let clientClosed: Error | undefined | null = null
  client.on('close', (e?: Error) => {
    clientClosed = e
  })
  net.partition([['a'], ['b']])
  client.send(bytes(1))
  server.close() // the close cannot cross the partition
  await sim.run({ until: sim.time + 100 })
  assert.deepEqual(got, [])
  assert.equal(client.isOpen, true)
  assert.equal(net.stats.framesDropped, 1)
  net.heal()
  client.send(bytes(2))
  await sim.run({ until: sim.time + 100 })
  assert.equal(client.isOpen, false)
  assert.ok(isHearsayError(clientClosed, ErrorCodes.TRANSPORT_ERROR))
})

async function traffic(seed: number, link: LinkOptions, n = 4000) {
  const sim = new Simulation({ seed })
  const net = new SimNetwork(sim, link)
  const { client, server } = await pair(net)
  const got: number[] = []
  server.on('frame', (f: Uint8Array) => got.push(f[0]! | (f[1]! << 8)))
  for (let i = 0; i < n; i++) {
    client.send(bytes(i & 255, i >> 8))
    if (i % 10 === 0) await sim.run({ until: sim.time + 1 })
  }
  await sim.run({ until: sim.time + 10_000 })
  return { got, stats: net.stats }
}

test('loss, duplication and reordering happen at the configured rates', async () => {
  const n = 4000
  const lossy = await traffic(4, { loss: 0.2 }, n)
  const lost = n - lossy.got.length
  assert.ok(lost > 0.17 * n && lost < 0.23 * n, `lost ${lost} of ${n}`)
  assert.equal(lossy.stats.framesDropped, lost)
  assert.deepEqual(lossy.got, [...lossy.got].sort((a, b) => a - b), 'loss alone keeps order')

  const dup = await traffic(5, { duplicate: 0.1, jitter: 30 }, n)
  const extra = dup.got.length - n
  assert.ok(extra > 0.07 * n && extra < 0.13 * n, `duplicated ${extra}`)
  assert.equal(new Set(dup.got).size, n, 'every frame arrives at least once')

  const jitterOnly = await traffic(6, { jitter: 50 }, n)
  assert.deepEqual(jitterOnly.got, Array.from({ length: n }, (_, i) => i), 'jitter without reorder keeps the lane in order')

  const reordered = await traffic(7, { reorder: 0.2, jitter: 20 }, n)
  assert.equal(reordered.got.length, n)
  let inversions = 0
  for (let i = 1; i < n; i++) if (reordered.got[i]! < reordered.got[i - 1]!) inversions++
  assert.ok(inversions > 0.05 * n, `only ${inversions} inversions`)
  assert.ok(reordered.stats.framesReordered > 0.17 * n && reordered.stats.framesReordered < 0.23 * n)
})

test('the same seed replays the same traffic; another seed does not', async () => {
  const link = { loss: 0.2, duplicate: 0.1, reorder: 0.2, jitter: 20 }
  const a = await traffic(11, link, 500)
  const b = await traffic(11, link, 500)
  const c = await traffic(12, link, 500)
  assert.deepEqual(a, b)
  assert.notDeepEqual(a.got, c.got)
})

test('a crash closes the host’s connections for its peers and silences its transport', async () => {
  const sim = new Simulation({ seed: 8 })
  const net = new SimNetwork(sim, { latency: 10 })
  const { ta, client, server } = await pair(net)
  let serverClosedAt = -1
  server.on('close', () => {
    serverClosedAt = sim.time
  })
  let clientEvents = 0
  client.on('close', () => clientEvents++)
  const listenA = await ta.listen('sim://a', () => {})
  assert.equal(listenA.url, 'sim://a')
  const at = sim.time
  net.crash('a')
  assert.equal(net.isUp('a'), false)
  assert.equal(ta.alive, false)
  assert.equal(client.isOpen, false)
  assert.equal(client.send(bytes(1)), false)
  let settled = false
  void ta.connect('sim://b').then(
    () => (settled = true),
    () => (settled = true),
  )
  await sim.run({ until: at + 5000 })
  assert.equal(serverClosedAt, at + 10)
  assert.equal(clientEvents, 0, 'the dead incarnation hears nothing')
  assert.equal(settled, false, 'the dead transport never answers')
  assert.throws(() => net.transport('b'), /already up/)
  const ta2 = net.transport('a')
  assert.equal(ta2.incarnation, 2)
  await ta2.listen('sim://a', () => {}) // the old listener is gone with the old process
})

test('send buffers are bounded and frames are capped', async () => {
  const sim = new Simulation({ seed: 9 })
  const net = new SimNetwork(sim, { latency: 10, maxBuffered: 100, maxFrame: 64 })
  const { client, server } = await pair(net)
  let reason: unknown
  client.on('close', (e?: Error) => {
    reason = e
  })
  assert.equal(client.send(new Uint8Array(60)), true)
  assert.equal(client.send(new Uint8Array(60)), false)
  assert.ok(isHearsayError(reason, ErrorCodes.BACKPRESSURE))
  let reason2: unknown
  server.on('close', (e?: Error) => {
    reason2 = e
  })
  await sim.run({ until: sim.time + 100 })
  const s2 = await pair(net, 'c', 'd')
  s2.client.on('close', (e?: Error) => {
    reason2 = e
  })
  assert.equal(s2.client.send(new Uint8Array(65)), false)
  assert.ok(isHearsayError(reason2, ErrorCodes.FRAME_TOO_LARGE))
})

test('SimDisk keeps durable writes across a crash and loses those in flight', async () => {
  const sim = new Simulation({ seed: 10 })
  const disk = new SimDisk(sim, { writeLatency: 5 })
  const s1 = disk.mount()
  await s1.open()
  const w1 = s1.append([{ objectId: 'o', typeId: 1, data: bytes(1) }])
  await sim.run({ until: 10 })
  await w1
  let lateSettled = false
  void s1.append([{ objectId: 'o', typeId: 1, data: bytes(2) }]).finally(() => (lateSettled = true))
  void s1.putMeta('k', bytes(7)) // queued, not durable yet
  await sim.run({ until: 12 })
  disk.crash()
  await sim.run({ until: 100 })
  assert.equal(lateSettled, false)
  let readSettled = false
  void s1.load('o').finally(() => (readSettled = true))
  await sim.run({ until: 200 })
  assert.equal(readSettled, false, 'a dead incarnation gets no answers')
  const s2 = disk.mount()
  await s2.open()
  const o = await s2.load('o')
  assert.deepEqual(o?.batches, [bytes(1)])
  assert.equal(await s2.getMeta('k'), undefined)
  assert.equal(s2.capabilities.persistent, true)
})

test('a connection a crashed process held is reset once its host is up again, not while it is down', async () => {
  const sim = new Simulation({ seed: 12 })
  const net = new SimNetwork(sim, { latency: 10 })
  const { client, server } = await pair(net)
  let reason: unknown = null
  server.on('close', (e?: Error) => {
    reason = e
  })
  // The crash news cannot cross the partition: the server's end stays half-open.
  net.partition([['a']])
  net.crash('a')
  await sim.run({ until: sim.time + 100 })
  net.heal()
  assert.equal(server.isOpen, true)
  server.send(bytes(1))
  await sim.run({ until: sim.time + 100 })
  assert.equal(server.isOpen, true, 'a host that is down answers nothing')
  net.transport('a')
  server.send(bytes(2))
  await sim.run({ until: sim.time + 100 })
  assert.equal(server.isOpen, false)
  assert.ok(isHearsayError(reason, ErrorCodes.TRANSPORT_ERROR))
  assert.equal(client.isOpen, false)
})
