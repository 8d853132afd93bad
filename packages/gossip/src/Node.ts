import { randomBytes } from 'node:crypto'
import {
  DEFAULT_MAX_FRAME,
  DEFAULT_MAX_SEND_BUFFER,
  Emitter,
  ErrorCodes,
  HearsayError,
  LOCAL_ORIGIN,
  MemoryStore,
  MemoryTransport,
  VersionVector,
  createReplica,
  decodeWith,
  decoding,
  encodeWith,
  encoding,
  getType,
  isHearsayError,
  randomReplicaId,
  readSafeUint,
  registerType,
  toReplicaId,
  type Connection,
  type Listener,
  type Range,
  type ReadonlyVersionVector,
  type Replicated,
  type ReplicatedClass,
  type Store,
  type Transport,
} from '@hearsay/core'
import { toKeyBytes } from './auth.js'
import { decodeBundle, encodeBundle, readDigest, writeDigest } from './bundle.js'
import { DigestIndex } from './DigestIndex.js'
import { MAX_MEMBER_ADDRESSES, MEMBERSHIP_OBJECT_ID, Membership, type Member } from './Membership.js'
import { NONCE_BYTES, assertObjectId, type VectorEntry } from './messages.js'
import { Persister, type CompactionPolicy } from './Persister.js'
import { Session, type HostedObject, type SessionHost } from './Session.js'

/** Timer functions a node uses; inject virtual ones for simulations. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: any): void
}

/** Where a node writes diagnostics. Every method is optional. */
export interface Logger {
  debug?(message: string, data?: Record<string, unknown>): void
  info?(message: string, data?: Record<string, unknown>): void
  warn?(message: string, data?: Record<string, unknown>): void
  error?(message: string, data?: Record<string, unknown>): void
}

/** Options of a {@link Node}. */
export interface NodeOptions {
  /** The node id: the source id of every replica it hosts. Default: the id saved in the store, else a new random one (saved). */
  id?: string
  /** Where replicas and node metadata persist. Default: a fresh {@link MemoryStore} (nothing survives the process). */
  store?: Store
  /** The secret every node of the network shares; peers prove they hold it before any data moves. */
  networkKey: string | Uint8Array
  /** Peers picked for anti-entropy every interval (default 3). */
  fanout?: number
  /** Milliseconds between gossip rounds (default 1000). */
  interval?: number
  /** Transports besides the built-in `mem://` one (e.g. TCP and WebSocket from `@hearsay/adapters`). */
  transports?: readonly Transport[]
  /** Wall clock in ms (default `Date.now`); also drives the replicas' hybrid clocks. */
  now?: () => number
  /** Timer functions (default the global ones). */
  timers?: Timers
  /** Uniform numbers in [0, 1) for peer selection, jitter, ids and nonces (default `crypto`-grade randomness). */
  random?: () => number
  /** Largest frame sent or accepted, in bytes (default 16 MiB). */
  maxFrame?: number
  /** Most bytes queued for one peer before it is disconnected with `HEARSAY_BACKPRESSURE` (default 8 MiB). */
  maxSendBuffer?: number
  /** Where diagnostics go (default nowhere). */
  logger?: Logger
  /** Addresses announced to peers in the membership instead of the listeners' own (behind NAT, a proxy, or a listener on 0.0.0.0). */
  advertise?: readonly string[]
  /** Most connections this node dials on its own to peers learned from membership (default 8). */
  maxConnections?: number
  /**
   * Milliseconds between heartbeats written to the membership. Default: interval × max(5,
   * members / 5), so the whole network writes about 5 heartbeats per round however large it is.
   */
  heartbeatInterval?: number
  /** Milliseconds without a heartbeat (or a frame) after which a peer is suspected (default 4 × the heartbeat interval). */
  suspectAfter?: number
  /** First reconnect delay in ms; doubles per failure up to `maxBackoff`, with jitter (default interval). */
  backoff?: number
  /** Longest reconnect delay in ms (default 30 × interval). */
  maxBackoff?: number
  /** Milliseconds a new connection has to authenticate (default 10 000). */
  authTimeout?: number
  /** When to compact an object's log in the store. */
  compaction?: CompactionPolicy
  /** Causal buffer bound of each hosted replica (see `ReplicatedOptions.maxPending`). */
  maxPending?: number
  /** Drift bound of each hosted replica (see `ReplicatedOptions.maxDrift`). */
  maxDrift?: number
}

/** One peer in {@link NodeStatus}. */
export interface PeerStatus {
  readonly id: string
  readonly addresses: readonly string[]
  readonly connected: boolean
  readonly suspected: boolean
  /** Node clock (ms) of the last root digest exchange. */
  readonly lastSync: number | undefined
  /** Node clock (ms) of the last heartbeat or frame from the peer. */
  readonly lastHeard: number | undefined
  readonly inSync: boolean
  readonly bytesIn: number
  readonly bytesOut: number
  /** Bytes queued for the peer, in the node and the transport. */
  readonly pendingSend: number
}

/** One hosted object in {@link NodeStatus}. */
export interface ObjectStatus {
  readonly id: string
  readonly typeId: number
  readonly typeName: string
  readonly vector: Record<string, number>
  /** Updates waiting in the object's causal buffer. */
  readonly pending: number
}

/** A snapshot of a node's state, from {@link Node.status}. */
export interface NodeStatus {
  readonly id: string
  readonly addresses: readonly string[]
  readonly peers: readonly PeerStatus[]
  readonly objects: readonly ObjectStatus[]
  readonly bytesIn: number
  readonly bytesOut: number
  /** Updates from peers and bundles that took effect here. */
  readonly updatesApplied: number
  /** Updates waiting in causal buffers, over every object. */
  readonly pendingUpdates: number
  /** Bytes queued for peers, over every connection. */
  readonly pendingSend: number
  /** Batches waiting for the store. */
  readonly pendingStore: number
  readonly rounds: number
}

/** What {@link Node.importBundle} did. */
export interface ImportResult {
  /** The node that exported the bundle. */
  readonly from: string
  readonly objects: number
  readonly applied: number
  /** Updates of this bundle now waiting in causal buffers for ones that have not arrived. */
  readonly waiting: number
}

interface Hosted extends HostedObject {
  readonly replica: Replicated<any>
  readonly encode: (ranges: readonly Range<any>[]) => Uint8Array
}

interface PeerInfo {
  lastHeard: number
  suspected: boolean
  lastSync: number | undefined
}

interface DialState {
  failures: number
  next: number
}

type SeenDigest = {
  time: number
  objects: Map<string, { typeId: number; vector: VersionVector }>
  /** The root (count and hash) at which the peer was last found in sync and its vectors recorded. */
  inSyncAt?: string
}

const META_NODE_ID = 'node-id'
const META_PEER_DIGEST = 'peer-digest/'

function schemeOf(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*):/i.exec(url)
  if (m === null) throw new TypeError(`an address is a URL such as mem://name, tcp://host:port or ws://host:port; got ${JSON.stringify(url)}`)
  return m[1]!.toLowerCase()
}

/** What a {@link Node} emits. */
export interface NodeEvents {
  /** A first session with this peer is ready (handshake done). */
  'peer-connected': (peerId: string, remoteAddress: string) => void
  /** The last session with this peer closed; `reason` is set when it closed on an error. */
  'peer-disconnected': (peerId: string, reason?: Error) => void
  /** Nothing heard from this peer for longer than the suspicion timeout. */
  'peer-suspected': (peerId: string) => void
  /** A suspected peer was heard from again. */
  'peer-recovered': (peerId: string) => void
  /** Bad input from a peer, dropped (or the peer was); the peer's id when known. */
  'peer-error': (error: HearsayError, peerId?: string) => void
  /** A round with this peer ended; `inSync` when neither side had anything the other lacked. */
  sync: (peerId: string, inSync: boolean) => void
  /** A peer or a bundle brought an object this node did not host. */
  object: (objectId: string, replica: Replicated<any, any, any>) => void
  /** Appending to the store failed. */
  'store-error': (error: unknown) => void
  /** The node closed. */
  close: () => void
}

/**
 * A gossip node: hosts many replicated objects by id and keeps them converged with its peers
 * by random anti-entropy rounds and live pushes, over any registered transport, with no
 * leader. See the package README for an overview and PROTOCOL.md for the bytes.
 *
 * Guarantees:
 * - A local update is appended to the store before it is sent anywhere (durable before it
 *   leaves the node); appends are batched per tick.
 * - No data moves before both sides proved they hold the network key.
 * - Bad input from a peer never throws: it is reported as `peer-error` and dropped (or the
 *   peer is dropped).
 * - With `now`, `timers` and `random` injected (and a deterministic transport) everything the
 *   node does is deterministic.
 *
 * Events: see {@link NodeEvents}.
 */
export class Node extends Emitter<NodeEvents> {
  readonly #options: NodeOptions
  readonly #store: Store
  readonly #key: Uint8Array
  readonly #now: () => number
  readonly #timers: Timers
  readonly #random: (() => number) | undefined
  readonly #logger: Logger
  readonly fanout: number
  readonly interval: number
  readonly maxFrame: number
  readonly maxSendBuffer: number
  readonly #maxConnections: number
  readonly #heartbeatOption: number | undefined
  readonly #suspectOption: number | undefined
  readonly #backoff: number
  readonly #maxBackoff: number
  readonly #authTimeout: number
  readonly #transports = new Map<string, Transport>()
  #id: string | undefined
  #starting: Promise<void> | undefined
  #closed = false
  #closing: Promise<void> | undefined
  readonly #objects = new Map<string, Hosted>()
  readonly #opening = new Map<string, Promise<Replicated<any>>>()
  readonly #index = new DigestIndex()
  #persister!: Persister
  #membership!: Membership
  readonly #sessions = new Set<Session>()
  readonly #listeners: Listener[] = []
  readonly #addresses: string[] = []
  readonly #pinned = new Map<string, { peerId: string | undefined; waiters: Array<{ resolve: (id: string) => void; reject: (e: Error) => void }> }>()
  readonly #dialing = new Set<string>()
  readonly #dials = new Map<string, DialState>()
  readonly #peers = new Map<string, PeerInfo>()
  readonly #seen = new Map<string, SeenDigest>()
  readonly #seenDirty = new Set<string>()
  /** Per peer, the one read of its stored digest (merged into `#seen`); dropped when it failed so the next caller retries. */
  readonly #seenLoads = new Map<string, Promise<SeenDigest>>()
  #seenSaving: Promise<void> = Promise.resolve()
  #timer: unknown
  #nextBeat = -Infinity
  #rounds = 0
  #closedBytes = { in: 0, out: 0 }
  #updatesApplied = 0
  readonly #host: SessionHost

  /** @throws TypeError on bad options (missing network key, bad numbers). */
  constructor(options: NodeOptions) {
    super()
    if (options === null || typeof options !== 'object') throw new TypeError('options is an object such as { networkKey }')
    this.#options = options
    this.#key = toKeyBytes(options.networkKey)
    this.#store = options.store ?? new MemoryStore()
    this.#now = options.now ?? Date.now
    this.#timers = options.timers ?? { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h) }
    this.#random = options.random
    this.#logger = options.logger ?? {}
    const num = (v: number | undefined, d: number, name: string, min = 1): number => {
      const n = v ?? d
      if (typeof n !== 'number' || !Number.isFinite(n) || n < min) throw new RangeError(`${name} is a number of at least ${min}, got ${v}`)
      return n
    }
    this.fanout = num(options.fanout, 3, 'fanout')
    this.interval = num(options.interval, 1000, 'interval')
    this.maxFrame = num(options.maxFrame, DEFAULT_MAX_FRAME, 'maxFrame', 64)
    this.maxSendBuffer = num(options.maxSendBuffer, DEFAULT_MAX_SEND_BUFFER, 'maxSendBuffer', 64)
    this.#maxConnections = num(options.maxConnections, 8, 'maxConnections')
    this.#heartbeatOption = options.heartbeatInterval === undefined ? undefined : num(options.heartbeatInterval, 0, 'heartbeatInterval')
    this.#suspectOption = options.suspectAfter === undefined ? undefined : num(options.suspectAfter, 0, 'suspectAfter')
    this.#backoff = num(options.backoff, this.interval, 'backoff')
    this.#maxBackoff = num(options.maxBackoff, 30 * this.interval, 'maxBackoff')
    this.#authTimeout = num(options.authTimeout, 10_000, 'authTimeout')
    if (options.id !== undefined) this.#id = toReplicaId(options.id)
    if (options.advertise !== undefined) {
      if (!Array.isArray(options.advertise) || options.advertise.length > MAX_MEMBER_ADDRESSES) throw new TypeError(`advertise is an array of at most ${MAX_MEMBER_ADDRESSES} addresses`)
      for (const a of options.advertise) schemeOf(a)
    }
    this.use(new MemoryTransport({ maxFrame: this.maxFrame, maxSendBuffer: this.maxSendBuffer }))
    for (const t of options.transports ?? []) this.use(t)
    this.#host = this.#makeHost()
  }

  /** The node id. @throws HearsayError `HEARSAY_NOT_OPEN` before {@link start} resolved when no id was given. */
  get id(): string {
    if (this.#id === undefined) throw new HearsayError(ErrorCodes.NOT_OPEN, 'the node id is known once start() resolved')
    return this.#id
  }

  /** Addresses this node listens on. */
  get addresses(): readonly string[] {
    return this.#addresses
  }

  /** False once {@link close} was called. */
  get isOpen(): boolean {
    return !this.#closed
  }

  /** The membership replica (every node of the network, with addresses and heartbeats). */
  get membership(): Membership {
    if (this.#membership === undefined) throw new HearsayError(ErrorCodes.NOT_OPEN, 'the membership is available once start() resolved')
    return this.#membership
  }

  /** Registers a transport for its URL scheme, replacing any other for that scheme. Returns this node. */
  use(transport: Transport): this {
    if (transport === null || typeof transport !== 'object' || typeof transport.scheme !== 'string') throw new TypeError('a transport has a scheme, listen() and connect()')
    this.#transports.set(transport.scheme.replace(/:$/, '').toLowerCase(), transport)
    return this
  }

  #transportFor(url: string): Transport {
    const t = this.#transports.get(schemeOf(url))
    if (t === undefined) throw new HearsayError(ErrorCodes.NOT_SUPPORTED, `no transport registered for ${schemeOf(url)}:// (use node.use(transport))`)
    return t
  }

  #log(level: keyof Logger, message: string, data?: Record<string, unknown>): void {
    this.#logger[level]?.(message, { node: this.#id, ...data })
  }

  #rand(): number {
    if (this.#random !== undefined) return this.#random()
    return randomBytes(4).readUInt32BE(0) / 2 ** 32
  }

  #nonce(): Uint8Array {
    if (this.#random === undefined) return new Uint8Array(randomBytes(NONCE_BYTES))
    const b = new Uint8Array(NONCE_BYTES)
    for (let i = 0; i < b.length; i++) b[i] = Math.floor(this.#random() * 256)
    return b
  }

  #newId(): string {
    if (this.#random === undefined) return randomReplicaId()
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'
    let s = ''
    for (let i = 0; i < 12; i++) s += alphabet[Math.floor(this.#random() * alphabet.length)]
    return s
  }

  // ---- lifecycle ----

  /**
   * Opens the store, loads or creates the node id, restores every stored object of a registered
   * type, writes a heartbeat and starts the gossip rounds. Idempotent; `open`, `listen`, `connect`
   * and the bundle methods call it.
   * @throws HearsayError `HEARSAY_NOT_OPEN` after close, or what the store throws.
   */
  start(): Promise<void> {
    if (this.#closed) return Promise.reject(new HearsayError(ErrorCodes.NOT_OPEN, 'node is closed'))
    return (this.#starting ??= this.#start())
  }

  async #start(): Promise<void> {
    await this.#store.open()
    const saved = await this.#store.getMeta(META_NODE_ID)
    const savedId = saved && new TextDecoder().decode(saved)
    if (this.#id === undefined) this.#id = savedId ? toReplicaId(savedId) : this.#newId()
    if (savedId !== this.#id) await this.#store.putMeta(META_NODE_ID, new TextEncoder().encode(this.#id))
    this.#persister = new Persister(this.#store, (id) => this.#objects.get(id)?.replica, {
      policy: this.#options.compaction,
      onError: (err) => {
        this.#log('error', 'store append failed', { error: String(err) })
        if (this.listenerCount('store-error') > 0) this.emit('store-error', err)
      },
      retry: (fn) => this.#timers.setTimeout(fn, this.interval),
    })
    for (const { objectId, typeId } of await this.#store.list()) {
      const type = getType(typeId)
      if (type === undefined) {
        this.#log('warn', 'stored object of an unregistered type left unloaded', { objectId, typeId })
        continue
      }
      const replica = new type(this.#replicaOptions())
      await this.#load(objectId, replica)
      this.#hostReplica(objectId, replica)
    }
    let membership = this.#objects.get(MEMBERSHIP_OBJECT_ID)?.replica
    if (!(membership instanceof Membership)) {
      membership = new Membership(this.#replicaOptions())
      this.#hostReplica(MEMBERSHIP_OBJECT_ID, membership)
    }
    this.#membership = membership as Membership
    const now = this.#now()
    for (const m of this.#membership.members()) if (m.id !== this.#id) this.#peers.set(m.id, { lastHeard: now, suspected: false, lastSync: undefined })
    this.#beat()
    this.#schedule()
  }

  #replicaOptions(): { id: string; now: () => number; maxPending?: number; maxDrift?: number } {
    const o: { id: string; now: () => number; maxPending?: number; maxDrift?: number } = { id: this.#id!, now: this.#now }
    if (this.#options.maxPending !== undefined) o.maxPending = this.#options.maxPending
    if (this.#options.maxDrift !== undefined) o.maxDrift = this.#options.maxDrift
    return o
  }

  // Loads an object like `restoreReplica` does, also counting its batches for the compaction policy.
  async #load(objectId: string, replica: Replicated<any>): Promise<boolean> {
    const stored = await this.#store.load(objectId)
    if (stored === undefined) return false
    if (stored.typeId !== replica.typeId) throw new HearsayError(ErrorCodes.TYPE_MISMATCH, `stored object ${objectId} is type ${stored.typeId}, not ${replica.typeName}`)
    if (stored.snapshot !== undefined) replica.applyState(stored.snapshot)
    let bytes = 0
    for (const b of stored.batches) {
      bytes += b.length
      replica.applyRanges(replica.decodeRanges(b), 'store')
    }
    this.#persister.track(objectId, stored.batches.length, bytes, stored.snapshot?.length ?? 0)
    return true
  }

  /**
   * Closes every connection and listener, waits for the store to hold every queued batch, saves
   * the peers' digests, disposes the replicas and closes the store. Idempotent.
   */
  close(): Promise<void> {
    return (this.#closing ??= this.#close())
  }

  async #close(): Promise<void> {
    this.#closed = true
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#starting === undefined) return
    try {
      await this.#starting
    } catch {
      return
    }
    for (const s of [...this.#sessions]) s.close()
    await Promise.all(this.#listeners.splice(0).map((l) => l.close().catch(() => {})))
    for (const p of this.#pinned.values()) for (const w of p.waiters.splice(0)) w.reject(new HearsayError(ErrorCodes.NOT_OPEN, 'node closed'))
    await this.#persister.idle()
    await this.#saveSeen()
    this.#persister.close()
    for (const o of this.#objects.values()) o.replica.dispose()
    this.#objects.clear()
    await this.#store.close()
    this.emit('close')
  }

  // ---- objects ----

  /**
   * The replica of object `objectId`, of type `Type`: the one already hosted, else loaded from
   * the store, else created empty. The type is registered (so peers' objects of that type can be
   * created here). Concurrent calls for one id share one replica.
   * @throws TypeError on a bad id or a type that is not a replicated class.
   * @throws HearsayError `HEARSAY_TYPE_MISMATCH` when the object exists with another type; `HEARSAY_NOT_OPEN` after close.
   */
  async open<R extends Replicated<any>>(objectId: string, Type: ReplicatedClass<R>): Promise<R> {
    assertObjectId(objectId)
    if (typeof Type !== 'function' || typeof Type.typeId !== 'number') throw new TypeError('Type is a replicated class with a static typeId')
    registerType(Type)
    await this.start()
    if (this.#closed) throw new HearsayError(ErrorCodes.NOT_OPEN, 'node is closed')
    const have = this.#objects.get(objectId)
    if (have !== undefined) return this.#checkType(objectId, have.replica, Type)
    let p = this.#opening.get(objectId)
    if (p === undefined) {
      p = (async () => {
        const replica = new Type(this.#replicaOptions())
        await this.#load(objectId, replica)
        const again = this.#objects.get(objectId)
        if (again !== undefined) {
          replica.dispose()
          return again.replica
        }
        this.#hostReplica(objectId, replica)
        return replica
      })()
      this.#opening.set(objectId, p)
      p.finally(() => this.#opening.delete(objectId)).catch(() => {})
    }
    return this.#checkType(objectId, await p, Type)
  }

  #checkType<R extends Replicated<any>>(objectId: string, replica: Replicated<any>, Type: ReplicatedClass<R>): R {
    if (replica.typeId !== Type.typeId) throw new HearsayError(ErrorCodes.TYPE_MISMATCH, `object ${objectId} is a ${replica.typeName}, not a ${Type.typeName}`)
    return replica as R
  }

  /** The replica of a hosted object, if any (objects created by peers included). */
  get(objectId: string): Replicated<any> | undefined {
    return this.#objects.get(objectId)?.replica
  }

  /** Ids of every hosted object, sorted. */
  objectIds(): string[] {
    return [...this.#objects.keys()].sort()
  }

  #hostReplica(objectId: string, replica: Replicated<any>): Hosted {
    const hosted: Hosted = {
      objectId,
      typeId: replica.typeId,
      replica,
      encode: (ranges) => replica.encodeRanges(ranges),
      get clock() {
        return replica.clock
      },
    }
    this.#objects.set(objectId, hosted)
    this.#index.add(hosted)
    replica.on('ranges', (ranges: readonly Range<any>[], origin: unknown) => this.#onRanges(hosted, ranges, origin))
    replica.on('rejected', (err: HearsayError) => this.#log('debug', 'update refused', { objectId, code: err.code, message: err.message }))
    if (replica instanceof Membership) replica.on('change', (m: Member) => this.#onMember(m))
    return hosted
  }

  #onRanges(o: Hosted, ranges: readonly Range<any>[], origin: unknown): void {
    this.#index.touch(o.objectId)
    if (origin === 'store' || this.#closed) return
    const durable = this.#persister.append(o.objectId, o.typeId, ranges, o.encode)
    if (origin === LOCAL_ORIGIN) durable.then(() => this.#forward(o, ranges, undefined), () => {})
    else this.#forward(o, ranges, origin)
  }

  #forward(o: Hosted, ranges: readonly Range<any>[], origin: unknown): void {
    const targets: Session[] = []
    for (const s of this.#sessions) if (s !== origin && s.state === 'ready') targets.push(s)
    // Heartbeats spread as rumors: to `fanout` random peers, who pass them on the same way
    // (anti-entropy catches the rare node a rumor misses). Flooding them to every connection
    // would cost every node a frame per connection per heartbeat.
    if (o.objectId === MEMBERSHIP_OBJECT_ID && targets.length > this.fanout) {
      this.#shuffle(targets)
      targets.length = this.fanout
    }
    for (const s of targets) s.push(o, ranges)
  }

  // ---- membership ----

  // Every member beats once per heartbeat interval; scaling it with the network's size keeps
  // the heartbeats written network-wide per round (and the traffic they cause) constant.
  get #heartbeatInterval(): number {
    if (this.#heartbeatOption !== undefined) return this.#heartbeatOption
    const members = this.#membership === undefined ? 1 : this.#peers.size + 1
    return this.interval * Math.max(5, Math.ceil(members / 5))
  }

  get #suspectAfter(): number {
    return this.#suspectOption ?? 4 * this.#heartbeatInterval
  }

  #beat(): void {
    // Jitter the next beat (0.5..1.5 × the interval, same mean) so nodes started together do
    // not beat in phase and flood the network in bursts.
    this.#nextBeat = this.#now() + this.#heartbeatInterval * (0.5 + this.#rand())
    this.#membership.beat(this.#options.advertise ?? this.#addresses)
  }

  #onMember(m: Member): void {
    if (m.id === this.#id) return
    const now = this.#now()
    const p = this.#peers.get(m.id)
    if (p === undefined) {
      this.#peers.set(m.id, { lastHeard: now, suspected: false, lastSync: undefined })
      return
    }
    this.#heard(m.id, p, now)
  }

  #heard(peerId: string, p: PeerInfo, at: number): void {
    if (at > p.lastHeard) p.lastHeard = at
    if (p.suspected && this.#now() - p.lastHeard <= this.#suspectAfter) {
      p.suspected = false
      this.#log('info', 'peer recovered', { peer: peerId })
      this.emit('peer-recovered', peerId)
    }
  }

  #peer(peerId: string): PeerInfo {
    let p = this.#peers.get(peerId)
    if (p === undefined) this.#peers.set(peerId, (p = { lastHeard: this.#now(), suspected: false, lastSync: undefined }))
    return p
  }

  // ---- connections ----

  /**
   * Listens on `url` (`mem://name`, `tcp://host:port`, `ws://host:port`) with the transport
   * registered for its scheme, and announces the address in the membership.
   * @returns the address peers can use (with the real port when 0 was asked for).
   * @throws HearsayError `HEARSAY_NOT_SUPPORTED` for a scheme with no transport, or what the transport throws.
   */
  async listen(url: string): Promise<string> {
    const t = this.#transportFor(url)
    await this.start()
    const listener = await t.listen(url, (c) => this.#attach(c, false, undefined))
    if (this.#closed) {
      await listener.close()
      throw new HearsayError(ErrorCodes.NOT_OPEN, 'node is closed')
    }
    this.#listeners.push(listener)
    this.#addresses.push(listener.url)
    this.#beat()
    return listener.url
  }

  /**
   * Connects to a peer and keeps the connection: when it drops, the node reconnects with
   * exponential backoff and jitter until {@link disconnect} or {@link close}.
   * @returns the peer's node id once it authenticated.
   * @throws HearsayError when the first attempt fails (`HEARSAY_TRANSPORT_ERROR`, `HEARSAY_AUTH_FAILED`, ...); the node keeps retrying in the background.
   */
  async connect(url: string): Promise<string> {
    this.#transportFor(url)
    await this.start()
    let pin = this.#pinned.get(url)
    if (pin === undefined) this.#pinned.set(url, (pin = { peerId: undefined, waiters: [] }))
    const live = [...this.#sessions].find((s) => s.url === url && s.state === 'ready')
    if (live !== undefined) return live.peerId!
    const result = new Promise<string>((resolve, reject) => pin!.waiters.push({ resolve, reject }))
    if (!this.#dialing.has(url)) void this.#dial(url)
    return result
  }

  /** Stops keeping a connection made with {@link connect} and closes it. */
  disconnect(url: string): void {
    const pin = this.#pinned.get(url)
    this.#pinned.delete(url)
    for (const w of pin?.waiters ?? []) w.reject(new HearsayError(ErrorCodes.NOT_OPEN, `disconnected from ${url}`))
    for (const s of this.#sessions) if (s.url === url) s.close()
  }

  #settlePin(url: string | undefined, result: { id: string } | { error: Error }): void {
    if (url === undefined) return
    const pin = this.#pinned.get(url)
    if (pin === undefined) return
    if ('id' in result) pin.peerId = result.id
    for (const w of pin.waiters.splice(0)) {
      if ('id' in result) w.resolve(result.id)
      else w.reject(result.error)
    }
  }

  async #dial(url: string): Promise<void> {
    if (this.#closed || this.#dialing.has(url)) return
    this.#dialing.add(url)
    let conn: Connection
    try {
      conn = await this.#transportFor(url).connect(url)
    } catch (err) {
      this.#dialing.delete(url)
      this.#failed(url)
      const e = isHearsayError(err) ? err : new HearsayError(ErrorCodes.TRANSPORT_ERROR, `cannot connect to ${url}: ${(err as Error)?.message ?? err}`, { cause: err })
      this.#log('debug', 'connect failed', { url, message: e.message })
      this.#settlePin(url, { error: e })
      return
    }
    this.#dialing.delete(url)
    if (this.#closed) {
      conn.close()
      return
    }
    this.#attach(conn, true, url)
  }

  #failed(url: string): void {
    let d = this.#dials.get(url)
    if (d === undefined) this.#dials.set(url, (d = { failures: 0, next: 0 }))
    d.failures++
    const delay = Math.min(this.#maxBackoff, this.#backoff * 2 ** Math.min(d.failures - 1, 30))
    // Full jitter on the upper half keeps peers that failed together from retrying together.
    d.next = this.#now() + delay * (0.5 + this.#rand() / 2)
  }

  #canDial(url: string): boolean {
    if (this.#dialing.has(url)) return false
    const d = this.#dials.get(url)
    return d === undefined || this.#now() >= d.next
  }

  #attach(conn: Connection, dialed: boolean, url: string | undefined): void {
    if (this.#closed) {
      conn.close()
      return
    }
    this.#sessions.add(new Session(this.#host, conn, dialed, url, this.#authTimeout))
  }

  #makeHost(): SessionHost {
    const node = this
    return {
      get nodeId() {
        return node.#id!
      },
      key: this.#key,
      maxFrame: this.maxFrame,
      maxSendBuffer: this.maxSendBuffer,
      index: this.#index,
      now: () => this.#now(),
      nonce: () => this.#nonce(),
      setTimer: (fn, ms) => this.#timers.setTimeout(fn, ms),
      clearTimer: (h) => this.#timers.clearTimeout(h),
      object: (id) => this.#objects.get(id),
      createReplica: (typeId) => createReplica(typeId, this.#replicaOptions()),
      adopt: (objectId, replica) => {
        const hosted = this.#hostReplica(objectId, replica)
        this.emit('object', objectId, replica)
        return hosted
      },
      whenDurable: (id) => this.#persister.whenDurable(id),
      isDurable: (id) => this.#persister.isDurable(id),
      ready: (s) => this.#ready(s),
      closed: (s, reason) => this.#sessionClosed(s, reason),
      report: (err, s) => this.#report(err, s.peerId),
      synced: (s, inSync) => {
        if (s.peerId === undefined) return
        const p = this.#peer(s.peerId)
        p.lastSync = s.lastSync
        this.#heard(s.peerId, p, s.lastHeard)
        if (inSync) this.#recordInSync(s.peerId)
        this.emit('sync', s.peerId, inSync)
      },
      applied: (n) => {
        this.#updatesApplied += n
      },
      peerVectors: (s, entries) => this.#recordVectors(s.peerId!, entries),
    }
  }

  #report(err: HearsayError, peerId: string | undefined): void {
    this.#log('warn', 'peer error', { peer: peerId, code: err.code, message: err.message })
    if (this.listenerCount('peer-error') > 0) this.emit('peer-error', err, peerId)
  }

  #ready(s: Session): void {
    const peerId = s.peerId!
    if (peerId === this.#id) {
      // We dialed ourselves (our own address came back through the membership).
      if (s.url !== undefined) this.#pinned.delete(s.url)
      this.#dials.set(s.url ?? '', { failures: 0, next: Infinity })
      s.close()
      return
    }
    const other = [...this.#sessions].find((x) => x !== s && x.state === 'ready' && x.peerId === peerId)
    if (other !== undefined) {
      // Two connections between the same nodes. Dialed from both ends: both sides keep the one
      // dialed by the smaller id. Dialed twice from one end: that end keeps the newer (the older
      // may be a half-open link from before a restart) and the other end waits for its close.
      const dialer = (x: Session) => (x.dialed ? this.#id! : peerId)
      const drop = dialer(s) !== dialer(other) ? (dialer(s) < dialer(other) ? other : s) : s.dialed ? other : undefined
      if (drop !== undefined) {
        if (drop.url !== undefined) this.#settlePin(drop.url, { id: peerId })
        drop.close()
        if (drop === s) return
      }
    }
    if (s.url !== undefined) {
      this.#dials.delete(s.url)
      this.#settlePin(s.url, { id: peerId })
    }
    const p = this.#peer(peerId)
    this.#heard(peerId, p, this.#now())
    if (other === undefined) {
      this.#log('info', 'peer connected', { peer: peerId, address: s.connection.remoteAddress })
      this.emit('peer-connected', peerId, s.connection.remoteAddress)
    }
    // The dialing side opens with a round so a new connection syncs at once.
    if (s.dialed) s.startRound(true)
  }

  #sessionClosed(s: Session, reason: Error | undefined): void {
    this.#sessions.delete(s)
    this.#closedBytes.in += s.stats.bytesIn
    this.#closedBytes.out += s.stats.bytesOut
    if (s.url !== undefined && !this.#closed) {
      if (s.peerId === undefined || reason !== undefined) this.#failed(s.url)
      if (reason !== undefined) this.#settlePin(s.url, { error: reason })
    }
    if (s.peerId !== undefined && s.peerId !== this.#id) {
      const stillConnected = [...this.#sessions].some((x) => x.peerId === s.peerId && x.state === 'ready')
      if (!stillConnected && s.readyAt !== undefined) {
        this.#log('info', 'peer disconnected', { peer: s.peerId, reason: reason?.message })
        this.emit('peer-disconnected', s.peerId, reason)
      }
    }
  }

  // ---- rounds ----

  #schedule(): void {
    if (this.#closed) return
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = undefined
      try {
        this.#tick()
      } catch (err) {
        this.#log('error', 'gossip round failed', { error: String((err as Error)?.stack ?? err) })
      }
      this.#schedule()
    }, this.interval)
  }

  #tick(): void {
    if (this.#closed) return
    this.#rounds++
    const now = this.#now()
    if (now >= this.#nextBeat) this.#beat()
    const ready = [...this.#sessions].filter((s) => s.state === 'ready')
    const byPeer = new Map<string, Session>()
    for (const s of ready) {
      byPeer.set(s.peerId!, s)
      this.#heard(s.peerId!, this.#peer(s.peerId!), s.lastHeard)
    }
    for (const [id, p] of this.#peers) {
      if (!p.suspected && !byPeer.has(id) && now - p.lastHeard > this.#suspectAfter) {
        p.suspected = true
        this.#log('info', 'peer suspected', { peer: id })
        this.emit('peer-suspected', id)
      }
    }
    // Connections asked for with connect(): redial when down, respecting the backoff.
    for (const [url, pin] of this.#pinned) {
      if ([...this.#sessions].some((s) => s.url === url)) continue
      if (pin.peerId !== undefined && byPeer.has(pin.peerId)) continue
      if (this.#canDial(url)) void this.#dial(url)
    }
    // Anti-entropy with `fanout` live peers, those not synced for an interval first. A pick we
    // are not connected to is dialed (while under maxConnections); one we cannot dial is skipped.
    const full = this.#sessions.size >= this.#maxConnections
    const stale: string[] = []
    const fresh: string[] = []
    const consider = (id: string, p: PeerInfo | undefined): void => {
      if (p?.suspected || id === this.#id) return
      if (!byPeer.has(id) && full) return
      const last = p?.lastSync
      ;(last === undefined || now - last >= this.interval ? stale : fresh).push(id)
    }
    for (const [id, p] of this.#peers) consider(id, p)
    for (const id of byPeer.keys()) if (!this.#peers.has(id)) consider(id, undefined)
    this.#shuffle(stale)
    this.#shuffle(fresh)
    let picked = 0
    for (const id of [...stale, ...fresh]) {
      if (picked >= this.fanout) break
      const s = byPeer.get(id)
      if (s !== undefined) {
        s.startRound()
        picked++
        continue
      }
      const url = this.#dialable(id)
      if (url === undefined) continue
      void this.#dial(url)
      picked++
    }
    if (this.#rounds % 10 === 0 && this.#seenDirty.size > 0) void this.#saveSeen()
  }

  #dialable(peerId: string): string | undefined {
    const m = this.#membership.get(peerId)
    if (m === undefined) return undefined
    for (const a of m.addresses) {
      let scheme: string
      try {
        scheme = schemeOf(a)
      } catch {
        continue
      }
      if (this.#transports.has(scheme) && this.#canDial(a) && ![...this.#sessions].some((s) => s.url === a)) return a
    }
    return undefined
  }

  #shuffle<T>(a: T[]): void {
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(this.#rand() * (i + 1))
      ;[a[i], a[j]] = [a[j]!, a[i]!]
    }
  }

  /** Runs an anti-entropy round with every connected peer now, reconciling any difference at once (besides the periodic rounds). */
  syncNow(): void {
    for (const s of this.#sessions) if (s.state === 'ready') s.startRound(true)
  }

  // ---- digests seen from peers, bundles ----

  #recordVectors(peerId: string, entries: readonly VectorEntry[]): void {
    const seen = this.#seenFor(peerId)
    for (const e of entries) seen.objects.set(e.objectId, { typeId: e.typeId, vector: e.vector.clone() })
    this.#seenDirty.add(peerId)
  }

  // Equal roots mean the peer holds exactly our vectors, but no vectors travel in such a round:
  // record ours as its digest, so status lag and the next bundle start from the truth. Only when
  // our root moved since the last record, so rounds in sync write nothing.
  #recordInSync(peerId: string): void {
    const root = this.#index.root()
    const key = `${root.count}:${Buffer.from(root.hash).toString('hex')}`
    const seen = this.#seenFor(peerId)
    if (seen.inSyncAt === key) return
    seen.inSyncAt = key
    const entries: VectorEntry[] = []
    for (const [objectId, o] of this.#objects) if (o.clock.size > 0) entries.push({ objectId, typeId: o.typeId, vector: o.clock.clone() })
    this.#recordVectors(peerId, entries)
  }

  #seenFor(peerId: string): SeenDigest {
    let s = this.#seen.get(peerId)
    if (s === undefined) this.#seen.set(peerId, (s = { time: 0, objects: new Map() }))
    return s
  }

  // After a restart a round may record vectors for only the objects whose buckets differed, and
  // may do so before (or while) the stored digest is read. So the stored digest is read once per
  // peer and merged into whatever is in memory by then, and no save writes an entry before that
  // merge: a partial entry never replaces the stored one.
  #loadSeen(peerId: string): Promise<SeenDigest> {
    let p = this.#seenLoads.get(peerId)
    if (p === undefined) {
      const load = this.#readSeen(peerId)
      this.#seenLoads.set(peerId, (p = load))
      load.catch(() => {
        if (this.#seenLoads.get(peerId) === load) this.#seenLoads.delete(peerId)
      })
    }
    return p
  }

  async #readSeen(peerId: string): Promise<SeenDigest> {
    const bytes = await this.#store.getMeta(META_PEER_DIGEST + peerId)
    // Taken after the read: a round may have created the entry meanwhile.
    const s = this.#seenFor(peerId)
    if (bytes === undefined) return s
    let time = 0
    let objects: VectorEntry[] = []
    try {
      decodeWith(bytes, (d) => {
        time = readDigestTime(d)
        objects = readDigest(d)
      })
    } catch (err) {
      this.#log('warn', 'stored peer digest unreadable; starting from empty', { peer: peerId, error: String(err) })
      return s
    }
    mergeSeen(s, time, objects)
    return s
  }

  /** Writes the digests recorded since the last save. Saves run one at a time, in call order, and never throw. */
  #saveSeen(): Promise<void> {
    const run = this.#seenSaving.then(() => this.#writeSeen())
    this.#seenSaving = run
    return run
  }

  async #writeSeen(): Promise<void> {
    const ids = [...this.#seenDirty]
    this.#seenDirty.clear()
    for (const id of ids) {
      try {
        // Merge the stored entry in first (a no-op once read): the one in memory may be partial.
        const s = await this.#loadSeen(id)
        const bytes = encodeWith((e) => {
          writeDigestTime(e, s.time)
          writeDigest(e, [...s.objects].map(([objectId, x]) => ({ objectId, typeId: x.typeId, vector: x.vector })))
        })
        await this.#store.putMeta(META_PEER_DIGEST + id, bytes)
      } catch (err) {
        this.#seenDirty.add(id)
        this.#log('error', 'saving a peer digest failed', { peer: id, error: String(err) })
      }
    }
  }

  /** The last digest seen from a peer (through a session or a bundle): object id → vector. */
  async digestSeen(peerId: string): Promise<Map<string, ReadonlyVersionVector>> {
    await this.start()
    const s = await this.#loadSeen(peerId)
    return new Map([...s.objects].map(([id, x]) => [id, x.vector]))
  }

  /**
   * A bundle (the bytes of a file) holding everything peer `for` may lack since the last digest
   * seen from it, or everything when no peer is named, plus this node's digest. Waits until the
   * local writes it carries are durable. Carry it by any means; `importBundle` on the other side.
   */
  async exportBundle(options: { for?: string } = {}): Promise<Uint8Array> {
    await this.start()
    await this.#persister.flush()
    const peer = options.for
    if (peer !== undefined) toReplicaId(peer)
    const seen = peer === undefined ? undefined : await this.#loadSeen(peer)
    // Writes made while we waited must be durable too: the history below is read at once.
    while (this.#persister.backlog > 0) await this.#persister.flush()
    const digest: Array<{ objectId: string; typeId: number; vector: ReadonlyVersionVector }> = []
    const objects: Array<{ objectId: string; typeId: number; ranges: Uint8Array }> = []
    for (const id of this.objectIds()) {
      const o = this.#objects.get(id)!
      if (o.clock.size === 0) continue
      digest.push({ objectId: id, typeId: o.typeId, vector: o.clock })
      const theirs = seen?.objects.get(id)
      if (theirs !== undefined && theirs.typeId !== o.typeId) continue
      const since = theirs?.vector ?? new VersionVector()
      const cmp = o.clock.compare(since)
      if (cmp !== 'after' && cmp !== 'concurrent') continue
      objects.push({ objectId: id, typeId: o.typeId, ranges: o.replica.encodeRanges(o.replica.historySince(since)) })
    }
    return encodeBundle(this.#key, { from: this.id, for: peer, time: this.#now(), digest, objects })
  }

  /**
   * Applies a bundle from {@link exportBundle}, in any order relative to other bundles (ranges
   * that arrive early wait in the causal buffer), and records the sender's digest so the next
   * bundle back carries only what it lacks. Objects of unregistered types are skipped and
   * reported as `peer-error`.
   * @throws HearsayError `HEARSAY_AUTH_FAILED` (another network key or altered bytes), `HEARSAY_DECODE_ERROR`.
   */
  async importBundle(bytes: Uint8Array): Promise<ImportResult> {
    await this.start()
    const content = decodeBundle(this.#key, bytes)
    let applied = 0
    let waiting = 0
    for (const x of content.objects) {
      try {
        const have = this.#objects.get(x.objectId)
        if (have !== undefined && have.typeId !== x.typeId) throw new HearsayError(ErrorCodes.TYPE_MISMATCH, `object ${x.objectId} is type ${have.typeId} here; the bundle has type ${x.typeId}`)
        const replica = have?.replica ?? createReplica(x.typeId, this.#replicaOptions())
        let ranges: Range<any>[]
        try {
          ranges = replica.decodeRanges(x.ranges)
        } catch (err) {
          if (have === undefined) replica.dispose()
          throw err
        }
        if (have === undefined) {
          this.#hostReplica(x.objectId, replica)
          this.emit('object', x.objectId, replica)
        }
        const before = replica.pendingCount
        const r = replica.applyRanges(ranges, 'bundle')
        applied += r.applied
        waiting += Math.max(0, replica.pendingCount - before)
      } catch (err) {
        this.#report(isHearsayError(err) ? err : new HearsayError(ErrorCodes.DECODE_ERROR, String(err), { cause: err }), content.from)
      }
    }
    this.#updatesApplied += applied
    if (content.from !== this.#id) {
      const seen = await this.#loadSeen(content.from)
      // Files arrive in any order: an older bundle must not roll back a newer acknowledgement.
      if (content.time >= seen.time) {
        seen.time = content.time
        seen.objects.clear()
        for (const d of content.digest) seen.objects.set(d.objectId, { typeId: d.typeId, vector: d.vector.clone() })
        this.#seenDirty.add(content.from)
        await this.#saveSeen()
      }
    }
    return { from: content.from, objects: content.objects.length, applied, waiting }
  }

  // ---- status ----

  /** A snapshot of peers, objects, traffic and backlogs. */
  status(): NodeStatus {
    const sessions = [...this.#sessions]
    let bytesIn = this.#closedBytes.in
    let bytesOut = this.#closedBytes.out
    let pendingSend = 0
    for (const s of sessions) {
      bytesIn += s.stats.bytesIn
      bytesOut += s.stats.bytesOut
      pendingSend += s.pendingBytes
    }
    const peerIds = new Set<string>([...this.#peers.keys()])
    for (const s of sessions) if (s.state === 'ready' && s.peerId !== this.#id) peerIds.add(s.peerId!)
    const peers: PeerStatus[] = [...peerIds].sort().map((id) => {
      const p = this.#peers.get(id)
      const own = sessions.filter((s) => s.peerId === id && s.state === 'ready')
      return {
        id,
        addresses: this.#membership?.get(id)?.addresses ?? [],
        connected: own.length > 0,
        suspected: p?.suspected ?? false,
        lastSync: p?.lastSync,
        lastHeard: p?.lastHeard,
        inSync: own.some((s) => s.inSync),
        bytesIn: own.reduce((n, s) => n + s.stats.bytesIn, 0),
        bytesOut: own.reduce((n, s) => n + s.stats.bytesOut, 0),
        pendingSend: own.reduce((n, s) => n + s.pendingBytes, 0),
      }
    })
    let pendingUpdates = 0
    const objects: ObjectStatus[] = this.objectIds().map((id) => {
      const r = this.#objects.get(id)!.replica
      pendingUpdates += r.pendingCount
      return { id, typeId: r.typeId, typeName: r.typeName, vector: r.clock.toJSON(), pending: r.pendingCount }
    })
    return {
      id: this.#id ?? '',
      addresses: [...this.#addresses],
      peers,
      objects,
      bytesIn,
      bytesOut,
      updatesApplied: this.#updatesApplied,
      pendingUpdates,
      pendingSend,
      pendingStore: this.#persister?.backlog ?? 0,
      rounds: this.#rounds,
    }
  }

  /** Resolves when every batch queued for the store so far is durable (and compactions ran). */
  async flush(): Promise<void> {
    await this.start()
    await this.#persister.idle()
  }
}

/**
 * Merges a stored peer digest into the one in memory: per object the larger vector, source by
 * source (a peer's history only grows, so the larger is the later view, whichever order the two
 * were learned in); an object recorded here with another type keeps the in-memory record (the
 * newer). The vectors in memory are replaced, not changed, since `digestSeen` hands them out.
 */
function mergeSeen(s: SeenDigest, time: number, stored: readonly VectorEntry[]): void {
  s.time = Math.max(s.time, time)
  for (const x of stored) {
    const mine = s.objects.get(x.objectId)
    if (mine === undefined) s.objects.set(x.objectId, { typeId: x.typeId, vector: x.vector.clone() })
    else if (mine.typeId === x.typeId) s.objects.set(x.objectId, { typeId: x.typeId, vector: mine.vector.clone().merge(x.vector) })
  }
}

// Stored peer digest: a format number, the digest's time, then the digest (see PROTOCOL.md).
function writeDigestTime(e: encoding.Encoder, time: number): void {
  encoding.writeVarUint(e, 1)
  encoding.writeVarUint(e, Math.max(0, Math.floor(time)))
}

function readDigestTime(d: decoding.Decoder): number {
  const at = d.pos
  const v = readSafeUint(d)
  if (v !== 1) throw new HearsayError(ErrorCodes.PROTOCOL_VERSION, `stored peer digest format ${v}`, { offset: at })
  return readSafeUint(d)
}
