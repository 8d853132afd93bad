import * as decoding from 'lib0/decoding'
import {
  bytesEqual,
  ErrorCodes,
  HearsayError,
  VersionVector,
  PeerLink,
  UPDATES_PER_FRAME,
  splitRanges,
  type Range,
  type ReadonlyVersionVector,
  type Replicated,
} from '@hearsay/core'
import { entryHash, objectKey } from './DigestIndex.js'
import { idMatchesStatic, isKeyBoundId, nodeIdFromPublicKey } from './secure/keys.js'
import type { SecureConnection } from './secure/SecureConnection.js'
import {
  GossipKind,
  MAX_PREFIX_DEPTH,
  RootFlags,
  buildFrame,
  readGossipMessage,
  writeHelloMessage,
  writeNodesMessage,
  writeRangesHead,
  writeRefuseMessage,
  writeRootMessage,
  writeVectorsMessage,
  writeContentsMessage,
  writeStateMessage,
  CONTENT_ENTRY_HASH_BYTES,
  type ContentEntry,
  type BucketSummary,
  type GossipMessage,
  type VectorEntry,
} from './messages.js'
import type { HostedObject, ObjectHost } from './ObjectHost.js'
import type { SyncBudget } from './Budget.js'
import type { SignedHost } from './signed/SignedHost.js'
import type { SignedBatch } from './signed/signedBatch.js'
import type { Timers } from './options.js'

/** Buckets holding at most this many objects (on either side) are listed object by object instead of split further. */
export const LEAF_OBJECTS = 16

/**
 * A periodic round on a link whose last root exchange was equal carries the content root once
 * every this many rounds (and every `syncNow()` round does): equal vectors over different
 * content are found within about this many intervals.
 */
export const CONTENT_CHECK_EVERY = 10

/**
 * Most periodic rounds in a row a difference waits while the peer's root keeps moving (see
 * `#deferAgain`): a difference that live pushes do not resolve is reconciled within this many
 * rounds plus one.
 */
export const MAX_DEFERRALS = 4

/** Bad frames tolerated from one peer before the connection is dropped. */
const MAX_BAD_FRAMES = 16

/**
 * On a link that may lose or reorder frames (datagrams, the simulator's lossy links): frames
 * that overtook the peer's hello are held, at most this many and {@link MAX_EARLY_BYTES}, and
 * read once it arrives (more are dropped, as the link might have); and the hello is sent again
 * every {@link HELLO_RETRY_MS} until a frame shows the peer read it. Without this, a reordered
 * first round refused the session and a lost hello cost the whole auth timeout.
 */
const MAX_EARLY_FRAMES = 16
const MAX_EARLY_BYTES = 1 << 20
const HELLO_RETRY_MS = 1000

/** Where a session reports to its node. */
export interface SessionEvents {
  /** The peer authenticated. */
  ready(session: Session): void
  closed(session: Session, reason: Error | undefined): void
  /** Bad input from the peer, or a frame that could not be sent. */
  report(err: HearsayError, session: Session): void
  /** A root digest exchange or a reconciliation step happened; `inSync` when the roots were equal. */
  synced(session: Session, inSync: boolean): void
  /** Updates from the peer took effect. */
  applied(count: number): void
  /** The peer sent its vectors of these objects. */
  peerVectors(session: Session, entries: readonly VectorEntry[]): void
  /** These objects have equal vectors here and at the peer but different content. */
  contentMismatch(session: Session, objectIds: readonly string[]): void
  /** This node took the peer's state of an object whose content differed (the repair). */
  contentRepaired(session: Session, objectId: string): void
}

/** What a session needs from its node. */
export interface SessionHost {
  /** This node's id, sent in the hello. */
  readonly nodeId: string
  /** Refuse a peer whose id is not the one bound to its static key ({@link nodeIdFromPublicKey}). */
  readonly requireBoundIds: boolean
  /** Sees every plaintext frame of the session (a debugging and test tap). */
  readonly inspect?: ((dir: 'in' | 'out', frame: Uint8Array, session: Session) => void) | undefined
  readonly maxFrame: number
  readonly maxSendBuffer: number
  now(): number
  readonly timers: Timers
  /** The hosted objects: the digest index, the replicas, objects peers bring, durability. */
  readonly objects: ObjectHost
  /** The signed objects: their segments replace ranges on this link. */
  readonly signed: SignedHost
  /** Takes one of the peer's new-object tokens; false when it spent its budget (see `NodeOptions.newObjectsPerPeer`). */
  admitNewObject(peerId: string): boolean
  readonly events: SessionEvents
}

type Work = Iterator<Uint8Array>

/**
 * One connection to a peer, speaking the gossip session protocol (see PROTOCOL.md) over a
 * {@link SecureConnection}: once its Noise handshake is complete, a hello each way (protocol
 * version and node id; an id bound to a key must match the peer's static key), then root digest, bucket summaries, per-object vectors and ranges, plus
 * live ranges pushed by the node. Bad frames are reported and dropped, never thrown.
 * Outgoing frames go through a bounded queue: a peer that stops reading is disconnected with
 * `HEARSAY_BACKPRESSURE`; history is encoded lazily, only as the connection drains.
 */
export class Session {
  readonly connection: SecureConnection
  /** True when this node dialed the connection. */
  readonly dialed: boolean
  /** The address dialed, when this node dialed. */
  readonly url: string | undefined
  state: 'hello' | 'ready' | 'closed' = 'hello'
  peerId: string | undefined
  /** When the last root digest exchange with the peer happened (node clock, ms). */
  lastSync: number | undefined
  /** Whether the last root digest exchange found both sides equal. */
  inSync = false
  /** When the peer authenticated (node clock, ms). */
  readyAt: number | undefined
  /** When a frame last arrived. */
  lastHeard: number
  readonly stats = { bytesIn: 0, bytesOut: 0, framesIn: 0, framesOut: 0, rounds: 0, badFrames: 0, objectsDeferred: 0 }
  /** Set on a session of `Node.sync`: its history goes oldest first within this byte budget, and it sends no live pushes. */
  budget: SyncBudget | undefined
  /** Why the session closed, when it closed on an error. */
  closeReason: Error | undefined
  readonly #host: SessionHost
  #authTimer: unknown
  /** Unordered links: frames held until the peer's hello (see MAX_EARLY_FRAMES), and the hello resend timer. */
  #early: Uint8Array[] | undefined
  #earlyBytes = 0
  #helloTimer: unknown
  /** What the peer is known to hold, per object (its vectors, ranges it sent, ranges we sent), and the live outbox. */
  readonly #link = new PeerLink<any>((objectId, chunk) => this.#sendChunk(objectId, chunk))
  #queue: Uint8Array[] = []
  #queued = 0
  #work: Work[] = []
  /** The last root exchange on this link found the roots different and deferred reconciling. */
  #differed = false
  /** Periodic rounds deferred in a row, and the peer's root at the last of them. */
  #deferrals = 0
  #deferredRoot: { count: number; hash: Uint8Array } | undefined
  /** Objects whose state this node expects from the peer, after a content mismatch. */
  readonly #awaitingState = new Set<string>()
  #onFrame = (f: Uint8Array) => this.#receive(f)
  #onClose = (err?: Error) => {
    // The channel refused the peer (handshake failed, timed out, a frame failed authentication).
    if (this.state === 'hello' && err instanceof HearsayError) this.#host.events.report(err, this)
    this.#closed(err)
  }
  #onDrain = () => this.#pump()

  constructor(host: SessionHost, connection: SecureConnection, dialed: boolean, url: string | undefined, authTimeout: number) {
    this.#host = host
    this.connection = connection
    this.dialed = dialed
    this.url = url
    this.lastHeard = host.now()
    connection.on('frame', this.#onFrame)
    connection.on('close', this.#onClose)
    connection.on('drain', this.#onDrain)
    this.#authTimer = host.timers.setTimeout(() => {
      this.#authTimer = undefined
      if (this.state === 'hello') this.close(new HearsayError(ErrorCodes.TIMEOUT, `peer ${connection.remoteAddress} did not authenticate in ${authTimeout} ms`))
    }, authTimeout)
    const hello = () => {
      this.#sendNow(buildFrame((e) => writeHelloMessage(e, host.nodeId)))
      if (!connection.ordered) this.#retryHello()
    }
    if (connection.secure) hello()
    else connection.once('secure', hello)
  }

  /** Frames and work waiting to be written. */
  get pendingBytes(): number {
    return this.#queued + this.connection.bufferedBytes
  }

  /** True when nothing waits to be sent: no queued frame, no history to encode, nothing in the connection's buffer. */
  get idle(): boolean {
    return this.#queue.length === 0 && this.#work.length === 0 && this.connection.bufferedBytes === 0
  }

  /**
   * Closes the connection. Frames already queued still go out (a refusal reaches the peer)
   * unless the reason is backpressure or an oversized frame, which close at once.
   */
  close(reason?: Error): void {
    if (this.state === 'closed') return
    const abrupt = reason instanceof HearsayError && (reason.code === ErrorCodes.BACKPRESSURE || reason.code === ErrorCodes.FRAME_TOO_LARGE)
    this.connection.close(abrupt ? reason : undefined)
    this.#closed(reason)
  }

  // Unordered links: the hello again, until the peer is heard from after it (see HELLO_RETRY_MS).
  #retryHello(): void {
    this.#helloTimer = this.#host.timers.setTimeout(() => {
      this.#helloTimer = undefined
      if (this.state === 'closed') return
      this.#sendNow(buildFrame((e) => writeHelloMessage(e, this.#host.nodeId)))
      this.#retryHello()
    }, HELLO_RETRY_MS)
  }

  #stopHelloRetry(): void {
    if (this.#helloTimer !== undefined) this.#host.timers.clearTimeout(this.#helloTimer)
    this.#helloTimer = undefined
  }

  #closed(reason: Error | undefined): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    this.closeReason = reason
    if (this.#authTimer !== undefined) this.#host.timers.clearTimeout(this.#authTimer)
    this.#authTimer = undefined
    this.#stopHelloRetry()
    this.#early = undefined
    this.#queue = []
    this.#queued = 0
    this.#work = []
    this.connection.off('frame', this.#onFrame)
    this.connection.off('drain', this.#onDrain)
    this.#host.events.closed(this, reason)
  }

  // ---- sending ----

  #sendNow(frame: Uint8Array): void {
    if (!this.connection.isOpen || !this.connection.secure) return
    this.stats.bytesOut += frame.length
    this.stats.framesOut++
    this.#host.inspect?.('out', frame, this)
    this.connection.send(frame)
  }

  /** Queues a frame; drops the peer when the bounded send buffer would overflow. */
  send(frame: Uint8Array): void {
    if (this.state === 'closed') return
    if (frame.length > this.#host.maxFrame) {
      this.#host.events.report(new HearsayError(ErrorCodes.FRAME_TOO_LARGE, `outgoing frame of ${frame.length} bytes exceeds the cap of ${this.#host.maxFrame}; not sent`), this)
      return
    }
    if (this.#queued + this.connection.bufferedBytes + frame.length > this.#host.maxSendBuffer) {
      this.close(new HearsayError(ErrorCodes.BACKPRESSURE, `peer ${this.peerId ?? this.connection.remoteAddress} stopped reading: ${this.#queued + this.connection.bufferedBytes} bytes queued`))
      return
    }
    this.#queue.push(frame)
    this.#queued += frame.length
    this.#pump()
  }

  #pump(): void {
    if (this.state === 'closed') return
    const high = this.#host.maxSendBuffer / 4
    while (this.connection.isOpen && this.connection.bufferedBytes < high) {
      const f = this.#queue.shift()
      if (f !== undefined) {
        this.#queued -= f.length
        this.#sendNow(f)
        continue
      }
      const w = this.#work[0]
      if (w === undefined) break
      const r = w.next()
      if (r.done) this.#work.shift()
      else this.#sendNow(r.value)
    }
    // What is left waits for `drain`: the loop stops with work left only when the connection
    // closed or holds `high` bytes, and a connection holding bytes owes a `drain` (the
    // Connection contract, checked for every transport by the transport suite). No timer: one
    // would only hide a connection that breaks the contract.
  }

  #refuse(code: string, message: string): void {
    this.#sendNow(buildFrame((e) => writeRefuseMessage(e, code, message)))
    this.close(new HearsayError(code === ErrorCodes.AUTH_FAILED ? ErrorCodes.AUTH_FAILED : ErrorCodes.PROTOCOL_VERSION, message))
  }

  // ---- receiving ----

  #receive(frame: Uint8Array): void {
    if (this.state === 'closed') return
    this.stats.bytesIn += frame.length
    this.stats.framesIn++
    this.lastHeard = this.#host.now()
    this.#host.inspect?.('in', frame, this)
    if (frame.length > this.#host.maxFrame) {
      this.close(new HearsayError(ErrorCodes.FRAME_TOO_LARGE, `frame of ${frame.length} bytes exceeds the cap of ${this.#host.maxFrame}`))
      return
    }
    if (!this.connection.ordered) {
      const kind = frame[0]
      if (this.state === 'hello' && kind !== GossipKind.Hello && kind !== GossipKind.Refuse) {
        // Overtook the peer's hello (the channel has authenticated it already): held.
        if ((this.#early ??= []).length < MAX_EARLY_FRAMES && this.#earlyBytes + frame.length <= MAX_EARLY_BYTES) {
          this.#early.push(frame)
          this.#earlyBytes += frame.length
        }
        return
      }
      if (this.state === 'ready' && kind === GossipKind.Hello) return // a resent or duplicated hello
      // Anything but a hello from a ready peer: it read ours.
      if (this.state === 'ready' && this.#helloTimer !== undefined) this.#stopHelloRetry()
    }
    this.#read(frame)
  }

  #read(frame: Uint8Array): void {
    try {
      const d = decoding.createDecoder(frame)
      let msg: GossipMessage
      try {
        msg = readGossipMessage(d)
      } catch (err) {
        if (err instanceof HearsayError) throw err
        throw new HearsayError(ErrorCodes.DECODE_ERROR, `malformed frame: ${(err as Error).message}`, { offset: d.pos, cause: err })
      }
      if (msg.kind !== GossipKind.Ranges && d.pos !== frame.length) throw new HearsayError(ErrorCodes.DECODE_ERROR, `${frame.length - d.pos} trailing bytes`, { offset: d.pos })
      this.#handle(msg)
    } catch (err) {
      const e = err instanceof HearsayError ? err : new HearsayError(ErrorCodes.DECODE_ERROR, String((err as Error)?.message ?? err), { cause: err })
      this.stats.badFrames++
      this.#host.events.report(e, this)
      if (this.state === 'hello' || e.code === ErrorCodes.PROTOCOL_VERSION) {
        if ((this.state as string) !== 'closed') this.#refuse(e.code, e.message)
      } else if (this.stats.badFrames > MAX_BAD_FRAMES) {
        this.close(new HearsayError(ErrorCodes.DECODE_ERROR, `dropped after ${this.stats.badFrames} bad frames`))
      }
    }
  }

  #handle(msg: GossipMessage): void {
    if (msg.kind === GossipKind.Refuse) {
      const err = new HearsayError(msg.code === ErrorCodes.AUTH_FAILED ? ErrorCodes.AUTH_FAILED : ErrorCodes.PROTOCOL_VERSION, `peer refused the session: ${msg.message}`)
      this.#host.events.report(err, this)
      this.close(err)
      return
    }
    if (this.state === 'hello') {
      if (msg.kind === GossipKind.Hello) {
        // The channel authenticated the peer's static key and its knowledge of the network key;
        // the id it claims must be the one bound to that key (when it has that form, or always
        // when the node requires it).
        const remoteStatic = this.connection.remoteStatic!
        if ((isKeyBoundId(msg.nodeId) || this.#host.requireBoundIds) && !idMatchesStatic(msg.nodeId, remoteStatic)) {
          const keyId = nodeIdFromPublicKey(remoteStatic)
          const why = `peer at ${this.connection.remoteAddress} claims node id ${JSON.stringify(msg.nodeId)}, which is not its key's (${keyId})`
          this.#host.events.report(new HearsayError(ErrorCodes.AUTH_FAILED, why), this)
          this.#refuse(ErrorCodes.AUTH_FAILED, 'node id not bound to your key')
          return
        }
        this.peerId = msg.nodeId
        this.state = 'ready'
        this.readyAt = this.#host.now()
        if (this.#authTimer !== undefined) this.#host.timers.clearTimeout(this.#authTimer)
        this.#authTimer = undefined
        this.#host.events.ready(this)
        // Frames that overtook the hello, in the order they came.
        const early = this.#early
        this.#early = undefined
        this.#earlyBytes = 0
        for (const f of early ?? []) if (this.state === 'ready') this.#read(f)
        return
      }
      throw new HearsayError(ErrorCodes.AUTH_FAILED, `message kind ${msg.kind} before authentication`)
    }
    switch (msg.kind) {
      case GossipKind.Root:
        return this.#onRoot(msg.flags, msg.count, msg.hash, msg.content)
      case GossipKind.Contents:
        return this.#onContents(msg.reply, msg.entries)
      case GossipKind.State:
        return this.#onState(msg.objectId, msg.typeId, msg.state)
      case GossipKind.Nodes:
        return this.#onNodes(msg.nodes)
      case GossipKind.Vectors:
        return this.#onVectors(msg.reply, msg.prefixes, msg.entries)
      case GossipKind.Ranges:
        return this.#onRanges(msg.objectId, msg.typeId, msg.decoder)
      case GossipKind.Signed:
        return this.#onSigned(msg.objectId, msg.typeId, msg.batch)
      default:
        throw new HearsayError(ErrorCodes.DECODE_ERROR, `unexpected message kind ${msg.kind} after authentication`)
    }
  }

  // ---- anti-entropy ----

  /**
   * Starts an anti-entropy round: sends our root digest. A periodic round (`now` false) lets a
   * difference seen for the first time wait one round, since it is usually a live push still in
   * flight; a difference seen on two rounds in a row, or any difference when `now` is true, is
   * reconciled at once.
   */
  startRound(now = false): void {
    if (this.state !== 'ready') return
    this.stats.rounds++
    const root = this.#host.objects.index.root()
    // The content check rides on rounds of a link in sync only: while vectors differ, content does too.
    const check = this.inSync && (now || this.stats.rounds % CONTENT_CHECK_EVERY === 0)
    const content = check ? this.#host.objects.contentRoot() : undefined
    this.send(buildFrame((e) => writeRootMessage(e, now ? RootFlags.Now : 0, root.count, root.hash, content)))
  }

  #onRoot(flags: number, count: number, hash: Uint8Array, content: Uint8Array | undefined): void {
    const mine = this.#host.objects.index.root()
    const equal = mine.count === count && bytesEqual(mine.hash, hash)
    this.lastSync = this.#host.now()
    this.inSync = equal
    if (equal && this.budget !== undefined) this.budget.equalRoots++
    this.#host.events.synced(this, equal)
    const answer = (flags & (RootFlags.Equal | RootFlags.Deferred)) !== 0
    if (equal) {
      this.#differed = false
      this.#deferrals = 0
      this.#deferredRoot = undefined
      if (content !== undefined && !answer && !bytesEqual(content, this.#host.objects.contentRoot())) {
        // Equal vectors over different content: list every object's hashes to find which.
        this.inSync = false
        this.#sendContents(false, this.#contentEntries(undefined))
        return
      }
      if (!answer) this.send(buildFrame((e) => writeRootMessage(e, RootFlags.Equal, mine.count, mine.hash)))
      return
    }
    if (answer) {
      // An answer that no longer matches: remember it, so the next round reconciles. (After an
      // Equal answer the difference is our own later writes, already on their way as pushes.)
      if (flags & RootFlags.Deferred) this.#deferred(count, hash)
      return
    }
    if ((flags & RootFlags.Now) === 0 && this.#deferAgain(count, hash)) {
      this.#deferred(count, hash)
      this.send(buildFrame((e) => writeRootMessage(e, RootFlags.Deferred, mine.count, mine.hash)))
      return
    }
    this.#differed = false
    this.#deferrals = 0
    this.#deferredRoot = undefined
    // Few objects, or nothing on one side (no bucket can match): list them at once.
    if (Math.max(count, mine.count) <= LEAF_OBJECTS || Math.min(count, mine.count) === 0) this.#sendVectors(false, [''])
    else this.#sendNodes([''])
  }

  /**
   * Whether a periodic round that found the roots different waits once more instead of
   * reconciling: always the first time (the difference is usually a live push in flight), and
   * again, up to {@link MAX_DEFERRALS} rounds in a row, while the peer's root keeps moving
   * between rounds (pushes are arriving: a hub's leaves during a join storm see a new member
   * every round, and reconciling each time cost a Vectors exchange of one entry per member).
   */
  #deferAgain(count: number, hash: Uint8Array): boolean {
    if (!this.#differed) return true
    const last = this.#deferredRoot
    return this.#deferrals < MAX_DEFERRALS && last !== undefined && (last.count !== count || !bytesEqual(last.hash, hash))
  }

  #deferred(count: number, hash: Uint8Array): void {
    this.#differed = true
    this.#deferrals++
    this.#deferredRoot = { count, hash: hash.slice() }
  }

  #sendNodes(prefixes: readonly string[]): void {
    if (prefixes.length === 0) return
    const nodes = prefixes.map((prefix) => ({ prefix, children: this.#host.objects.index.summarize(prefix) }))
    const frame = buildFrame((e) => writeNodesMessage(e, nodes))
    if (frame.length > this.#host.maxFrame && prefixes.length > 1) {
      // Summaries are independent: split the list.
      const half = Math.ceil(prefixes.length / 2)
      this.#sendNodes(prefixes.slice(0, half))
      this.#sendNodes(prefixes.slice(half))
      return
    }
    this.send(frame)
  }

  #sendVectors(reply: boolean, prefixes: readonly string[]): void {
    if (prefixes.length === 0) return
    const entries: Array<{ objectId: string; typeId: number; vector: ReadonlyVersionVector }> = []
    const seen = new Set<string>()
    for (const p of prefixes) {
      for (const o of this.#host.objects.index.under(p)) {
        if (seen.has(o.objectId)) continue
        seen.add(o.objectId)
        entries.push({ objectId: o.objectId, typeId: o.typeId, vector: o.clock })
      }
    }
    const frame = buildFrame((e) => writeVectorsMessage(e, reply, prefixes, entries))
    if (frame.length > this.#host.maxFrame) {
      // A Vectors message must list everything under its prefixes, so it is split by prefix:
      // halves of the list, then the 16 children of a single prefix.
      if (prefixes.length > 1) {
        const half = Math.ceil(prefixes.length / 2)
        this.#sendVectors(reply, prefixes.slice(0, half))
        this.#sendVectors(reply, prefixes.slice(half))
        return
      }
      const only = prefixes[0]!
      if (only.length < MAX_PREFIX_DEPTH) {
        for (let c = 0; c < 16; c++) this.#sendVectors(reply, [only + c.toString(16)])
        return
      }
    }
    this.send(frame)
  }

  // A reconciliation step counts as a sync with the peer (the roots differed).
  #reconciling(): void {
    this.lastSync = this.#host.now()
    if (this.inSync) this.inSync = false
    this.#host.events.synced(this, false)
  }

  #onNodes(nodes: ReadonlyArray<{ prefix: string; children: readonly BucketSummary[] }>): void {
    this.#reconciling()
    const deeper: string[] = []
    const list: string[] = []
    for (const { prefix, children } of nodes) {
      if (prefix.length >= MAX_PREFIX_DEPTH) continue
      const mine = this.#host.objects.index.summarize(prefix)
      for (let c = 0; c < 16; c++) {
        const t = children[c]!
        const m = mine[c]!
        if (t.count === m.count && bytesEqual(t.hash, m.hash)) continue
        const child = prefix + c.toString(16)
        if (Math.max(t.count, m.count) <= LEAF_OBJECTS || Math.min(t.count, m.count) === 0 || child.length >= MAX_PREFIX_DEPTH) list.push(child)
        else deeper.push(child)
      }
    }
    this.#sendNodes(deeper)
    this.#sendVectors(false, list)
  }

  #onVectors(reply: boolean, prefixes: readonly string[], entries: readonly VectorEntry[]): void {
    this.#reconciling()
    const theirs = new Map<string, VectorEntry>()
    for (const x of entries) {
      const key = objectKey(x.objectId)
      if (prefixes.some((p) => key.startsWith(p))) theirs.set(x.objectId, x)
    }
    this.#host.events.peerVectors(this, [...theirs.values()])
    for (const x of theirs.values()) this.#link.learn(x.objectId, x.vector)
    const mineSeen = new Set<string>()
    for (const p of prefixes) {
      for (const o of this.#host.objects.index.under(p)) {
        if (mineSeen.has(o.objectId)) continue
        mineSeen.add(o.objectId)
        const t = theirs.get(o.objectId)
        if (t !== undefined && t.typeId !== o.typeId) {
          this.#host.events.report(new HearsayError(ErrorCodes.TYPE_MISMATCH, `object ${o.objectId} is type ${o.typeId} here and ${t.typeId} on ${this.peerId}`), this)
          continue
        }
        const since = t?.vector ?? new VersionVector()
        const cmp = o.clock.compare(since)
        if (cmp === 'after' || cmp === 'concurrent') this.sendHistory(o.objectId, since)
      }
    }
    if (!reply) this.#sendVectors(true, prefixes)
  }

  #contentEntries(ids: Iterable<string> | undefined): ContentEntry[] {
    const out: ContentEntry[] = []
    const objects = this.#host.objects
    for (const o of ids === undefined ? objects.entries() : [...ids].map((id) => objects.entry(id))) {
      if (o === undefined || o.clock.size === 0) continue
      out.push({ objectId: o.objectId, vector: entryHash(o.objectId, o.typeId, o.clock), content: objects.contents.of(o) })
    }
    return out
  }

  #sendContents(reply: boolean, entries: readonly ContentEntry[]): void {
    const frame = buildFrame((e) => writeContentsMessage(e, reply, entries))
    if (frame.length > this.#host.maxFrame && entries.length > 1) {
      // Entries are independent: split the list.
      const half = Math.ceil(entries.length / 2)
      this.#sendContents(reply, entries.slice(0, half))
      this.#sendContents(reply, entries.slice(half))
      return
    }
    this.send(frame)
  }

  #onContents(reply: boolean, entries: readonly ContentEntry[]): void {
    const objects = this.#host.objects
    const differ: string[] = []
    for (const x of entries) {
      const o = objects.entry(x.objectId)
      if (o === undefined || o.clock.size === 0) continue
      // A vector that moved on since is the ordinary anti-entropy's business, not a content fault.
      if (!bytesEqual(entryHash(o.objectId, o.typeId, o.clock).subarray(0, CONTENT_ENTRY_HASH_BYTES), x.vector)) continue
      if (bytesEqual(objects.contents.of(o).subarray(0, CONTENT_ENTRY_HASH_BYTES), x.content)) continue
      // A signed object's state is taken only as segments that verify, never as a peer's state.
      if (this.#host.signed.owns(x.objectId)) continue
      differ.push(x.objectId)
    }
    if (differ.length === 0) return
    if (!reply) this.#sendContents(true, this.#contentEntries(differ))
    this.#host.events.contentMismatch(this, differ)
    // Both sides found the same objects; one state must win on both: the smaller node id's.
    const mine = this.#host.nodeId < this.peerId!
    for (const id of differ) {
      if (mine) this.#sendState(id)
      else this.#awaitingState.add(id)
    }
  }

  #sendState(objectId: string): void {
    this.#whenDurable(objectId, (o) => {
      const frame = buildFrame((e) => writeStateMessage(e, objectId, o.typeId, o.replica.encodeState()))
      if (frame.length > this.#host.maxFrame) {
        this.#host.events.report(new HearsayError(ErrorCodes.FRAME_TOO_LARGE, `the state of ${objectId} encodes to ${frame.length} bytes, over the frame cap; its content mismatch stays unrepaired`), this)
        return
      }
      this.send(frame)
    })
  }

  #onState(objectId: string, typeId: number, state: Uint8Array): void {
    if (this.#host.signed.owns(objectId)) throw this.#host.signed.refuseUnsigned(objectId)
    if (!this.#awaitingState.delete(objectId)) throw new HearsayError(ErrorCodes.DECODE_ERROR, `state of ${objectId} that no content mismatch asked for`)
    const o = this.#host.objects.entry(objectId)
    if (o === undefined || o.typeId !== typeId) return
    const fresh = this.#host.objects.create(typeId)
    try {
      fresh.applyState(state)
    } catch (err) {
      fresh.dispose()
      throw err
    }
    // Taken only over the same vector: if either side moved on, the next check looks again.
    if (fresh.pendingCount !== 0 || fresh.clock.compare(o.clock) !== 'equal') {
      fresh.dispose()
      return
    }
    this.#host.objects.replace(objectId, fresh)
    this.#host.events.contentRepaired(this, objectId)
  }

  /** Sends everything of an object past `since`, once the object's local writes are durable. */
  sendHistory(objectId: string, since: ReadonlyVersionVector): void {
    // A signed object's history is its segments, sent whole (outside any byte budget: a budget
    // cuts ranges, and a cut segment would not verify).
    if (this.#host.signed.owns(objectId)) {
      this.#whenDurable(objectId, (o) => {
        const batch = this.#host.signed.history(objectId, since)
        if (batch !== undefined) this.#sendSigned(objectId, o.typeId, batch)
      })
      return
    }
    if (this.budget !== undefined) return this.#sendBudgeted(objectId, since, this.budget)
    this.#whenDurable(objectId, (o) => {
      const ranges = this.#link.history(objectId, o.replica, since)
      if (ranges.length === 0) return
      this.#work.push(this.#rangeFrames(o, ranges))
      this.#pump()
    })
  }

  #sendBudgeted(objectId: string, since: ReadonlyVersionVector, budget: SyncBudget): void {
    budget.waiting++
    this.#whenDurable(objectId, (o) => {
      budget.waiting--
      const from = budget.since(objectId, since)
      const ranges = this.#link.history(objectId, o.replica, from)
      if (ranges.length === 0) return
      const encode = (chunk: readonly Range<any>[]) => buildFrame((e) => {
        writeRangesHead(e, o.objectId, o.typeId)
        o.replica.writeRanges(e, chunk)
      })
      const tooLarge = (bytes: number) => this.#host.events.report(new HearsayError(ErrorCodes.FRAME_TOO_LARGE, `one update of ${objectId} encodes to ${bytes} bytes, over the frame cap of ${this.#host.maxFrame}; it and the rest of ${objectId} not sent`), this)
      this.#work.push(budget.frames(objectId, ranges, this.#host.maxFrame, encode, tooLarge, { since: from, depsOf: (u) => o.replica.dependencies(u) }))
      this.#pump()
    })
  }

  // Durable before it leaves the node: runs `send` with the object once its queued appends
  // are durable. A local write made while we waited is not durable yet: wait for it too, since
  // what `send` reads then would carry it.
  #whenDurable(objectId: string, send: (o: HostedObject) => void): void {
    const go = (): void => {
      if (this.state !== 'ready') return
      // An object hosted by its index line is loaded first (see ObjectHost.load).
      if (this.#host.objects.get(objectId) === undefined && this.#host.objects.has(objectId)) {
        this.#host.objects.load(objectId).then(go, (err: unknown) => this.#loadFailed(objectId, err))
        return
      }
      if (!this.#host.objects.isDurable(objectId)) {
        this.#host.objects.whenDurable(objectId).then(go, () => {})
        return
      }
      const o = this.#host.objects.get(objectId)
      if (o !== undefined) send(o)
    }
    go()
  }

  *#rangeFrames(o: HostedObject, ranges: readonly Range<any>[]): Generator<Uint8Array> {
    for (const chunk of splitRanges(ranges, UPDATES_PER_FRAME)) yield* this.#encodeChunk(o, chunk)
  }

  *#encodeChunk(o: HostedObject, chunk: readonly Range<any>[]): Generator<Uint8Array> {
    const frame = buildFrame((e) => {
      writeRangesHead(e, o.objectId, o.typeId)
      o.replica.writeRanges(e, chunk)
    })
    if (frame.length <= this.#host.maxFrame) {
      yield frame
      return
    }
    const count = chunk.reduce((n, r) => n + r.updates.length, 0)
    if (count <= 1) {
      this.#host.events.report(new HearsayError(ErrorCodes.FRAME_TOO_LARGE, `one update of ${o.objectId} encodes to ${frame.length} bytes, over the frame cap of ${this.#host.maxFrame}; not sent`), this)
      return
    }
    for (const half of splitRanges(chunk, Math.ceil(count / 2))) yield* this.#encodeChunk(o, half)
  }

  /**
   * Pushes freshly applied ranges of an object, skipping what the peer is known to hold. Pushes
   * made in one tick are joined per object and sent as one frame (split only at the frame cap).
   */
  push(o: HostedObject, ranges: readonly Range<any>[]): void {
    if (this.state !== 'ready' || this.budget !== undefined) return
    this.#link.push(o.objectId, ranges)
  }

  /** Pushes segments of a signed object (held here, so durable), in as few frames as fit; a budgeted session sends no live pushes. */
  pushSigned(objectId: string, typeId: number, batch: SignedBatch): void {
    if (this.budget !== undefined) return
    this.#sendSigned(objectId, typeId, batch)
  }

  #sendSigned(objectId: string, typeId: number, batch: SignedBatch): void {
    if (this.state !== 'ready') return
    const tooLarge = (bytes: number): void => this.#host.events.report(new HearsayError(ErrorCodes.FRAME_TOO_LARGE, `a segment of ${objectId} encodes to ${bytes} bytes, over the frame cap of ${this.#host.maxFrame}; not sent`), this)
    for (const f of this.#host.signed.frames(objectId, typeId, batch, this.#host.maxFrame, tooLarge)) this.send(f)
  }

  #onSigned(objectId: string, typeId: number, batch: SignedBatch): void {
    const signed = this.#host.signed
    if (!signed.owns(objectId)) throw new HearsayError(ErrorCodes.DECODE_ERROR, `signed segments of ${JSON.stringify(objectId.slice(0, 80))}, which is not a signed object's id`)
    const objects = this.#host.objects
    if (objects.get(objectId) === undefined && objects.has(objectId)) {
      // Hosted by its index line: verified and applied once loaded (a refusal is reported then).
      objects.load(objectId).then(
        () => {
          if (this.state !== 'ready') return
          const r = signed.receive(objectId, typeId, batch, this, () => this.#admit(objectId))
          this.#host.events.applied(r.applied)
          if (r.error !== undefined) this.#host.events.report(r.error, this)
        },
        (err: unknown) => this.#loadFailed(objectId, err),
      )
      return
    }
    const r = signed.receive(objectId, typeId, batch, this, () => this.#admit(objectId))
    this.#host.events.applied(r.applied)
    if (r.error !== undefined) throw r.error
  }

  // Takes a new-object token for the peer; past its budget the object waits (reported once).
  #admit(objectId: string): boolean {
    if (this.#host.admitNewObject(this.peerId!)) return true
    if (this.stats.objectsDeferred++ === 0) {
      this.#host.events.report(new HearsayError(ErrorCodes.LIMIT_EXCEEDED, `${this.peerId} brings new objects faster than newObjectsPerPeer allows; ${objectId} and later ones wait`), this)
    }
    return false
  }

  #sendChunk(objectId: string, chunk: readonly Range<any>[]): void {
    if (this.state !== 'ready') return
    const o = this.#host.objects.get(objectId)
    if (o !== undefined) for (const f of this.#encodeChunk(o, chunk)) this.send(f)
  }

  // The store could not give an object hosted by its index line: reported, the round goes on.
  #loadFailed(objectId: string, err: unknown): void {
    const e = err instanceof HearsayError ? err : new HearsayError(ErrorCodes.STORE_ERROR, `could not load ${objectId} from the store: ${String(err)}`, { cause: err })
    this.#host.events.report(e, this)
  }

  // Ranges for an object hosted by its index line: read now (a bad frame fails now), applied once it is loaded.
  #onRangesUnloaded(objectId: string, typeId: number, d: decoding.Decoder): void {
    const reader = this.#host.objects.create(typeId)
    let ranges: Range<any>[]
    try {
      ranges = reader.readRanges(d)
    } catch (err) {
      if (err instanceof HearsayError) throw err
      throw new HearsayError(ErrorCodes.DECODE_ERROR, `malformed ranges: ${(err as Error).message}`, { offset: d.pos, cause: err })
    } finally {
      reader.dispose()
    }
    if (d.pos !== d.arr.length) throw new HearsayError(ErrorCodes.DECODE_ERROR, `${d.arr.length - d.pos} trailing bytes`, { offset: d.pos })
    this.#host.objects.load(objectId).then(
      (o) => {
        if (o === undefined || this.state !== 'ready') return
        this.#host.events.applied(this.#link.receive(objectId, o.replica, ranges, this).applied)
      },
      (err: unknown) => this.#loadFailed(objectId, err),
    )
  }

  #onRanges(objectId: string, typeId: number, d: decoding.Decoder): void {
    // A signed object's updates count only inside segments that verify.
    if (this.#host.signed.owns(objectId)) throw this.#host.signed.refuseUnsigned(objectId)
    let o = this.#host.objects.get(objectId)
    let fresh: Replicated<any> | undefined
    if (o === undefined) {
      const line = this.#host.objects.entry(objectId)
      if (line !== undefined) {
        if (line.typeId !== typeId) throw new HearsayError(ErrorCodes.TYPE_MISMATCH, `object ${objectId} is type ${line.typeId} here; ${this.peerId} sent type ${typeId}`)
        return this.#onRangesUnloaded(objectId, typeId, d)
      }
    }
    if (o !== undefined && o.typeId !== typeId) {
      throw new HearsayError(ErrorCodes.TYPE_MISMATCH, `object ${objectId} is type ${o.typeId} here; ${this.peerId} sent type ${typeId}`)
    }
    // Past the peer's budget of new objects: not taken now (and not a bad frame: a peer
    // syncing a large network legitimately gets here); it is offered again later.
    if (o === undefined && !this.#admit(objectId)) return
    const replica = o?.replica ?? (fresh = this.#host.objects.create(typeId))
    let ranges: Range<any>[]
    try {
      ranges = replica.readRanges(d)
    } catch (err) {
      fresh?.dispose()
      if (err instanceof HearsayError) throw err
      throw new HearsayError(ErrorCodes.DECODE_ERROR, `malformed ranges: ${(err as Error).message}`, { offset: d.pos, cause: err })
    }
    if (d.pos !== d.arr.length) {
      fresh?.dispose()
      throw new HearsayError(ErrorCodes.DECODE_ERROR, `${d.arr.length - d.pos} trailing bytes`, { offset: d.pos })
    }
    if (fresh !== undefined) o = this.#host.objects.adopt(objectId, fresh)
    const result = this.#link.receive(objectId, o!.replica, ranges, this)
    this.#host.events.applied(result.applied)
  }

  /** What the peer is known to hold of an object (for status and tests). */
  knownVector(objectId: string): ReadonlyVersionVector | undefined {
    return this.#link.known(objectId)
  }
}
