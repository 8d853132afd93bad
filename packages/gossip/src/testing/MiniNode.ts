// MiniNode: a minimal anti-entropy node over any Transport and Store, for the simulator.
import * as encoding from 'lib0/encoding'
import {
  readBoundedString,
  readSafeUint,
  readVersionVector,
  writeVersionVector,
  restoreReplica,
  encodeWith,
  decodeWith,
  readBytes,
  type Connection,
  type Range,
  type ReadonlyVersionVector,
  type Replicated,
  type ReplicatedClass,
} from '@hearsay/core'
import type { SimNodeEnv, SimulatedNode } from '../sim/index.js'

const DIGEST = 0
const REPLY = 1
const RANGES = 2

/**
 * A minimal gossip node: every `interval` it sends its digests to `fanout` random open
 * connections; a digest is answered with the ranges the sender lacks (and, once, with our own
 * digest when the sender has something we lack). Local writes are stored before they are
 * pushed to every open connection. Outgoing connections are re-dialled with backoff.
 * Idempotent messages only, so it tolerates loss, duplicates and reordering. It lets the
 * simulator's tests run without the gossip `Node`, shows that `simulate` drives any
 * {@link SimulatedNode}, and is the anti-entropy-only baseline of the simulator bench.
 */
export class MiniNode implements SimulatedNode {
  readonly #env: SimNodeEnv
  readonly #replicas = new Map<string, Replicated<any>>()
  readonly #conns = new Set<Connection>()
  #closed = false
  #round: unknown

  readonly #push: boolean

  /** `push: false` turns off the eager push of local writes: anti-entropy rounds only. */
  constructor(env: SimNodeEnv, options: { push?: boolean } = {}) {
    this.#env = env
    this.#push = options.push ?? true
    this.#schedule()
  }

  #schedule(): void {
    const { timers, interval, random } = this.#env
    this.#round = timers.setTimeout(() => {
      this.#gossip()
      this.#schedule()
    }, interval * (0.5 + random()))
  }

  #gossip(): void {
    const conns = [...this.#conns]
    const { random, fanout } = this.#env
    for (let i = 0; i < fanout && conns.length > 0; i++) {
      const c = conns.splice(Math.floor(random() * conns.length), 1)[0]!
      for (const [id, r] of this.#replicas) this.#sendDigest(c, DIGEST, id, r.clock)
    }
  }

  #sendDigest(c: Connection, kind: number, id: string, clock: ReadonlyVersionVector): void {
    c.send(
      encodeWith((e) => {
        encoding.writeVarUint(e, kind)
        encoding.writeVarString(e, id)
        writeVersionVector(e, clock)
      }),
    )
  }

  #sendRanges(c: Connection, id: string, r: Replicated<any>, ranges: Range<any>[]): void {
    if (ranges.length === 0) return
    const data = r.encodeRanges(ranges)
    c.send(
      encodeWith((e) => {
        encoding.writeVarUint(e, RANGES)
        encoding.writeVarString(e, id)
        encoding.writeVarUint8Array(e, data)
      }),
    )
  }

  #onFrame(c: Connection, frame: Uint8Array): void {
    decodeWith(frame, (d) => {
      const kind = readSafeUint(d)
      const id = readBoundedString(d, 1024)
      const r = this.#replicas.get(id)
      if (r === undefined) return
      if (kind === RANGES) {
        r.applyRanges(r.decodeRanges(readBytes(d)), c)
        return
      }
      const theirs = readVersionVector(d)
      this.#sendRanges(c, id, r, r.historySince(theirs))
      const cmp = r.clock.compare(theirs)
      if (kind === DIGEST && (cmp === 'before' || cmp === 'concurrent')) this.#sendDigest(c, REPLY, id, r.clock)
    })
  }

  #attach(c: Connection): void {
    this.#conns.add(c)
    c.on('frame', (f: Uint8Array) => {
      try {
        this.#onFrame(c, f)
      } catch {
        c.close()
      }
    })
    c.on('close', () => this.#conns.delete(c))
    for (const [id, r] of this.#replicas) this.#sendDigest(c, DIGEST, id, r.clock)
  }

  /** Opens (restores from the store, or creates) the replica `id` of `type`. */
  async open(id: string, type: ReplicatedClass): Promise<Replicated<any>> {
    const r = new type({ id: this.#env.id, now: this.#env.now })
    await this.#env.store.open()
    await restoreReplica(this.#env.store, id, r)
    r.on('ranges', (ranges: Range<any>[], origin: unknown) => {
      if (origin === 'store') return
      const data = r.encodeRanges(ranges)
      const stored = this.#env.store.append([{ objectId: id, typeId: r.typeId, data }])
      // Durable before it leaves the node.
      if (origin === 'local' && this.#push) void stored.then(() => { for (const c of this.#conns) this.#sendRanges(c, id, r, ranges) })
    })
    this.#replicas.set(id, r)
    return r
  }

  /** Accepts connections on `url`. */
  async listen(url: string): Promise<void> {
    await this.#env.transport.listen(url, (c) => this.#attach(c))
  }

  /** Dials `url`, and dials again with backoff whenever the attempt fails or the connection closes. */
  connect(url: string, attempt = 0): void {
    if (this.#closed) return
    const retry = () => this.#env.timers.setTimeout(() => this.connect(url, attempt + 1), Math.min(10_000, 200 * 2 ** attempt) * (0.5 + this.#env.random()))
    this.#env.transport.connect(url).then(
      (c) => {
        attempt = 0
        this.#attach(c)
        c.on('close', () => retry())
      },
      () => retry(),
    )
  }

  /** Stops the rounds and closes every connection. */
  close(): void {
    this.#closed = true
    this.#env.timers.clearTimeout(this.#round)
    for (const c of this.#conns) c.close()
  }
}
