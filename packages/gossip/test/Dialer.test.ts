import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { MemoryNetwork, MemoryTransport, type Connection } from '@hearsay/core'
import { Dialer, type Session } from '@hearsay/gossip'

/** A stand-in for a Session: what the dialer reads of one, closing back into the dialer as a session does. */
interface Stub {
  connection: Connection
  dialed: boolean
  url: string | undefined
  state: 'hello' | 'ready' | 'closed'
  peerId: string | undefined
  readyAt: number | undefined
  stats: { bytesIn: number; bytesOut: number }
  close(reason?: Error): void
}

let n = 0
function setup(options: { random?: () => number } = {}) {
  const network = new MemoryNetwork()
  const prefix = `dialer${++n}`
  const clock = { t: 0 }
  const made: Stub[] = []
  const dialer: Dialer = new Dialer({
    backoff: 100,
    maxBackoff: 350,
    maxConnections: 2,
    now: () => clock.t,
    random: options.random ?? (() => 0),
    log: () => {},
    session: (connection, dialed, url) => {
      const s: Stub = {
        connection,
        dialed,
        url,
        state: 'hello',
        peerId: undefined,
        readyAt: undefined,
        stats: { bytesIn: 3, bytesOut: 5 },
        close(reason) {
          if (s.state === 'closed') return
          s.state = 'closed'
          connection.close()
          dialer.closed(s as unknown as Session, reason, 'a')
        },
      }
      made.push(s)
      return s as unknown as Session
    },
  })
  dialer.use(new MemoryTransport({ network }))
  // Another node's transport: accepts every connection and keeps it open.
  const other = new MemoryTransport({ network })
  const listen = (name: string) => other.listen(`mem://${prefix}-${name}`, () => {})
  const url = (name: string) => `mem://${prefix}-${name}`
  const ready = (s: Stub, peerId: string) => {
    s.state = 'ready'
    s.peerId = peerId
    s.readyAt = clock.t
    return dialer.ready(s as unknown as Session, 'a')
  }
  return { dialer, clock, made, listen, url, ready, other }
}

describe('Dialer', () => {
  it('backs off a failing address exponentially, with jitter, up to the cap', async () => {
    const { dialer, clock, url } = setup()
    const nowhere = url('nowhere')
    assert.equal(dialer.dialable([nowhere]), nowhere)
    const waits: number[] = []
    for (let i = 0; i < 4; i++) {
      await dialer.dial(nowhere)
      const start = clock.t
      while (dialer.dialable([nowhere]) === undefined) clock.t++
      waits.push(clock.t - start)
    }
    // random() = 0: half of 100, 200, 350 (the cap), 350.
    assert.deepEqual(waits, [50, 100, 175, 175])
  })

  it('skips addresses it has no transport for, cannot parse, or holds a session on', async () => {
    const { dialer, listen, url, made } = setup()
    await listen('b')
    await dialer.dial(url('b'))
    assert.equal(made.length, 1)
    assert.equal(dialer.dialable(['tcp://127.0.0.1:1', 'not a url', url('b')]), undefined)
    assert.equal(dialer.dialable(['not a url', url('c')]), url('c'))
    assert.throws(() => dialer.transportFor('tcp://127.0.0.1:1'), { code: 'HEARSAY_NOT_SUPPORTED' })
  })

  it('resolves connect() with the peer id once ready, and redials a pinned address that dropped', async () => {
    const { dialer, clock, listen, url, made, ready } = setup()
    await listen('b')
    const connected = dialer.connect(url('b'))
    await new Promise((r) => setTimeout(r, 5))
    assert.equal(made.length, 1)
    assert.equal(ready(made[0]!, 'b'), 'first')
    assert.equal(await connected, 'b')
    assert.equal(await dialer.connect(url('b')), 'b', 'a live pin resolves at once')
    made[0]!.close(new Error('link lost'))
    assert.equal(dialer.sessions.size, 0)
    dialer.redialPins(new Map())
    await new Promise((r) => setTimeout(r, 5))
    assert.equal(made.length, 1, 'not before the backoff')
    clock.t += 50
    dialer.redialPins(new Map([['b', {} as Session]]))
    await new Promise((r) => setTimeout(r, 5))
    assert.equal(made.length, 1, 'not while its peer is connected through another link')
    dialer.redialPins(new Map())
    await new Promise((r) => setTimeout(r, 5))
    assert.equal(made.length, 2)
    assert.equal(made[1]!.url, url('b'))
  })

  it('disconnect() rejects who waits, closes the sessions and stops redialing', async () => {
    const { dialer, listen, url, made } = setup()
    await listen('b')
    const connected = dialer.connect(url('b'))
    await new Promise((r) => setTimeout(r, 5))
    dialer.disconnect(url('b'))
    await assert.rejects(connected, { code: 'HEARSAY_NOT_OPEN' })
    assert.equal(made[0]!.state, 'closed')
    dialer.redialPins(new Map())
    await new Promise((r) => setTimeout(r, 5))
    assert.equal(made.length, 1)
  })

  it('keeps, on both ends, the connection dialed by the smaller id', async () => {
    for (const order of ['ours first', 'theirs first']) {
      const { dialer, listen, url, made, ready, other } = setup()
      const mine = await dialer.listen(url('a'))
      await listen('b')
      await dialer.dial(url('b'))
      await other.connect(mine)
      await new Promise((r) => setTimeout(r, 5))
      assert.deepEqual(made.map((s) => s.dialed), [true, false])
      const [ours, theirs] = made as [Stub, Stub]
      if (order === 'ours first') {
        assert.equal(ready(ours, 'b'), 'first')
        assert.equal(ready(theirs, 'b'), 'dropped')
      } else {
        assert.equal(ready(theirs, 'b'), 'first')
        assert.equal(ready(ours, 'b'), 'more')
      }
      assert.equal(ours.state, 'ready', order)
      assert.equal(theirs.state, 'closed', order)
    }
  })

  it('of two connections dialed from this end keeps the newer; of two from the other end closes none', async () => {
    const { dialer, listen, url, made, ready } = setup()
    await listen('b')
    await listen('b2')
    await dialer.dial(url('b'))
    await dialer.dial(url('b2'))
    assert.equal(ready(made[0]!, 'b'), 'first')
    assert.equal(ready(made[1]!, 'b'), 'more')
    assert.deepEqual(made.map((s) => s.state), ['closed', 'ready'])
    assert.equal(dialer.closed(made[0]! as unknown as Session, undefined, 'a'), false, 'the peer is still connected')
  })

  it('closes a connection to itself and never dials that address again', async () => {
    const { dialer, clock, listen, url, made, ready } = setup()
    await listen('me')
    await dialer.dial(url('me'))
    assert.equal(ready(made[0]!, 'a'), 'self')
    assert.equal(made[0]!.state, 'closed')
    clock.t = 1e12
    assert.equal(dialer.dialable([url('me')]), undefined)
  })

  it('reports the last live connection of a peer closing, and counts the bytes of closed sessions', async () => {
    const { dialer, listen, url, made, ready } = setup()
    await listen('b')
    await dialer.dial(url('b'))
    await dialer.dial(url('b')) // a second, still in hello
    ready(made[0]!, 'b')
    made[1]!.peerId = 'b' // heard its hello, not authenticated
    assert.equal(dialer.closed(made[0]! as unknown as Session, undefined, 'a'), true)
    assert.equal(dialer.closed(made[1]! as unknown as Session, undefined, 'a'), false, 'never ready')
    assert.deepEqual(dialer.closedBytes, { in: 6, out: 10 })
    assert.equal(dialer.full, false)
  })

  it('after close() accepts nothing, dials nothing and rejects every waiter', async () => {
    const { dialer, listen, url, made } = setup()
    await listen('b')
    const waiting = dialer.connect(url('nowhere'))
    await dialer.close()
    await assert.rejects(waiting)
    await dialer.dial(url('b'))
    assert.equal(made.length, 0)
    await assert.rejects(dialer.listen(url('late')), { code: 'HEARSAY_NOT_OPEN' })
  })
})
