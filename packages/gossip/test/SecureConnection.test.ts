import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCodes, MemoryConnection, type Connection } from '@hearsay/core'
import { testSeed, createPrng, prng } from '@hearsay/core/testing'
import { SecureConnection, type SecureConnectionOptions } from '../src/secure/SecureConnection.js'
import { generateIdentity, pskFromNetworkKey } from '../src/secure/keys.js'

const seed = testSeed()
const rng = createPrng(seed)
const randomBytes = (n: number) => Uint8Array.from({ length: n }, () => prng.uint32(rng, 0, 255))
const timers = { setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms), clearTimeout: (h: any) => clearTimeout(h) }
const prologue = new TextEncoder().encode('hearsay-gossip/test')
const limits = { maxFrame: 1 << 24, maxSendBuffer: 1 << 26 }

type Tap = (frame: Uint8Array, from: 'a' | 'b') => Uint8Array | undefined

/** Two raw memory links with a man in the middle between them that may rewrite or drop frames. */
function wire(tap?: Tap): [Connection, Connection] {
  const [a, ma] = MemoryConnection.pair('mem://b', 'mem://a', limits, limits)
  const [mb, b] = MemoryConnection.pair('mem://b', 'mem://a', limits, limits)
  ma.on('frame', (f: Uint8Array) => {
    const x = tap ? tap(f, 'a') : f
    if (x) mb.send(x)
  })
  mb.on('frame', (f: Uint8Array) => {
    const x = tap ? tap(f, 'b') : f
    if (x) ma.send(x)
  })
  ma.on('close', (e?: Error) => mb.close(e))
  mb.on('close', (e?: Error) => ma.close(e))
  return [a, b]
}

function pair(tap?: Tap, o: Partial<SecureConnectionOptions> & { keyA?: string; keyB?: string } = {}) {
  const [x, y] = wire(tap)
  const base = { prologue, timers, maxFrame: 1 << 24, randomBytes, ...o }
  const a = new SecureConnection(x, { ...base, initiator: true, psk: pskFromNetworkKey(o.keyA ?? 'k'), staticKey: generateIdentity(randomBytes) })
  const b = new SecureConnection(y, { ...base, initiator: false, psk: pskFromNetworkKey(o.keyB ?? 'k'), staticKey: generateIdentity(randomBytes) })
  return { a, b }
}

function record(c: SecureConnection) {
  const frames: Uint8Array[] = []
  let closed: { reason: Error | undefined } | undefined
  let secure = false
  c.on('frame', (f: Uint8Array) => frames.push(f))
  c.on('secure', () => (secure = true))
  const done = new Promise<Error | undefined>((resolve) =>
    c.on('close', (e?: Error) => {
      closed = { reason: e }
      resolve(e)
    }),
  )
  return { frames, get closed() { return closed }, get secure() { return secure }, done }
}

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 2))
  }
}

test(`frames of any size cross sealed, in order, both ways; rekeying keeps them flowing (SEED=${seed})`, async () => {
  const seen: Uint8Array[] = []
  const { a, b } = pair((f) => (seen.push(f), f), { rekeyEvery: 3 })
  const ra = record(a)
  const rb = record(b)
  await until(() => ra.secure && rb.secure)
  assert.ok(a.remoteStatic && b.remoteStatic && a.handshakeHash && Buffer.from(a.handshakeHash).equals(Buffer.from(b.handshakeHash!)))
  const sizes = [0, 1, 100, 65517, 65518, 65519, 200_000]
  const frames = sizes.map((n) => randomBytes(n))
  for (const f of frames) a.send(f)
  for (const f of frames) b.send(f)
  await until(() => ra.frames.length === frames.length && rb.frames.length === frames.length)
  assert.deepEqual(rb.frames, frames)
  assert.deepEqual(ra.frames, frames)
  // Nothing of the plaintext is on the wire.
  const needle = Buffer.from(frames[3]!.subarray(1000, 1032)).toString('hex')
  assert.ok(!seen.some((f) => Buffer.from(f).toString('hex').includes(needle)))
  a.close()
  await rb.done
})

test('one flipped bit after the handshake: the frame is refused and the link closes, nothing delivered', async () => {
  let n = 0
  const { a, b } = pair((f, from) => {
    if (from === 'a' && ++n === 3) {
      const x = f.slice()
      x[x.length - 20]! ^= 0x10
      return x
    }
    return f
  })
  const ra = record(a)
  const rb = record(b)
  await until(() => ra.secure && rb.secure)
  a.send(new TextEncoder().encode('the password is hunter2'))
  const reason = await rb.done
  assert.equal((reason as any)?.code, ErrorCodes.AUTH_FAILED)
  assert.equal(rb.frames.length, 0)
})

test('a replayed or reordered sealed frame is refused', async () => {
  for (const how of ['replay', 'reorder'] as const) {
    let held: Uint8Array | undefined
    let n = 0
    const { a, b } = pair((f, from) => {
      // a's frames: m1, m3, then sealed frames from the third on.
      if (from !== 'a' || ++n < 3) return f
      if (how === 'replay') {
        if (n === 3) held = f
        return n === 4 ? held : f
      }
      if (n === 3) {
        held = f
        return undefined
      }
      if (n === 4) setTimeout(() => (b as any).inner.emit('frame', held), 30)
      return f
    })
    const ra = record(a)
    const rb = record(b)
    await until(() => ra.secure && rb.secure)
    a.send(new Uint8Array([1]))
    a.send(new Uint8Array([2]))
    const reason = await rb.done
    assert.equal((reason as any)?.code, ErrorCodes.AUTH_FAILED, how)
    assert.ok(rb.frames.length <= 1, how)
    if (how === 'replay') assert.deepEqual(rb.frames, [new Uint8Array([1])])
  }
})

test('another network key: both sides refuse, the responder delivers nothing and sends nothing after its one handshake reply', async () => {
  const fromB: Uint8Array[] = []
  const { a, b } = pair((f, from) => (from === 'b' && fromB.push(f), f), { keyA: 'k', keyB: 'other' })
  const ra = record(a)
  const rb = record(b)
  await Promise.all([ra.done, rb.done])
  assert.equal((rb.closed!.reason as any)?.code, ErrorCodes.AUTH_FAILED)
  assert.equal(rb.secure, false)
  assert.equal(ra.frames.length + rb.frames.length, 0)
  assert.deepEqual(fromB.map((f) => f.length), [96])
})

test('before authentication: an oversized frame closes the link, and so does a silent peer after the timeout', async () => {
  const [x, y] = wire()
  const b = new SecureConnection(y, { prologue, timers, maxFrame: 1 << 24, initiator: false, psk: pskFromNetworkKey('k'), staticKey: generateIdentity(randomBytes), randomBytes })
  const rb = record(b)
  x.send(new Uint8Array(257))
  assert.equal(((await rb.done) as any)?.code, ErrorCodes.FRAME_TOO_LARGE)

  const [, z] = wire()
  const c = new SecureConnection(z, { prologue, timers, maxFrame: 1 << 24, initiator: false, psk: pskFromNetworkKey('k'), staticKey: generateIdentity(randomBytes), randomBytes, handshakeTimeout: 50 })
  const rc = record(c)
  assert.equal(((await rc.done) as any)?.code, ErrorCodes.TIMEOUT)
})

test('a different prologue (protocol version) fails the handshake', async () => {
  const [x, y] = wire()
  const base = { timers, maxFrame: 1 << 24, randomBytes, psk: pskFromNetworkKey('k') }
  const a = new SecureConnection(x, { ...base, prologue, initiator: true, staticKey: generateIdentity(randomBytes) })
  const b = new SecureConnection(y, { ...base, prologue: new TextEncoder().encode('hearsay-gossip/other'), initiator: false, staticKey: generateIdentity(randomBytes) })
  const ra = record(a)
  const rb = record(b)
  await Promise.all([ra.done, rb.done])
  assert.equal(rb.secure, false)
})
