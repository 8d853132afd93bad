import * as encoding from 'lib0/encoding'
import {
  ErrorCodes,
  HearsayError,
  LOCAL_ORIGIN,
  VersionVector,
  bytesEqual,
  isHearsayError,
  type Range,
  type ReplicaId,
  type ReadonlyVersionVector,
  type Replicated,
  type RestoredSize,
  type Store,
} from '@hearsay/core'
import { writeSignedMessage } from '../messages.js'
import type { NodeIdentity } from '../secure/keys.js'
import { SegmentLog, type SealLimits } from './SegmentLog.js'
import type { Segment } from './segment.js'
import { decodeStoredBatch, encodeStoredBatch, type SignedBatch } from './signedBatch.js'
import { checkPolicyForId, decodeWritePolicy, encodeWritePolicy, isSignedObjectId, mayWrite, nodeIdOfSource, writerKey, type WritePolicy } from './WritePolicy.js'

/** Signed segments and ranges a node refused, by cause (see {@link SignedHost.refused}). */
export interface SignedRefusals {
  /** Unsigned ranges of a signed object, signatures that did not verify, altered bytes. */
  readonly badSignature: number
  /** Writers the object's policy does not name, policies the object id does not certify. */
  readonly notPermitted: number
  /** Signed segments that did not fit their source's chain or did not apply. */
  readonly invalid: number
}

/** The part of a hosted object the signed host needs. */
export interface SignedObject {
  readonly objectId: string
  readonly typeId: number
  readonly replica: Replicated<any>
}

/** What a {@link SignedHost} needs from its node. */
export interface SignedHostOptions {
  /** The node's identity: its Ed25519 key signs the segments of its writes. */
  identity(): NodeIdentity
  /** The store, read when a signed object is loaded. */
  readonly store: Store
  /** The hosted object `objectId`, if any. */
  get(objectId: string): SignedObject | undefined
  /** A fresh replica of a registered type, not hosted. @throws HearsayError `HEARSAY_UNKNOWN_TYPE`. */
  create(typeId: number): Replicated<any>
  /** Hosts a replica a peer or a bundle brought. */
  adopt(objectId: string, replica: Replicated<any>): void
  /**
   * Queues a store batch of the object covering `ranges` (seqs only, for the store's index);
   * `encode` is called once, when the batch is written, and returns its bytes.
   */
  persist(objectId: string, typeId: number, ranges: readonly Range<any>[], encode: () => Uint8Array): Promise<void>
  /** Bounds on one segment, so each fits a frame. */
  readonly limits: SealLimits
  /** Milliseconds local writes gather before they are signed (0: at the end of the tick). */
  readonly sealDelay: number
  readonly timers: { setTimeout(fn: () => void, ms: number): unknown; clearTimeout(handle: unknown): void }
  /** Passes segments now held here on to peers, except the session or bundle they came from. */
  forward(objectId: string, typeId: number, batch: SignedBatch, origin: unknown): void
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string, data?: Record<string, unknown>): void
}

/** What {@link SignedHost.receive} did. */
export interface SignedReceipt {
  /** Updates (seqs) now applied. */
  readonly applied: number
  /** The first refusal among the batch's segments; the others applied or waited. */
  readonly error: HearsayError | undefined
  /** The object was new here and the caller's budget of new objects refused it. */
  readonly deferred: boolean
}

interface Entry {
  policy: WritePolicy | undefined
  policyBytes: Uint8Array | undefined
  log: SegmentLog | undefined
  /** The source whose writes passed the write check (checked once per source, not per write). */
  allowed: string | undefined
  /** Segments applied or sealed and not yet handed to the store. */
  unsaved: Segment[]
  /** The timer (or microtask) that will seal the object's writes, when one is due. */
  sealing: { timer: unknown; object: SignedObject } | undefined
  /** Local writes since the last seal. */
  unsealed: number
  /** Segments that arrived before their predecessor, waiting for it (bounded). */
  waiting: Segment[]
}

/** Most out-of-order segments one object keeps waiting for their predecessors. */
const MAX_WAITING = 256

/**
 * The signed objects of a node (ids of the form `<name>~w1.<policy digest>`, see
 * {@link signedObjectId}): their write policies, their {@link SegmentLog}s, the refusal of
 * local writes by a node the policy does not name, the sealing of this node's writes (one
 * signature per tick of writes, split so each segment fits a frame), their persistence as
 * segments (a restart serves exactly the signed bytes again), and the verification of every
 * segment a peer or a bundle brings before anything of it applies.
 *
 * Guarantees: an update of a signed object reaches a replica here only inside a segment that
 * verified under its source's key, from a writer the object's policy names (or from this
 * node's own permitted writes); unsigned ranges are refused; every refusal is counted in
 * {@link refused}.
 */
export class SignedHost {
  readonly #o: SignedHostOptions
  readonly #entries = new Map<string, Entry>()
  // Logs built while a replica loaded, before it is hosted (a racing open may drop the replica).
  readonly #loaded = new WeakMap<Replicated<any>, SegmentLog>()
  #badSignature = 0
  #notPermitted = 0
  #invalid = 0

  constructor(options: SignedHostOptions) {
    this.#o = options
  }

  /** True when `objectId` is a signed object's id: its updates travel only as signed segments. */
  owns(objectId: string): boolean {
    return isSignedObjectId(objectId)
  }

  /** Refusals so far, by cause. */
  get refused(): SignedRefusals {
    return { badSignature: this.#badSignature, notPermitted: this.#notPermitted, invalid: this.#invalid }
  }

  /**
   * Records the write policy of a signed object this node opens.
   * @throws HearsayError `HEARSAY_NOT_PERMITTED` when the id does not certify the policy.
   */
  declare(objectId: string, policy: WritePolicy): void {
    checkPolicyForId(objectId, policy)
    const e = this.#entry(objectId)
    if (e.policy !== undefined) return
    e.policy = policy
    e.policyBytes = encodeWritePolicy(policy)
    const o = this.#o.get(objectId)
    if (o !== undefined) this.hosted(o)
  }

  /** A signed object is now hosted: guard its writes, bind its log. */
  hosted(o: SignedObject): void {
    const e = this.#entry(o.objectId)
    const { replica } = o
    replica.guardWrites(() => this.#checkWrite(o.objectId, e, replica))
    if (e.log?.replica === replica) return
    const loaded = this.#loaded.get(replica)
    if (loaded !== undefined) {
      e.log = loaded
      this.#loaded.delete(replica)
    } else if (e.policy !== undefined) {
      e.log = new SegmentLog(o.objectId, replica, e.policy)
    }
  }

  /**
   * A hosted signed object applied ranges: this node's own writes are sealed `sealDelay` ms
   * after the first of a batch, or at once when the batch reaches the segment bound.
   */
  applied(o: SignedObject, ranges: readonly Range<any>[], origin: unknown): void {
    if (origin !== LOCAL_ORIGIN) return
    const e = this.#entry(o.objectId)
    for (const r of ranges) e.unsealed += r.updates.length
    if (e.sealing !== undefined) {
      if (e.unsealed >= (this.#o.limits.updates ?? Infinity)) this.#sealNow(e)
      return
    }
    const sealing: { timer: unknown; object: SignedObject } = { timer: undefined, object: o }
    e.sealing = sealing
    const fire = (): void => {
      if (e.sealing !== sealing) return
      e.sealing = undefined
      this.#seal(o, e)
    }
    if (this.#o.sealDelay > 0) sealing.timer = this.#o.timers.setTimeout(fire, this.#o.sealDelay)
    else queueMicrotask(fire)
  }

  /** Seals every signed object's writes still gathering (before a flush, an export, a close). */
  sealPending(): void {
    for (const e of this.#entries.values()) this.#sealNow(e)
  }

  #sealNow(e: Entry): void {
    const s = e.sealing
    if (s === undefined) return
    e.sealing = undefined
    if (s.timer !== undefined) this.#o.timers.clearTimeout(s.timer)
    this.#seal(s.object, e)
  }

  /**
   * Loads a signed object's stored segments into `replica` (before it is hosted), verifying
   * each as if a peer had sent it.
   * @returns what was read, or undefined when the store does not know the object.
   */
  async load(objectId: string, replica: Replicated<any>): Promise<RestoredSize | undefined> {
    const stored = await this.#o.store.load(objectId)
    if (stored === undefined) return undefined
    if (stored.typeId !== replica.typeId) throw new HearsayError(ErrorCodes.TYPE_MISMATCH, `stored object ${objectId} is type ${stored.typeId}, not ${replica.typeName}`)
    let bytes = 0
    let log: SegmentLog | undefined
    const e = this.#entry(objectId)
    for (const b of stored.batches) {
      bytes += b.length
      let batch: SignedBatch
      let policy: WritePolicy
      try {
        batch = decodeStoredBatch(b)
        policy = log?.policy ?? this.#policyOf(objectId, batch.policy)
      } catch (err) {
        // Not a signed batch (bytes of another version, a damaged store): left unread.
        this.#o.log('warn', 'stored batch of a signed object is not a signed batch; skipped', { objectId, error: String(err) })
        continue
      }
      if (log === undefined) {
        if (e.policy === undefined) {
          e.policy = policy
          e.policyBytes = batch.policy
        }
        log = new SegmentLog(objectId, replica, policy)
      }
      for (const s of batch.segments) {
        try {
          log.receive(s)
        } catch (err) {
          this.#o.log('warn', 'stored segment refused', { objectId, source: s.source, seqs: `${s.from + 1}..${s.to}`, error: String(err) })
        }
      }
    }
    if (log !== undefined) this.#loaded.set(replica, log)
    return { batches: stored.batches.length, bytes, snapshotBytes: 0 }
  }

  /**
   * Counts and returns the refusal of unsigned ranges of a signed object (a peer of this
   * protocol never sends them: they are a forgery or a bug).
   */
  refuseUnsigned(objectId: string): HearsayError {
    this.#badSignature++
    return new HearsayError(ErrorCodes.BAD_SIGNATURE, `unsigned ranges of signed object ${JSON.stringify(objectId.slice(0, 80))}: refused`)
  }

  /**
   * Verifies and applies segments of a signed object from a peer or a bundle. Each segment
   * applies whole or not at all; refused ones are counted. A new object is created (after
   * `admit`) only when at least one of its segments applied.
   */
  receive(objectId: string, typeId: number, batch: SignedBatch, origin: unknown, admit: () => boolean = () => true): SignedReceipt {
    let policy: WritePolicy
    try {
      policy = this.#policyOf(objectId, batch.policy)
    } catch (err) {
      return { applied: 0, error: this.#count(err), deferred: false }
    }
    const e = this.#entry(objectId)
    if (e.policy === undefined) {
      e.policy = policy
      e.policyBytes = batch.policy
    }
    let o = this.#o.get(objectId)
    if (o !== undefined && o.typeId !== typeId) return { applied: 0, error: new HearsayError(ErrorCodes.TYPE_MISMATCH, `object ${objectId} is type ${o.typeId} here, segments of type ${typeId} arrived`), deferred: false }
    let fresh: Replicated<any> | undefined
    let log = e.log
    if (o === undefined) {
      if (!admit()) return { applied: 0, error: undefined, deferred: true }
      try {
        fresh = this.#o.create(typeId)
      } catch (err) {
        return { applied: 0, error: this.#count(err), deferred: false }
      }
      log = new SegmentLog(objectId, fresh, policy)
    } else if (log === undefined || log.replica !== o.replica) {
      this.hosted(o)
      log = e.log!
    }
    let error: HearsayError | undefined
    let applied = 0
    const done: Segment[] = []
    const tryOne = (s: Segment): 'applied' | 'duplicate' | 'gap' | 'refused' => {
      try {
        const r = log.receive(s)
        if (r === 'applied') {
          applied += s.to - s.from
          done.push(s)
        }
        return r
      } catch (err) {
        error ??= this.#count(err)
        return 'refused'
      }
    }
    for (const s of batch.segments) {
      if (tryOne(s) === 'gap' && e.waiting.length < MAX_WAITING && !e.waiting.some((w) => w.source === s.source && w.from === s.from)) e.waiting.push(s)
    }
    // Segments that waited for a predecessor that has now arrived.
    for (let progress = done.length > 0; progress && e.waiting.length > 0; ) {
      progress = false
      const still: Segment[] = []
      for (const s of e.waiting) {
        const r = s.to <= log.clock.get(s.source) ? 'duplicate' : s.from === log.clock.get(s.source) ? tryOne(s) : 'gap'
        if (r === 'applied') progress = true
        else if (r === 'gap') still.push(s)
      }
      e.waiting = still
    }
    if (fresh !== undefined) {
      if (done.length === 0) {
        fresh.dispose()
        return { applied: 0, error, deferred: false }
      }
      this.#loaded.set(fresh, log)
      this.#o.adopt(objectId, fresh)
      o = this.#o.get(objectId)!
    }
    if (done.length > 0) {
      this.#save(objectId, typeId, e, done)
      this.#o.forward(objectId, typeId, { policy: e.policyBytes!, segments: done }, origin)
    }
    return { applied, error, deferred: false }
  }

  /** The segments of an object a peer whose vector is `since` lacks, with the policy; undefined when there are none. */
  history(objectId: string, since: ReadonlyVersionVector): SignedBatch | undefined {
    const e = this.#entries.get(objectId)
    if (e?.log === undefined || e.policyBytes === undefined) return undefined
    const segments = e.log.since(since)
    return segments.length === 0 ? undefined : { policy: e.policyBytes, segments }
  }

  /** Every segment of every signed object with its policy (what a bundle for anyone carries). */
  *all(): Generator<{ objectId: string; typeId: number; batch: SignedBatch }> {
    for (const [objectId, e] of this.#entries) {
      if (e.log === undefined || e.policyBytes === undefined) continue
      const segments = e.log.since(EMPTY_SINCE)
      if (segments.length > 0) yield { objectId, typeId: e.log.replica.typeId, batch: { policy: e.policyBytes, segments } }
    }
  }

  /**
   * `Signed` frames carrying `batch`, as few as fit `maxFrame` (a segment that alone is larger
   * is reported through `tooLarge` and left out).
   */
  frames(objectId: string, typeId: number, batch: SignedBatch, maxFrame: number, tooLarge: (bytes: number) => void): Uint8Array[] {
    const out: Uint8Array[] = []
    const overhead = 3 * objectId.length + batch.policy.length + 32
    let group: Segment[] = []
    let size = overhead
    const emit = (): void => {
      if (group.length === 0) return
      const e = encoding.createEncoder()
      writeSignedMessage(e, objectId, typeId, { policy: batch.policy, segments: group })
      const f = encoding.toUint8Array(e)
      if (f.length <= maxFrame) out.push(f)
      else tooLarge(f.length)
      group = []
      size = overhead
    }
    for (const s of batch.segments) {
      const bytes = s.ranges.length + 3 * (s.objectId.length + s.source.length) + 96
      if (group.length > 0 && size + bytes > maxFrame) emit()
      group.push(s)
      size += bytes
    }
    emit()
    return out
  }

  #entry(objectId: string): Entry {
    let e = this.#entries.get(objectId)
    if (e === undefined) this.#entries.set(objectId, (e = { policy: undefined, policyBytes: undefined, log: undefined, allowed: undefined, unsaved: [], sealing: undefined, unsealed: 0, waiting: [] }))
    return e
  }

  #policyOf(objectId: string, bytes: Uint8Array): WritePolicy {
    const e = this.#entries.get(objectId)
    if (e?.policyBytes !== undefined && bytesEqual(e.policyBytes, bytes)) return e.policy!
    let policy: WritePolicy
    try {
      policy = decodeWritePolicy(bytes)
    } catch (err) {
      throw new HearsayError(ErrorCodes.NOT_PERMITTED, `the write policy sent with ${JSON.stringify(objectId.slice(0, 80))} does not decode`, { cause: err })
    }
    checkPolicyForId(objectId, policy)
    return policy
  }

  #checkWrite(objectId: string, e: Entry, replica: Replicated<any>): void {
    if (e.allowed === replica.id) return
    const what = JSON.stringify(objectId.slice(0, 80))
    if (e.policy === undefined) throw new HearsayError(ErrorCodes.NOT_PERMITTED, `the write policy of ${what} is not known on this node: open it with { writers } to write it`)
    if (!mayWrite(e.policy, replica.id)) throw new HearsayError(ErrorCodes.NOT_PERMITTED, `this node (${nodeIdOfSource(replica.id)}) is not a writer of ${what}; nothing was written`)
    const signing = this.#o.identity().signing
    const key = writerKey(nodeIdOfSource(replica.id))
    if (signing === undefined || key === undefined || !bytesEqual(key, signing.publicKey)) {
      throw new HearsayError(ErrorCodes.NOT_PERMITTED, `this node's identity cannot sign for its source ${JSON.stringify(replica.id)}; nothing was written to ${what}`)
    }
    e.allowed = replica.id
  }

  #seal(o: SignedObject, e: Entry): void {
    e.unsealed = 0
    const log = e.log
    if (log === undefined || log.replica !== o.replica || !o.replica.isOpen) return
    let segments: Segment[]
    try {
      segments = log.sealAll(this.#o.identity(), this.#o.limits)
    } catch (err) {
      this.#o.log('error', 'could not sign writes of a signed object; they stay on this node', { objectId: o.objectId, error: String(err) })
      return
    }
    if (segments.length === 0) return
    // Durable before it leaves the node, as for any local write.
    this.#save(o.objectId, o.typeId, e, segments).then(
      () => this.#o.forward(o.objectId, o.typeId, { policy: e.policyBytes!, segments }, undefined),
      () => {},
    )
  }

  #save(objectId: string, typeId: number, e: Entry, segments: readonly Segment[]): Promise<void> {
    e.unsaved.push(...segments)
    // Every segment queued until the batch is written goes into it (the persister encodes one
    // batch per object per append).
    // The ranges (no updates: the batch holds them as segments) tell the store's object index
    // how far the object's vector moved.
    const covered: Range<any>[] = segments.map((s) => ({ source: s.source as ReplicaId, from: s.from, to: s.to, updates: [] }))
    const p = this.#o.persist(objectId, typeId, covered, () => {
      const bytes = encodeStoredBatch({ policy: e.policyBytes!, segments: e.unsaved })
      e.unsaved = []
      return bytes
    })
    p.catch(() => {})
    return p
  }

  #count(err: unknown): HearsayError {
    const e = isHearsayError(err) ? err : new HearsayError(ErrorCodes.INVALID_UPDATE, String(err), { cause: err })
    if (e.code === ErrorCodes.BAD_SIGNATURE) this.#badSignature++
    else if (e.code === ErrorCodes.NOT_PERMITTED) this.#notPermitted++
    else this.#invalid++
    return e
  }
}

const EMPTY_SINCE: ReadonlyVersionVector = new VersionVector()
