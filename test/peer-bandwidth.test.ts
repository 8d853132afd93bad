// The cap on bytes per second per peer (NodeOptions.bytesPerPeer), through real nodes: a peer
// over its rate is paused, not cut, so a backlog bigger than the burst arrives whole, no
// sooner than the rate allows, over TCP (the kernel pushes back) and WebSocket; and on a link
// that cannot pause, a peer that runs a whole burst over is disconnected with a typed error.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCodes, MemoryNetwork, MemoryStore, MemoryTransport, type Connection } from '@hearsay/core'
import { Node, PeerBandwidth } from '@hearsay/gossip'
import { LWWMap } from '@hearsay/model'
import { TcpTransport, WsTransport } from '@hearsay/adapters'
import { requestDaemon } from '../packages/cli/src/control.ts'
import { startPeer, waitForKeys } from './daemons.ts'
import { hearsay, tempDir } from './helpers/cli.ts'

const KEY = 'peer-bandwidth-test'
const RATE = { burst: 64 * 1024, perSecond: 256 * 1024 }
const BACKLOG = 1024 * 1024

async function until(what: string, check: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** 1 MiB of values in 128 writes of 8 KiB (random bytes: nothing compresses them). */
function fill(map: LWWMap): void {
  for (let i = 0; i < BACKLOG / 8192; i++) map.set(`k${i}`, crypto.getRandomValues(new Uint8Array(8192)))
}

describe('bytes per second per peer', () => {
  for (const [scheme, make] of [
    ['tcp', () => new TcpTransport()],
    ['ws', () => new WsTransport()],
  ] as const) {
    it(`${scheme}: a 1 MiB backlog over a 256 KiB/s cap arrives whole, paced, and the link is never cut`, { timeout: 90_000 }, async () => {
      const a = new Node({ networkKey: KEY, store: new MemoryStore(), transports: [make()], interval: 50 })
      const b = new Node({ networkKey: KEY, store: new MemoryStore(), transports: [make()], interval: 50, bytesPerPeer: RATE })
      const errors: string[] = []
      let cuts = 0
      b.on('peer-error', (e) => errors.push(`${e.code} ${e.message}`))
      b.on('peer-disconnected', () => cuts++)
      try {
        const source = await a.open('bulk', LWWMap)
        fill(source)
        await a.flush()
        const url = await b.listen(`${scheme}://127.0.0.1:0`)
        const t0 = Date.now()
        await a.connect(url)
        await until('b holds the whole backlog', () => {
          const m = b.get('bulk') as LWWMap | undefined
          return m !== undefined && m.clock.compare(source.clock) === 'equal'
        })
        const took = Date.now() - t0
        const got = b.get('bulk') as LWWMap
        assert.deepEqual(got.toJSON(), source.toJSON())
        // The cap held: what came after the burst came no faster than the rate (a lower bound:
        // a loaded machine is only slower). 10% slack for the bytes counted before the clock.
        const floor = ((BACKLOG - RATE.burst) / RATE.perSecond) * 1000 * 0.9
        assert.ok(took >= floor, `took ${took} ms, the cap allows no less than ${floor.toFixed(0)} ms`)
        const st = b.status().bandwidth
        assert.ok(st.pauses > 0, 'b paused reading')
        assert.equal(st.cut, 0)
        assert.equal(cuts, 0, 'the link was never cut')
        assert.deepEqual(errors, [])
      } finally {
        await Promise.all([a.close(), b.close()])
      }
    })
  }

  it('without the cap the same backlog is not paused (status stays at zero)', { timeout: 60_000 }, async () => {
    const network = new MemoryNetwork()
    const a = new Node({ networkKey: KEY, store: new MemoryStore(), transports: [new MemoryTransport({ network })], interval: 50 })
    const b = new Node({ networkKey: KEY, store: new MemoryStore(), transports: [new MemoryTransport({ network })], interval: 50 })
    try {
      const source = await a.open('bulk', LWWMap)
      fill(source)
      await b.listen('mem://bw-b')
      await a.connect('mem://bw-b')
      await until('b holds the backlog', () => (b.get('bulk') as LWWMap | undefined)?.clock.compare(source.clock) === 'equal')
      assert.deepEqual(b.status().bandwidth, { pauses: 0, pausedMs: 0, cut: 0 })
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })
})

describe('hearsay peer --peer-rate', () => {
  it('two daemons: 2 MiB written to one reaches the other paced by its --peer-rate, whole', { timeout: 120_000 }, async () => {
    const { dir, cleanup } = await tempDir('peer-rate')
    const env = { HEARSAY_KEY: KEY }
    const a = await startPeer(`${dir}/a`, env)
    let b: Awaited<ReturnType<typeof startPeer>> | undefined
    try {
      // 64 values of 32 KiB (hex of random bytes), acknowledged by a before b starts.
      for (let i = 0; i < 64; i++) {
        const value = Buffer.from(crypto.getRandomValues(new Uint8Array(16 * 1024))).toString('hex')
        await requestDaemon(`${dir}/a`, { op: 'put', object: 'bulk', key: `k${i}`, value })
      }
      b = await startPeer(`${dir}/b`, env, ['--peer-rate', String(256 * 1024), '--peer', a.url])
      await b.p.waitFor(/peer \S+ connected/)
      const t0 = Date.now()
      const got = await waitForKeys(`${dir}/b`, 'bulk', 64, 60_000)
      const took = Date.now() - t0
      assert.equal(Object.keys(got).length, 64)
      // b takes 256 KiB/s with a 512 KiB burst: 2 MiB takes at least 6 s after the connect.
      assert.ok(took >= 5000, `took ${took} ms; a 256 KiB/s cap with a 512 KiB burst allows no less than ~6 s`)
      assert.doesNotMatch(b.p.output, /disconnected/)
    } finally {
      await Promise.all([a.p.stop(), b?.p.stop()])
      await cleanup()
    }
  })

  it('refuses a --peer-rate that is not a byte count', async () => {
    const r = await hearsay(['peer', '--key', 'k', '--peer-rate', 'fast'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /--peer-rate/)
  })
})

describe('PeerBandwidth', () => {
  /** A connection stand-in that records pause/resume; `pausable: false` leaves them out. */
  function fakeConnection(pausable: boolean) {
    const handlers: Array<(f: Uint8Array) => void> = []
    const log: string[] = []
    const conn = {
      remoteAddress: 'fake',
      isOpen: true,
      bufferedBytes: 0,
      send: () => true,
      close: (e?: Error & { code?: string }) => {
        log.push(`close ${e?.code}`)
        conn.isOpen = false
      },
      on: (_: string, h: (f: Uint8Array) => void) => handlers.push(h),
      off: (_: string, h: (f: Uint8Array) => void) => handlers.splice(handlers.indexOf(h), 1),
      ...(pausable && { pause: () => log.push('pause'), resume: () => log.push('resume') }),
    }
    return { conn: conn as unknown as Connection, log, frame: (n: number) => [...handlers].forEach((h) => h(new Uint8Array(n))), handlers }
  }
  function clock() {
    let now = 0
    const timers: Array<{ at: number; fn: () => void }> = []
    return {
      now: () => now,
      timers: { setTimeout: (fn: () => void, ms: number) => timers.push({ at: now + ms, fn }), clearTimeout: () => {} },
      advance(ms: number) {
        now += ms
        for (const t of timers.splice(0)) if (t.at <= now) t.fn()
        else timers.push(t)
      },
    }
  }

  it('pauses a connection once its peer is over, for as long as the debt takes to refill', () => {
    const c = clock()
    const bw = new PeerBandwidth({ burst: 1000, perSecond: 1000 }, c.now, c.timers)
    const f = fakeConnection(true)
    bw.watch('p', f.conn)
    f.frame(600)
    f.frame(400)
    assert.deepEqual(f.log, [], 'a whole burst goes through')
    f.frame(500)
    assert.deepEqual(f.log, ['pause'])
    c.advance(499)
    assert.deepEqual(f.log, ['pause'])
    c.advance(1)
    assert.deepEqual(f.log, ['pause', 'resume'])
    assert.deepEqual(bw.stats, { pauses: 1, pausedMs: 500, cut: 0 })
  })

  it('one bucket per peer across its connections; another peer has its own', () => {
    const c = clock()
    const bw = new PeerBandwidth({ burst: 1000, perSecond: 1000 }, c.now, c.timers)
    const x = fakeConnection(true)
    const y = fakeConnection(true)
    const z = fakeConnection(true)
    bw.watch('p', x.conn)
    bw.watch('p', y.conn)
    bw.watch('q', z.conn)
    x.frame(800)
    y.frame(800)
    z.frame(800)
    assert.deepEqual([x.log, y.log, z.log], [[], ['pause'], []])
  })

  it('on a link that cannot pause, cuts a peer a whole burst over with HEARSAY_LIMIT_EXCEEDED', () => {
    const c = clock()
    const bw = new PeerBandwidth({ burst: 1000, perSecond: 1000 }, c.now, c.timers)
    const f = fakeConnection(false)
    bw.watch('p', f.conn)
    f.frame(1500)
    assert.deepEqual(f.log, [], 'half a burst over: tolerated')
    f.frame(600)
    assert.deepEqual(f.log, [`close ${ErrorCodes.LIMIT_EXCEEDED}`])
    assert.equal(bw.stats.cut, 1)
  })

  it('stopping the watch resumes a paused connection and counts no more', () => {
    const c = clock()
    const bw = new PeerBandwidth({ burst: 100, perSecond: 100 }, c.now, c.timers)
    const f = fakeConnection(true)
    const stop = bw.watch('p', f.conn)
    f.frame(300)
    stop()
    assert.deepEqual(f.log, ['pause', 'resume'])
    assert.equal(f.handlers.length, 0)
  })

  it('refuses a malformed rate', () => {
    const c = clock()
    assert.throws(() => new PeerBandwidth({ burst: 0, perSecond: 1 }, c.now, c.timers), RangeError)
    assert.throws(() => new Node({ networkKey: KEY, bytesPerPeer: { burst: 10, perSecond: -1 } }), RangeError)
  })
})
