import { MemoryNetwork, MemoryStore, MemoryTransport, type Store } from '@hearsay/core'
import { Node, type NodeOptions } from '@hearsay/gossip'

let counter = 0

/** A fresh mem:// namespace with helpers to make nodes on it and wait for conditions. */
export class TestNet {
  readonly network = new MemoryNetwork()
  readonly nodes: Node[] = []
  readonly prefix = `t${++counter}`

  transport(options: { maxFrame?: number; maxSendBuffer?: number } = {}): MemoryTransport {
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
