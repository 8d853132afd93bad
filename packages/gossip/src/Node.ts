import {
  Emitter,
  ErrorCodes,
  HearsayError,
  MemoryStore,
  MemoryTransport,
  maxUpdateBytesFor,
  UPDATES_PER_FRAME,
  randomBytes,
  registerType,
  toReplicaId,
  type Connection,
  type Range,
  type ReadonlyVersionVector,
  type Replicated,
  type ReplicatedClass,
  type ReplicatedOptions,
  type Store,
  type Transport,
} from '@hearsay/core'
import { Security } from './secure/Security.js'
import { SyncBudget, runSync, type SyncOptions, type SyncResult } from './Budget.js'
import { PeerQuota } from './PeerQuota.js'
import { PeerBandwidth } from './PeerBandwidth.js'
import { exportBundle, importBundle, type BundleExport, type BundleHost, type ImportResult } from './bundle.js'
import { SentBundles } from './SentBundles.js'
import { Dialer } from './Dialer.js'
import { Incarnation } from './Incarnation.js'
import { MEMBERSHIP_OBJECT_ID, Membership, type Member } from './Membership.js'
import { assertObjectId } from './messages.js'
import { ObjectHost, type HostedObject } from './ObjectHost.js'
import { resolveOptions, type Logger, type NodeOptions, type ResolvedOptions, type Timers } from './options.js'
import { PeerTable } from './PeerTable.js'
import { SeenDigests } from './SeenDigests.js'
import { Session, type SessionHost } from './Session.js'
import { readStatus, type NodeStatus } from './status.js'
import { SignedHost } from './signed/SignedHost.js'
import { checkPolicyForId, createWritePolicy, isSignedObjectId, signedObjectId } from './signed/WritePolicy.js'

const META_NODE_ID = 'node-id'
/** Store meta key of the node's static secret key when none was given (see `NodeOptions.identity`). */
const META_IDENTITY = 'node-identity'

/** Options of {@link Node.open}. */
export interface OpenOptions {
  /**
   * Opens a signed object that only these nodes may write (their node ids, each an Ed25519
   * public key; see `signedObjectId`). A name without the signed mark is opened as
   * `signedObjectId(name, createWritePolicy(writers))`; a signed id must certify these writers.
   */
  readonly writers?: readonly string[] | undefined
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
  /** A store write (an append or a compaction) failed. */
  'store-error': (error: unknown) => void
  /**
   * An append failed, so the store is given up on: the writes waiting for it (`flush`) and every
   * later one reject with this error, none of them is sent to peers, and nothing more is
   * written. Close the node; what it had not stored is lost from it (never acknowledged).
   */
  'store-failed': (error: unknown) => void
  /**
   * A peer or a bundle brought updates of this node's own `source` (an earlier incarnation, or
   * its id from before incarnations) that its store did not hold: its history went back (a
   * restored backup, a damaged or wiped store). They were applied like anyone else's; when
   * `source` was the current incarnation, the node moved to a fresh one first. Once per source.
   */
  'history-alarm': (source: string, objectId: string, peerId: string | undefined) => void
  /**
   * An object has equal vectors here and at `peerId` but different content (found by the
   * content check of the in-sync exchange); `repaired` when this node then took the peer's
   * state (the node with the smaller id keeps its own). A repaired object has a new replica:
   * take it from `get(objectId)`, the old one is disposed.
   */
  'content-mismatch': (objectId: string, peerId: string, repaired: boolean) => void
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
  readonly #resolved: ResolvedOptions
  readonly #store: Store
  readonly #security: Security
  readonly #now: () => number
  readonly #timers: Timers
  readonly #random: (() => number) | undefined
  readonly #logger: Logger
  readonly fanout: number
  readonly interval: number
  readonly maxFrame: number
  readonly maxSendBuffer: number
  readonly #objects: ObjectHost
  readonly #signed: SignedHost
  readonly #peers: PeerTable
  readonly #seen: SeenDigests
  readonly #sent: SentBundles
  readonly #dialer: Dialer
  readonly #sessionHost: SessionHost
  readonly #newObjects: PeerQuota
  readonly #bandwidth: PeerBandwidth | undefined
  /** Ready sessions the bandwidth cap watches, with what stops watching. */
  readonly #watched = new Map<Session, () => void>()
  readonly #bundleHost: BundleHost
  #id: string | undefined
  #incarnation: Incarnation | undefined
  readonly #alarmed = new Set<string>()
  #membership: Membership | undefined
  #starting: Promise<void> | undefined
  #closed = false
  #closing: Promise<void> | undefined
  #timer: unknown
  #rounds = 0
  #pool: Uint32Array = new Uint32Array(0)
  #pooled = 0
  #updatesApplied = 0
  #contentMismatches = 0
  #contentRepairs = 0

  /** @throws TypeError on bad options (missing network key, bad numbers). */
  constructor(options: NodeOptions) {
    super()
    if (options === null || typeof options !== 'object') throw new TypeError('options is an object such as { networkKey }')
    this.#options = options
    const o = (this.#resolved = resolveOptions(options))
    this.#store = options.store ?? new MemoryStore()
    this.#now = options.now ?? Date.now
    this.#timers = options.timers ?? { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h) }
    this.#random = options.random
    this.#security = new Security(options, this.#timers, options.random)
    this.#logger = options.logger ?? {}
    this.fanout = o.fanout
    this.interval = o.interval
    this.maxFrame = o.maxFrame
    this.maxSendBuffer = o.maxSendBuffer
    this.#id = o.id
    const log = (level: keyof Logger, message: string, data?: Record<string, unknown>): void => this.#log(level, message, data)
    const now = (): number => this.#now()
    const random = (): number => this.#rand()
    this.#signed = new SignedHost({
      identity: () => this.#security.identity,
      store: this.#store,
      get: (id) => this.#objects.get(id),
      create: (typeId) => this.#objects.create(typeId),
      adopt: (id, replica) => void this.#objects.adopt(id, replica),
      persist: (id, typeId, ranges, encode) => this.#objects.persister.append(id, typeId, ranges, encode),
      // A segment and its frame header fit one frame.
      limits: { updates: UPDATES_PER_FRAME, bytes: Math.floor(this.maxFrame / 2) },
      sealDelay: o.sealDelay,
      timers: this.#timers,
      forward: (id, typeId, batch, origin) => {
        for (const s of this.#dialer.sessions) if (s !== origin && s.state === 'ready') s.pushSigned(id, typeId, batch)
      },
      log,
    })
    this.#objects = new ObjectHost({
      signed: this.#signed,
      store: this.#store,
      compaction: options.compaction,
      replicaOptions: () => this.#replicaOptions(),
      log,
      storeError: (err) => {
        this.#log('error', 'store write failed', { error: String(err) })
        if (this.listenerCount('store-error') > 0) this.emit('store-error', err)
      },
      storeFailed: (err) => this.emit('store-failed', err),
      forward: (object, ranges, origin) => this.#forward(object, ranges, origin),
      adopted: (objectId, replica) => this.emit('object', objectId, replica),
    })
    this.#peers = new PeerTable({
      interval: this.interval,
      heartbeatInterval: o.heartbeatInterval,
      suspectAfter: o.suspectAfter,
      now,
      random,
      log,
      suspected: (id) => this.emit('peer-suspected', id),
      recovered: (id) => this.emit('peer-recovered', id),
    })
    this.#seen = new SeenDigests(this.#store, log)
    this.#sent = new SentBundles(this.#store, log)
    this.#dialer = new Dialer({
      backoff: o.backoff,
      maxBackoff: o.maxBackoff,
      maxConnections: o.maxConnections,
      now,
      random,
      log,
      session: (conn, dialed, url, listener, ordered) => this.#session(conn, dialed, url, listener, ordered),
    })
    this.#newObjects = new PeerQuota(o.newObjectsPerPeer, () => this.#now())
    this.#bandwidth = o.bytesPerPeer && new PeerBandwidth(o.bytesPerPeer, () => this.#now(), this.#timers)
    this.#sessionHost = this.#makeSessionHost()
    this.#bundleHost = this.#makeBundleHost()
    this.use(new MemoryTransport({ maxFrame: this.maxFrame, maxSendBuffer: this.maxSendBuffer }))
    for (const t of options.transports ?? []) this.use(t)
  }

  /** The node id. @throws HearsayError `HEARSAY_NOT_OPEN` before {@link start} resolved when no id was given. */
  get id(): string {
    if (this.#id === undefined) throw new HearsayError(ErrorCodes.NOT_OPEN, 'the node id is known once start() resolved')
    return this.#id
  }

  /**
   * The source this node's replicas write under now: a fresh incarnation of its id on every
   * start (`<id>.<n>.<random>`, see PROTOCOL.md §6), so that no (source, seq) is ever reused
   * after a restored backup or a lost store.
   * @throws HearsayError `HEARSAY_NOT_OPEN` before {@link start} resolved.
   */
  get source(): string {
    if (this.#incarnation === undefined) throw new HearsayError(ErrorCodes.NOT_OPEN, 'the source is known once start() resolved')
    return this.#incarnation.source
  }

  /** Addresses this node listens on. */
  get addresses(): readonly string[] {
    return this.#dialer.addresses
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
    this.#dialer.use(transport)
    return this
  }

  #log(level: keyof Logger, message: string, data?: Record<string, unknown>): void {
    this.#logger[level]?.({ node: this.#id, ...data }, message)
  }

  #rand(): number {
    if (this.#random !== undefined) return this.#random()
    // Drawn from a pool refilled 1,024 numbers at a time: one crypto call per number made a
    // round's peer selection and every rumor cost a system call per connection.
    if (this.#pooled >= this.#pool.length) {
      this.#pool = new Uint32Array(randomBytes(4096).buffer)
      this.#pooled = 0
    }
    return this.#pool[this.#pooled++]! / 2 ** 32
  }

  #replicaOptions(): ReplicatedOptions {
    const o: ReplicatedOptions = { id: this.#incarnation!.source, now: this.#now }
    if (this.#options.maxPending !== undefined) o.maxPending = this.#options.maxPending
    if (this.#options.maxDrift !== undefined) o.maxDrift = this.#options.maxDrift
    // A local write must fit what this node's sessions carry in one frame.
    o.maxUpdateBytes = maxUpdateBytesFor(this.maxFrame, this.maxSendBuffer)
    return o
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
    const key = this.#security.restore(await this.#store.getMeta(META_IDENTITY))
    if (key !== undefined) await this.#store.putMeta(META_IDENTITY, key)
    if (this.#id === undefined) this.#id = toReplicaId(this.#security.nodeId(undefined, savedId || undefined))
    if (savedId !== this.#id) await this.#store.putMeta(META_NODE_ID, new TextEncoder().encode(this.#id))
    // Recorded before any replica exists, so before anything is written under it.
    this.#incarnation = await Incarnation.begin(this.#store, this.#id, (n) => this.#security.randomBytes(n))
    this.#log('info', 'writing under a fresh incarnation', { source: this.#incarnation.source })
    await this.#objects.restore()
    let membership = (await this.#objects.load(MEMBERSHIP_OBJECT_ID))?.replica
    if (!(membership instanceof Membership)) {
      membership = new Membership(this.#replicaOptions())
      this.#objects.host(MEMBERSHIP_OBJECT_ID, membership)
    }
    const m = (this.#membership = membership as Membership)
    m.on('change', (member: Member) => {
      if (member.id !== this.#id) this.#peers.member(member.id)
    })
    for (const x of m.members()) if (x.id !== this.#id) this.#peers.member(x.id)
    this.#beat()
    this.#schedule()
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
    // Writes still gathering for a signature are signed and stored, not lost.
    if (this.#starting !== undefined) this.#signed.sealPending()
    this.#dialer.halt()
    this.#objects.halt()
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#starting === undefined) return
    try {
      await this.#starting
    } catch {
      return
    }
    await this.#dialer.close()
    try {
      await this.#objects.saveIndex()
      await this.#objects.persister.idle()
      await this.#seen.save()
    } catch {
      // The store failed ('store-failed' said so); close what is left.
    }
    this.#objects.close()
    await this.#store.close()
    this.emit('close')
  }

  // ---- objects ----

  /**
   * The replica of object `objectId`, of type `Type`: the one already hosted, else loaded from
   * the store, else created empty. The type is registered (so peers' objects of that type can be
   * created here). Concurrent calls for one id share one replica.
   *
   * With `writers` (or for a signed object's id, `<name>~w1.<policy digest>`) the object is
   * signed: a local write by a node its policy does not name throws `HEARSAY_NOT_PERMITTED`
   * before anything changes; this node's writes leave it as segments signed with its key (one
   * signature per tick of writes); updates from peers and bundles apply only inside segments
   * that verify and whose writer the policy names. A signed id opened without `writers` before
   * its policy arrived from a peer refuses local writes.
   * @throws TypeError on a bad id, bad writers, or a type that is not a replicated class.
   * @throws HearsayError `HEARSAY_TYPE_MISMATCH` when the object exists with another type;
   * `HEARSAY_NOT_PERMITTED` when a signed id does not certify `writers`; `HEARSAY_NOT_OPEN` after close.
   */
  async open<R extends Replicated<any>>(objectId: string, Type: ReplicatedClass<R>, options: OpenOptions = {}): Promise<R> {
    assertObjectId(objectId)
    if (typeof Type !== 'function' || typeof Type.typeId !== 'number') throw new TypeError('Type is a replicated class with a static typeId')
    let id = objectId
    const policy = options.writers === undefined ? undefined : createWritePolicy(options.writers)
    if (policy !== undefined) {
      if (isSignedObjectId(objectId)) checkPolicyForId(objectId, policy)
      else assertObjectId((id = signedObjectId(objectId, policy)))
    }
    registerType(Type)
    await this.start()
    if (this.#closed) throw new HearsayError(ErrorCodes.NOT_OPEN, 'node is closed')
    if (policy !== undefined) this.#signed.declare(id, policy)
    return this.#objects.open(id, Type)
  }

  /**
   * The replica of a loaded object, if any (objects created by peers included). A stored object
   * is loaded on first use (`open`, a peer's ranges or request, a bundle), so after a restart
   * `get` returns undefined for one nothing used yet: `open` it (see {@link objectIds} for
   * every hosted id).
   */
  get(objectId: string): Replicated<any> | undefined {
    return this.#objects.get(objectId)?.replica
  }

  /**
   * The replica of a hosted object, loaded from the store first when nothing used it since the
   * node started (see {@link get}); undefined when the object is not hosted.
   * @throws what the store or decoding throws for an object that cannot be loaded.
   */
  async load(objectId: string): Promise<Replicated<any> | undefined> {
    await this.start()
    if (this.#closed) throw new HearsayError(ErrorCodes.NOT_OPEN, 'node is closed')
    return (await this.#objects.load(objectId))?.replica
  }

  /** Ids of every hosted object, sorted. */
  objectIds(): string[] {
    return this.#objects.ids()
  }

  #forward(o: HostedObject, ranges: readonly Range<any>[], origin: unknown): void {
    if (origin !== undefined) for (const r of ranges) if (this.#incarnation!.owns(r.source)) this.#ownHistoryArrived(o, r, origin)
    const targets: Session[] = []
    for (const s of this.#dialer.sessions) if (s !== origin && s.state === 'ready') targets.push(s)
    // Heartbeats spread as rumors: to `fanout` random peers, who pass them on the same way
    // (anti-entropy catches the rare node a rumor misses). Flooding them to every connection
    // would cost every node a frame per connection per heartbeat.
    if (o.objectId === MEMBERSHIP_OBJECT_ID && targets.length > this.fanout) this.#peers.sample(targets, this.fanout)
    for (const s of targets) s.push(o, ranges)
  }

  // A peer held updates of one of this node's own sources that the node did not: its history
  // went back. They were just applied; writing on under that source would reuse seqs of
  // updates that exist elsewhere, so the current source is left for a fresh one.
  #ownHistoryArrived(o: HostedObject, r: Range<any>, origin: unknown): void {
    const inc = this.#incarnation!
    const current = r.source === inc.source
    if (current) {
      inc.next().catch((err: unknown) => this.#log('warn', 'could not record the new incarnation', { error: String(err) }))
      for (const x of this.#objects.values()) x.replica.reincarnate(inc.source)
    }
    if (this.#alarmed.has(r.source)) return
    this.#alarmed.add(r.source)
    const peerId = origin instanceof Session ? origin.peerId : undefined
    this.#log('warn', 'history went back: a peer held updates of this node\'s own source that its store did not (a restored backup, a damaged or wiped store); received them', {
      source: r.source,
      object: o.objectId,
      seqs: `${r.from + 1}..${r.to}`,
      peer: peerId ?? String(origin),
      ...(current && { now: inc.source }),
    })
    if (this.listenerCount('history-alarm') > 0) this.emit('history-alarm', r.source, o.objectId, peerId)
  }

  // ---- rounds ----

  #beat(): void {
    this.#peers.beaten()
    this.#membership!.beat(this.#options.advertise ?? this.#dialer.addresses, this.#id!)
  }

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
    if (this.#peers.beatDue) this.#beat()
    const byPeer = this.#dialer.readyByPeer()
    for (const s of this.#dialer.sessions) if (s.state === 'ready') this.#peers.heard(s.peerId!, s.lastHeard)
    this.#peers.suspect(byPeer)
    // Connections asked for with connect(): redial when down, respecting the backoff.
    this.#dialer.redialPins(byPeer)
    // Anti-entropy with `fanout` live peers, those not synced for an interval first. A pick we
    // are not connected to is dialed (while under maxConnections); one we cannot dial is skipped.
    let picked = 0
    for (const id of this.#peers.candidates(byPeer, this.#dialer.full, this.#id)) {
      if (picked >= this.fanout) break
      const s = byPeer.get(id)
      if (s !== undefined) {
        s.startRound()
        picked++
        continue
      }
      const url = this.#dialer.dialable(this.#membership!.get(id)?.addresses ?? [])
      if (url === undefined) continue
      void this.#dialer.dial(url)
      picked++
    }
    if (this.#rounds % 10 === 0 && this.#seen.dirty) void this.#seen.save(true)
  }

  /**
   * Syncs once with the peer at `url` over a connection of its own, sending at most
   * `maxBytes` of updates: each object's history the peer lacks goes oldest first (per source
   * in seq order, sources by hybrid time), so whatever arrives the peer applies without gaps;
   * at the first update that does not fit the sync stops, closes the connection and resolves
   * with `stopped: 'budget'`. The next sync starts from the vectors the peer then reports, so
   * it picks up exactly where this one stopped and sends nothing the peer holds; a connection
   * cut midway (`stopped: 'closed'`) loses nothing either. What the peer sends back in the
   * session is not budgeted (it runs its own sync for that). A first update larger than
   * `maxBytes` is sent alone, so the budget is exceeded by at most that one update
   * (`overBudget`) and repeated syncs always progress.
   * @throws RangeError on a `maxBytes` or `timeout` that is not a positive number.
   * @throws HearsayError when no session could be made: `HEARSAY_NOT_SUPPORTED` (no transport for the scheme), `HEARSAY_TRANSPORT_ERROR`, `HEARSAY_AUTH_FAILED`, `HEARSAY_TIMEOUT`, `HEARSAY_NOT_OPEN`.
   */
  async sync(url: string, options: SyncOptions = {}): Promise<SyncResult> {
    const maxBytes = options.maxBytes ?? Infinity
    const timeout = options.timeout ?? 60_000
    if (typeof maxBytes !== 'number' || !(maxBytes > 0)) throw new RangeError(`maxBytes is a positive number of bytes; got ${String(maxBytes)}`)
    if (typeof timeout !== 'number' || !(timeout > 0)) throw new RangeError(`timeout is a positive number of ms; got ${String(timeout)}`)
    this.#dialer.transportFor(url)
    await this.start()
    if (this.#closed) throw new HearsayError(ErrorCodes.NOT_OPEN, 'node is closed')
    const budget = new SyncBudget(maxBytes)
    const s = await this.#dialer.dialOnce(url, (x) => {
      x.budget = budget
    })
    return runSync(s, budget, { now: this.#now, timers: this.#timers, timeout })
  }

  /** Runs an anti-entropy round with every connected peer now, reconciling any difference at once (besides the periodic rounds). */
  syncNow(): void {
    for (const s of this.#dialer.sessions) if (s.state === 'ready') s.startRound(true)
  }

  // ---- connections ----

  /**
   * Listens on `url` (`mem://name`, `tcp://host:port`, `ws://host:port`) with the transport
   * registered for its scheme, and announces the address in the membership.
   * @returns the address peers can use (with the real port when 0 was asked for).
   * @throws HearsayError `HEARSAY_NOT_SUPPORTED` for a scheme with no transport, or what the transport throws.
   */
  async listen(url: string): Promise<string> {
    this.#dialer.transportFor(url)
    await this.start()
    const address = await this.#dialer.listen(url)
    this.#beat()
    return address
  }

  /**
   * Connects to a peer and keeps the connection: when it drops, the node reconnects with
   * exponential backoff and jitter until {@link disconnect} or {@link close}.
   * @returns the peer's node id once it authenticated.
   * @throws HearsayError when the first attempt fails (`HEARSAY_TRANSPORT_ERROR`, `HEARSAY_AUTH_FAILED`, ...); the node keeps retrying in the background.
   */
  async connect(url: string): Promise<string> {
    this.#dialer.transportFor(url)
    await this.start()
    return this.#dialer.connect(url)
  }

  /** Stops keeping a connection made with {@link connect} and closes it. */
  disconnect(url: string): void {
    this.#dialer.disconnect(url)
  }

  #session(conn: Connection, dialed: boolean, url: string | undefined, listener: string | undefined, ordered: boolean): Session | undefined {
    // Transport, then the Noise channel, then the session.
    const secure = this.#security.wrap(conn, dialed, this.maxFrame, listener, ordered)
    return secure && new Session(this.#sessionHost, secure, dialed, url, this.#resolved.authTimeout)
  }

  #makeSessionHost(): SessionHost {
    const node = this
    return {
      get nodeId() {
        return node.#id!
      },
      requireBoundIds: this.#security.requireBoundIds,
      inspect: this.#options.inspect,
      maxFrame: this.maxFrame,
      maxSendBuffer: this.maxSendBuffer,
      now: () => this.#now(),
      timers: this.#timers,
      objects: this.#objects,
      signed: this.#signed,
      admitNewObject: (peerId) => this.#newObjects.take(peerId),
      events: {
        ready: (s) => this.#ready(s),
        closed: (s, reason) => this.#sessionClosed(s, reason),
        report: (err, s) => this.#report(err, s.peerId),
        synced: (s, inSync) => {
          if (s.peerId === undefined) return
          this.#peers.synced(s.peerId, s.lastSync, s.lastHeard)
          if (inSync) this.#recordInSync(s.peerId)
          this.emit('sync', s.peerId, inSync)
        },
        applied: (n) => {
          this.#updatesApplied += n
        },
        peerVectors: (s, entries) => this.#seen.record(s.peerId!, entries),
        contentMismatch: (s, ids) => {
          this.#contentMismatches += ids.length
          this.#log('warn', 'equal vectors over different content', { peer: s.peerId, objects: ids.slice(0, 10).join(' '), count: ids.length, repair: this.#id! < s.peerId! ? 'the peer takes this state' : 'this node takes the peer state' })
          if (this.listenerCount('content-mismatch') > 0) for (const id of ids) this.emit('content-mismatch', id, s.peerId!, false)
        },
        contentRepaired: (s, id) => {
          this.#contentRepairs++
          this.#log('warn', 'took the peer state of an object whose content differed', { peer: s.peerId, object: id })
          if (this.listenerCount('content-mismatch') > 0) this.emit('content-mismatch', id, s.peerId!, true)
        },
      },
    }
  }

  #recordInSync(peerId: string): void {
    const index = this.#objects.index
    this.#seen.recordInSync(peerId, index.root(), index.version, (since) => {
      const entries = []
      for (const o of since === undefined ? this.#objects.entries() : index.changedSince(since)) {
        if (o.clock.size > 0) entries.push({ objectId: o.objectId, typeId: o.typeId, vector: o.clock.clone() })
      }
      return entries
    })
  }

  #report(err: HearsayError, peerId: string | undefined): void {
    this.#log('warn', 'peer error', { peer: peerId, code: err.code, message: err.message })
    if (this.listenerCount('peer-error') > 0) this.emit('peer-error', err, peerId)
  }

  #ready(s: Session): void {
    const verdict = this.#dialer.ready(s, this.#id!)
    if (verdict === 'self' || verdict === 'dropped') return
    const peerId = s.peerId!
    // Counted on the transport's own connection: sealed bytes, as they arrive.
    if (this.#bandwidth !== undefined) this.#watched.set(s, this.#bandwidth.watch(peerId, s.connection.inner))
    this.#peers.heard(peerId, this.#now())
    if (verdict === 'first') {
      this.#log('info', 'peer connected', { peer: peerId, address: s.connection.remoteAddress })
      this.emit('peer-connected', peerId, s.connection.remoteAddress)
    }
    // The dialing side opens with a round so a new connection syncs at once (a sync's session runs its own).
    if (s.dialed && s.budget === undefined) s.startRound(true)
  }

  #sessionClosed(s: Session, reason: Error | undefined): void {
    this.#watched.get(s)?.()
    this.#watched.delete(s)
    // closed() is true only for a peer with an id (its last live session).
    if (this.#dialer.closed(s, reason, this.#id) && s.peerId !== undefined) {
      this.#log('info', 'peer disconnected', { peer: s.peerId, reason: reason?.message })
      this.emit('peer-disconnected', s.peerId, reason)
    }
  }

  // ---- digests seen from peers, bundles ----

  /** The last digest seen from a peer (through a session or a bundle): object id → vector. */
  async digestSeen(peerId: string): Promise<Map<string, ReadonlyVersionVector>> {
    await this.start()
    return this.#seen.vectors(peerId)
  }

  /**
   * A bundle (the bytes of a file) holding everything peer `for` may lack since the last digest
   * seen from it, or everything when no peer is named, plus this node's digest. Waits until the
   * local writes it carries are durable. Carry it by any means; `importBundle` on the other side.
   * With `maxBytes`, at most that many bytes: see {@link exportBundleReport}.
   */
  async exportBundle(options: { for?: string; maxBytes?: number } = {}): Promise<Uint8Array> {
    return (await this.exportBundleReport(options)).bytes
  }

  /**
   * {@link exportBundle}, with what the bundle carries. With `maxBytes` the file is at most
   * that many bytes: it holds the oldest updates `for` lacks that fit (each object oldest
   * first, per source in seq order), `complete` is false when some were left out, and the
   * next export for the same peer starts where this one stopped (past what bundles for it
   * carried since its last acknowledgement; a bundle back from it resets that to what it holds,
   * so a lost bundle is carried again).
   * @throws RangeError on a `maxBytes` that is not a positive integer; TypeError on a bad peer id.
   * @throws HearsayError `HEARSAY_LIMIT_EXCEEDED` when `maxBytes` cannot hold the header and digest, or the first update to carry.
   */
  async exportBundleReport(options: { for?: string; maxBytes?: number } = {}): Promise<BundleExport> {
    const { maxBytes } = options
    if (maxBytes !== undefined && !(Number.isSafeInteger(maxBytes) && maxBytes > 0)) throw new RangeError(`maxBytes is a positive integer; got ${String(maxBytes)}`)
    await this.start()
    const peer = options.for
    if (peer !== undefined) toReplicaId(peer)
    this.#signed.sealPending()
    return exportBundle(this.#bundleHost, peer, { maxBytes })
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
    const result = await importBundle(this.#bundleHost, bytes)
    this.#updatesApplied += result.applied
    return result
  }

  #makeBundleHost(): BundleHost {
    const node = this
    return {
      get nodeId() {
        return node.#id!
      },
      key: this.#options.networkKey,
      nonce: () => this.#security.randomBytes(24),
      objects: this.#objects,
      signed: this.#signed,
      seen: this.#seen,
      sent: this.#sent,
      now: () => this.#now(),
      report: (err, from) => this.#report(err, from),
    }
  }

  // ---- status ----

  /** A snapshot of peers, objects, traffic and backlogs. */
  status(): NodeStatus {
    return readStatus({
      id: this.#id,
      dialer: this.#dialer,
      peers: this.#peers,
      membership: this.#membership,
      objects: this.#objects,
      updatesApplied: this.#updatesApplied,
      rounds: this.#rounds,
      source: this.#incarnation?.source,
      historyAlarms: this.#alarmed.size,
      contentMismatches: this.#contentMismatches,
      contentRepairs: this.#contentRepairs,
      bandwidth: this.#bandwidth?.stats,
      refused: this.#signed.refused,
    })
  }

  /** Resolves when every batch queued for the store so far is durable (and compactions ran). */
  async flush(): Promise<void> {
    await this.start()
    this.#signed.sealPending()
    await this.#objects.persister.idle()
  }
}
