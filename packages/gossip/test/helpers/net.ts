import { MemoryNetwork, MemoryStore, MemoryTransport, type Store } from '@hearsay/core'
import { Node, type NodeOptions } from '@hearsay/gossip'

let counter = 0

/** A fresh mem:// namespace with helpers to make nodes on it and wait for conditions. */
export class TestNet {
  readonly network = new MemoryNetwork()
  readonly nodes: Node[] = []
  readonly prefix = `t${++counter}`

  transport(options: { maxFrame?: number | undefined; maxSendBuffer?: number | undefined } = {}): MemoryTransport {
    return new MemoryTransport({ ...options, network: this.network })
  }

  node(options: Partial<NodeOptions> & { store?: Store } = {}): Node {
    const n = new Node({ networkKey: 'test-key', interval: 20, ...options, transports: [this.transport({ maxFrame: options.maxFrame, maxSendBuffer: options.maxSendBuffer }), ...(options.transports ?? [])] })
    this.nodes.push(n)
    return n
  }

  address(name: string): string {
    return `mem://${this.prefix}-${name}`
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.close()))
  }
}

/** Polls `cond` every few ms until it holds; fails with `what` after `timeout` ms. */
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeout = 10_000): Promise<void> {
  const start = Date.now()
  for (;;) {
    if (await cond()) return
    if (Date.now() - start > timeout) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

export { MemoryStore }

import { Emitter, type Connection, type ConnectionEvents, type Listener, type Transport } from '@hearsay/core'

/** A frame seen by a {@link RecordingTransport}: direction from this side's point of view. */
export interface SeenFrame {
  readonly dir: 'in' | 'out'
  readonly bytes: Uint8Array
}

class RecordingConnection extends Emitter<ConnectionEvents> implements Connection {
  constructor(readonly inner: Connection, readonly log: SeenFrame[]) {
    super()
    inner.on('frame', (f: Uint8Array) => {
      log.push({ dir: 'in', bytes: f })
      this.emit('frame', f)
    })
    inner.on('close', (err?: Error) => this.emit('close', err))
    inner.on('drain', () => this.emit('drain'))
  }
  get remoteAddress(): string {
    return this.inner.remoteAddress
  }
  get isOpen(): boolean {
    return this.inner.isOpen
  }
  get bufferedBytes(): number {
    return this.inner.bufferedBytes
  }
  send(frame: Uint8Array): boolean {
    this.log.push({ dir: 'out', bytes: frame })
    return this.inner.send(frame)
  }
  close(reason?: Error): void {
    this.inner.close(reason)
  }
  limitFrames(maxFrame: number): void {
    this.inner.limitFrames?.(maxFrame)
  }
}

/** Wraps a transport and records every frame sent and received on its connections. */
export class RecordingTransport implements Transport {
  /** Frames on the wire (sealed after the handshake). */
  readonly frames: SeenFrame[] = []
  /** Plaintext session frames, when the node was given `inspect: rec.inspect`. */
  readonly plain: SeenFrame[] = []
  readonly inspect = (dir: 'in' | 'out', bytes: Uint8Array): void => {
    this.plain.push({ dir, bytes })
  }
  readonly connections: RecordingConnection[] = []
  constructor(readonly inner: Transport) {}
  get scheme(): string {
    return this.inner.scheme
  }
  get capabilities() {
    return this.inner.capabilities
  }
  listen(url: string, onConnection: (c: Connection) => void): Promise<Listener> {
    return this.inner.listen(url, (c) => {
      const r = new RecordingConnection(c, this.frames)
      this.connections.push(r)
      onConnection(r)
    })
  }
  async connect(url: string): Promise<Connection> {
    const r = new RecordingConnection(await this.inner.connect(url), this.frames)
    this.connections.push(r)
    return r
  }
  /** Bytes recorded since `mark` (an index into `frames`). */
  bytesSince(mark: number): number {
    return this.frames.slice(mark).reduce((n, f) => n + f.bytes.length, 0)
  }
}
