// Test helpers for the simulator: two small correct replicated types, and MiniNode, a minimal
// anti-entropy node over any Transport and Store. MiniNode lets the simulator's own tests run
// independently of the gossip Node (and shows that `simulate` drives any node implementation).
import {
  Replicated,
  encoding,
  decoding,
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
  type Replicated as ReplicatedT,
  type ReplicatedClass,
  type ReplicatedOptions,
  type Update,
} from '@hearsay/core'
import type { SimNodeEnv, SimulatedNode } from '@hearsay/gossip/sim'

/** A grow-only set of strings. */
export class SimGSet extends Replicated<string, string[]> {
  static override readonly typeId = 9101
  static override readonly typeName = 'SimGSet'
  readonly #items = new Map<string, Update<string>>()

  constructor(options?: ReplicatedOptions) {
    super(options)
  }

  add(item: string): void {
    if (typeof item !== 'string') throw new TypeError('item is a string')
    if (!this.#items.has(item)) this.commit(item)
  }

  protected applyOp(u: Update<string>): boolean {
    const prev = this.#items.get(u.op)
    if (prev && (prev.source < u.source || (prev.source === u.source && prev.seq <= u.seq))) return false
    this.#items.set(u.op, u)
    return !prev
  }

  protected *history(since: ReadonlyVersionVector): Iterable<Update<string>> {
    for (const u of this.#items.values()) if (u.seq > since.get(u.source)) yield u
  }

  protected override writeOp(e: encoding.Encoder, op: string): void {
    encoding.writeVarString(e, op)
  }

  protected override readOp(d: decoding.Decoder): string {
    return readBoundedString(d, 1 << 12)
  }

  toJSON(): string[] {
    return [...this.#items.keys()].sort()
  }
}

interface KV {
  key: string
  value: number
}

/** A last-writer-wins map of string → number, compacting: only each key's winning write is kept. */
export class SimLWWMap extends Replicated<KV, Record<string, number>> {
  static override readonly typeId = 9102
  static override readonly typeName = 'SimLWWMap'
  readonly #winners = new Map<string, Update<KV>>()

  constructor(options?: ReplicatedOptions) {
    super(options)
  }

  set(key: string, value: number): void {
    if (typeof key !== 'string') throw new TypeError('key is a string')
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError('value is a safe integer >= 0')
    this.commit({ key, value })
  }

  protected applyOp(u: Update<KV>): boolean {
    const prev = this.#winners.get(u.op.key)
    if (prev !== undefined && (prev.time > u.time || (prev.time === u.time && prev.source >= u.source))) return false
    this.#winners.set(u.op.key, u)
    return true
  }

  protected *history(since: ReadonlyVersionVector): Iterable<Update<KV>> {
    for (const u of this.#winners.values()) if (u.seq > since.get(u.source)) yield u
  }

  protected override writeOp(e: encoding.Encoder, op: KV): void {
    encoding.writeVarString(e, op.key)
    encoding.writeVarUint(e, op.value)
  }

  protected override readOp(d: decoding.Decoder): KV {
    const key = readBoundedString(d, 1 << 12)
    const value = readSafeUint(d)
    return { key, value }
  }

  toJSON(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const k of [...this.#winners.keys()].sort()) out[k] = this.#winners.get(k)!.op.value
    return out
  }
}

const DIGEST = 0
const REPLY = 1
const RANGES = 2

/**
 * A minimal gossip node: every `interval` it sends its digests to `fanout` random open
 * connections; a digest is answered with the ranges the sender lacks (and, once, with our own
 * digest when the sender has something we lack). Local writes are stored before they are
 * pushed to every open connection. Outgoing connections are re-dialled with backoff.
 * Idempotent messages only, so it tolerates loss, duplicates and reordering.
 */
export class MiniNode implements SimulatedNode {
  readonly #env: SimNodeEnv
  readonly #replicas = new Map<string, ReplicatedT<any>>()
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

  #sendRanges(c: Connection, id: string, r: ReplicatedT<any>, ranges: Range<any>[]): void {
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

  async open(id: string, type: ReplicatedClass): Promise<ReplicatedT<any>> {
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

  async listen(url: string): Promise<void> {
    await this.#env.transport.listen(url, (c) => this.#attach(c))
  }

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

  close(): void {
    this.#closed = true
    this.#env.timers.clearTimeout(this.#round)
    for (const c of this.#conns) c.close()
  }
}
