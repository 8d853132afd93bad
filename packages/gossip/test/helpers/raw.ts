import { encoding, type Connection, type MemoryTransport } from '@hearsay/core'
import { GossipKind, computeProof, readGossipMessage, toKeyBytes } from '@hearsay/gossip'
import { decoding } from '@hearsay/core'

/** A hand-driven peer speaking the gossip protocol frame by frame, for tests of bad input. */
export class RawPeer {
  readonly frames: Uint8Array[] = []
  closedWith: Error | undefined | null = null
  peerId: string | undefined
  constructor(readonly connection: Connection) {
    connection.on('frame', (f: Uint8Array) => this.frames.push(f))
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
    this.connection.send(encoding.toUint8Array(e))
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

  /** Hello and proof with `key` (as node `id`); resolves once the node's proof arrived. */
  async authenticate(id: string, key: string): Promise<void> {
    const nonce = new Uint8Array(16).fill(7)
    this.send((e) => {
      encoding.writeVarUint(e, GossipKind.Hello)
      encoding.writeVarUint(e, 1)
      encoding.writeVarString(e, id)
      encoding.writeUint8Array(e, nonce)
    })
    const hello = readGossipMessage(decoding.createDecoder(await this.next(GossipKind.Hello)))
    if (hello.kind !== GossipKind.Hello) throw new Error('expected hello')
    this.peerId = hello.nodeId
    const proof = computeProof(toKeyBytes(key), id, hello.nodeId, nonce, hello.nonce)
    this.send((e) => {
      encoding.writeVarUint(e, GossipKind.Auth)
      encoding.writeUint8Array(e, proof)
    })
    await this.next(GossipKind.Auth)
  }
}
