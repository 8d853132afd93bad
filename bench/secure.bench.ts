// The secure channel (Noise_XXpsk3_25519_ChaChaPoly_SHA256, packages/gossip/src/secure/):
// 1. Handshake time: a SecureConnection pair over an in-process link, from the first message
//    to both sides secure; and two gossip Nodes from connect() to the session ready.
// 2. Sealed throughput of the channel alone, by frame size (ChaCha20-Poly1305 both ways in one
//    process: the sender seals, the receiver opens).
// The live stream of LWW writes node to node (gossip.bench.ts) runs over this channel too.
// Run: node --expose-gc --conditions=source --import tsx bench/index.ts secure
import { MemoryConnection, MemoryNetwork, MemoryTransport } from '@hearsay/core'
import { Node, SecureConnection, generateIdentity, pskFromNetworkKey } from '@hearsay/gossip'
import { group } from './harness.ts'

const timers = { setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms), clearTimeout: (h: any) => clearTimeout(h) }
const limits = { maxFrame: 1 << 24, maxSendBuffer: 1 << 28 }
const prologue = new TextEncoder().encode('hearsay-gossip/2')
const psk = pskFromNetworkKey('bench')

function pair(): Promise<[SecureConnection, SecureConnection]> {
  const [x, y] = MemoryConnection.pair('mem://b', 'mem://a', limits, limits)
  const o = { psk, prologue, timers, maxFrame: 1 << 24 }
  const a = new SecureConnection(x, { ...o, initiator: true, staticKey: generateIdentity() })
  const b = new SecureConnection(y, { ...o, initiator: false, staticKey: generateIdentity() })
  // Secure on both sides, and the initiator has had the responder's first sealed frame (its
  // proof of the psk), as a session's hello gives it.
  return new Promise((resolve) => {
    b.once('secure', () => b.send(new Uint8Array(1)))
    a.once('frame', () => resolve([a, b]))
  })
}

let nameCounter = 0

export async function run(): Promise<void> {
  const H = 200
  const h = group(`secure: handshakes (${H} one after another), Noise_XXpsk3_25519_ChaChaPoly_SHA256`)
  await h.add('channel pair over mem:// (3 messages + 1 sealed frame back)', async () => {
    for (let i = 0; i < H; i++) {
      const [a] = await pair()
      a.close()
    }
    return { ops: H }
  })
  await h.add('two Nodes: connect() to session ready (handshake + hellos)', async () => {
    const network = new MemoryNetwork()
    const quiet = { interval: 3_600_000, heartbeatInterval: 3_600_000 }
    const a = new Node({ networkKey: 'bench', ...quiet, transports: [new MemoryTransport({ network })] })
    const url = await a.listen(`mem://secure-${++nameCounter}`)
    const n = 50
    try {
      for (let i = 0; i < n; i++) {
        const b = new Node({ networkKey: 'bench', ...quiet, transports: [new MemoryTransport({ network })] })
        await b.start()
        await b.connect(url)
        await b.close()
      }
    } finally {
      await a.close()
    }
    return { ops: n }
  }, 1)
  h.print()

  const t = group('secure: sealed frames through one channel (seal + open), by frame size')
  for (const size of [64, 1024, 16 * 1024, 256 * 1024]) {
    const total = 16 * 1024 * 1024
    const count = Math.max(1, Math.floor(total / size))
    await t.add(`${size} B frames`, async () => {
      const [a, b] = await pair()
      const frame = new Uint8Array(size).fill(7)
      let got = 0
      const all = new Promise<void>((resolve) => b.on('frame', () => ++got === count && resolve()))
      for (let i = 0; i < count; i++) {
        a.send(frame)
        if (i % 256 === 255) await new Promise((r) => setImmediate(r))
      }
      await all
      a.close()
      return { ops: count, bytes: count * size }
    })
  }
  t.print()
}
