import { decoding, encoding, type Connection, type MemoryTransport } from '@hearsay/core'
import { GOSSIP_PROTOCOL_VERSION, GossipKind, SecureConnection, generateIdentity, pskFromNetworkKey, readGossipMessage } from '@hearsay/gossip'

const timers = { setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms), clearTimeout: (h: any) => clearTimeout(h) }

/**
 * A hand-driven peer speaking the gossip protocol frame by frame, for tests of bad input.
 * Before {@link authenticate} it writes raw frames on the transport; after, sealed frames on a
 * Noise channel (the node's own {@link SecureConnection}), and `frames` holds what it read.
 */
export class RawPeer {
  readonly frames: Uint8Array[] = []
  closedWith: Error | undefined | null = null
  peerId: string | undefined
  #channel: SecureConnection | undefined
  constructor(readonly connection: Connection) {
    connection.on('frame', (f: Uint8Array) => {
      if (this.#channel === undefined) this.frames.push(f)
    })
    connection.on('close', (e?: Error) => (this.closedWith = e))
  }

  static async connect(transport: MemoryTransport, url: string): Promise<RawPeer> {
    return new RawPeer(await transport.connect(url))
  }

  /** Kinds of every frame received so far. */
  kinds(): number[] {
    return this.frames.map((f) => f[0]!)
  }

  send(write: (e: encoding.Encoder) => void): void {
    const e = encoding.createEncoder()
    write(e)
    ;(this.#channel ?? this.connection).send(encoding.toUint8Array(e))
  }

  async next(kind: number, timeout = 2000): Promise<Uint8Array> {
    const start = Date.now()
    for (;;) {
      const f = this.frames.find((x) => x[0] === kind)
      if (f !== undefined) return f
      if (Date.now() - start > timeout) throw new Error(`no frame of kind ${kind}; got ${this.kinds().join(',')}`)
      await new Promise((r) => setTimeout(r, 2))
    }
  }

  /** Sends bytes as one frame: sealed once authenticated (a malformed frame the node can read). */
  sendBytes(bytes: Uint8Array): void {
    ;(this.#channel ?? this.connection).send(bytes)
  }

  /** The Noise handshake with `key`, then a hello as node `id`; resolves once the node's hello arrived. */
  async authenticate(id: string, key: string): Promise<void> {
    const channel = new SecureConnection(this.connection, {
      initiator: true,
      psk: pskFromNetworkKey(key),
      staticKey: generateIdentity(),
      prologue: new TextEncoder().encode('hearsay-gossip/2'),
      timers,
      maxFrame: 16 * 1024 * 1024,
    })
    this.#channel = channel
    channel.on('frame', (f: Uint8Array) => this.frames.push(f))
    await new Promise<void>((resolve, reject) => {
      channel.once('secure', resolve)
      channel.once('close', (e) => reject(e ?? new Error('closed during the handshake')))
    })
    this.send((e) => {
      encoding.writeVarUint(e, GossipKind.Hello)
      encoding.writeVarUint(e, GOSSIP_PROTOCOL_VERSION)
      encoding.writeVarString(e, id)
    })
    const hello = readGossipMessage(decoding.createDecoder(await this.next(GossipKind.Hello)))
    if (hello.kind !== GossipKind.Hello) throw new Error('expected hello')
    this.peerId = hello.nodeId
  }
}
