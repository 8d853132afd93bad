import { ErrorCodes, HearsayError, LOCAL_ORIGIN, VersionVector, bytesEqual, coalesceRanges, isHearsayError, splitRanges, type Range, type ReadonlyVersionVector, type Replicated } from '@hearsay/core'
import type { NodeIdentity } from '../secure/keys.js'
import { signSegment, verifySegment, type Segment } from './segment.js'
import { checkPolicyForId, isSignedObjectId, mayWrite, type WritePolicy } from './WritePolicy.js'

/** What {@link SegmentLog.receive} did with a segment that verified. */
export type SegmentOutcome = 'applied' | 'duplicate' | 'gap'

/** Bounds on one segment {@link SegmentLog.seal} signs. */
export interface SealLimits {
  /** Most updates in one segment (default: no bound). */
  readonly updates?: number
  /** Encoded bytes of its ranges past which it is split in two (default: no bound). */
  readonly bytes?: number
}

/** Segments a {@link SegmentLog} refused, by cause. */
export interface SegmentRefusals {
  /** Signatures that did not verify, sources bound to no key, altered bytes. */
  readonly badSignature: number
  /** Writers the policy does not name, policies of another object. */
  readonly notPermitted: number
  /** Signed segments whose ranges do not match their header, or that overlap the log. */
  readonly invalid: number
}

/**
 * The signed history of one replica: per source, the chain of {@link Segment}s that took it
 * from clock 0 to where it is, kept byte for byte so a relay serves exactly what each source
 * signed (never a re-encoding, which no signature would cover). The log, not the replica,
 * decides what a peer's segment may change: a segment applies only when its signature is its
 * source's, the policy names that source, its ranges are that source's seqs `from+1..to`, and
 * it continues the source's chain; else nothing of it applies. The replica's own writes enter
 * the log through {@link seal}, one signature per batch.
 *
 * The cost: a signed object keeps every segment (its full history) even when its type would
 * compact; see SECURITY.md.
 */
export class SegmentLog<R extends Replicated<any> = Replicated<any>> {
  readonly #chains = new Map<string, Segment[]>()
  readonly #clock = new VersionVector()
  #badSignature = 0
  #notPermitted = 0
  #invalid = 0
  // The replica's own writes since the last seal, as its commits reported them: sealing then
  // costs the batch, not a walk of the whole history.
  #local: Range<unknown>[] = []

  /**
   * @param replica the replica the segments apply to (its updates must all come through this log).
   * @param policy the object's write policy; must be the one its id certifies.
   * @throws HearsayError `HEARSAY_NOT_PERMITTED` when the id does not certify the policy.
   */
  constructor(readonly objectId: string, readonly replica: R, readonly policy: WritePolicy) {
    if (!isSignedObjectId(objectId)) throw new TypeError(`${JSON.stringify(objectId)} is not a signed object's id (see signedObjectId)`)
    checkPolicyForId(objectId, policy)
    replica.on('ranges', (ranges: readonly Range<unknown>[], origin: unknown) => {
      if (origin === LOCAL_ORIGIN) for (const r of ranges) if (r.source === replica.id) this.#local.push(r)
    })
  }

  /** Where each source's chain ends: a peer with this vector holds every segment here. */
  get clock(): ReadonlyVersionVector {
    return this.#clock
  }

  /** Segments refused so far, by cause. */
  get refusals(): SegmentRefusals {
    return { badSignature: this.#badSignature, notPermitted: this.#notPermitted, invalid: this.#invalid }
  }

  /**
   * Signs the replica's writes under `identity` not yet in the log and appends them: one
   * segment for the whole batch, or, past `limits`, consecutive segments of at most
   * `limits.updates` updates and about `limits.bytes` encoded bytes each (so each fits a frame).
   * @returns the new segments, in chain order (empty when there was nothing to sign).
   * @throws TypeError when the identity cannot sign or is not the replica's source's.
   * @throws HearsayError `HEARSAY_NOT_PERMITTED` when the policy does not name this node.
   */
  sealAll(identity: NodeIdentity, limits: SealLimits = {}): Segment[] {
    const source = this.replica.id
    const from = this.#clock.get(source)
    const to = this.replica.clock.get(source)
    if (to <= from) return []
    // Checked before signing (verifying our own signature would double the cost of a seal).
    if (!mayWrite(this.policy, source)) throw new HearsayError(ErrorCodes.NOT_PERMITTED, `this node (${JSON.stringify(source)}) may not write ${JSON.stringify(this.objectId.slice(0, 80))}`)
    let ranges = coalesceRanges(this.#local)
    this.#local = []
    if (!(ranges.length > 0 && ranges[0]!.from <= from && ranges.at(-1)!.to === to)) {
      // Writes that did not all pass through here (made before the log, or a reincarnation):
      // take them from the replica.
      const since = new VersionVector()
      since.set(source, from)
      ranges = this.replica.historySince(since).filter((r) => r.source === source)
    }
    const out: Segment[] = []
    const maxBytes = limits.bytes ?? Infinity
    const sign = (chunk: readonly Range<unknown>[], start: number): void => {
      const end = chunk.at(-1)!.to
      const bytes = this.replica.encodeRanges(chunk)
      const count = chunk.reduce((n, r) => n + r.updates.length, 0)
      if (bytes.length > maxBytes && count > 1) {
        let at = start
        for (const half of splitRanges(chunk, Math.ceil(count / 2))) {
          sign(half, at)
          at = half.at(-1)!.to
        }
        return
      }
      const segment = signSegment(identity, { objectId: this.objectId, typeId: this.replica.typeId, source, from: start, to: end, ranges: bytes })
      this.#append(segment)
      out.push(segment)
    }
    let at = from
    for (const chunk of splitRanges(ranges, limits.updates ?? Infinity)) {
      if (chunk.length === 0 || chunk.at(-1)!.to <= at) continue
      sign(chunk, at)
      at = chunk.at(-1)!.to
    }
    return out
  }

  /**
   * Signs the replica's writes not yet in the log as one segment and appends it.
   * @returns the segment, or `undefined` when there was nothing to sign.
   * @throws as {@link sealAll}.
   */
  seal(identity: NodeIdentity): Segment | undefined {
    return this.sealAll(identity)[0]
  }

  /** True when the log holds exactly this segment (same seqs, same signature): a replay. */
  holds(segment: Segment): boolean {
    const chain = this.#chains.get(segment.source)
    if (chain === undefined || segment.to > this.#clock.get(segment.source)) return false
    let lo = 0
    let hi = chain.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (chain[mid]!.to < segment.to) lo = mid + 1
      else hi = mid
    }
    const held = chain[lo]
    return held !== undefined && held.to === segment.to && held.from === segment.from && bytesEqual(held.signature, segment.signature) && bytesEqual(held.ranges, segment.ranges)
  }

  /**
   * Verifies a segment from a peer, a relay or a bundle and, when it continues its source's
   * chain, applies it to the replica. Nothing of a refused segment applies.
   * @returns `'applied'`; `'duplicate'` for one the log holds already (a replay: harmless);
   * `'gap'` when it starts past the source's chain (ask for the segments before it).
   * @throws HearsayError `HEARSAY_BAD_SIGNATURE`, `HEARSAY_NOT_PERMITTED`, `HEARSAY_INVALID_UPDATE`
   * or `HEARSAY_DECODE_ERROR` (counted in {@link refusals}).
   */
  receive(segment: Segment): SegmentOutcome {
    try {
      if (segment.objectId !== this.objectId) throw new HearsayError(ErrorCodes.NOT_PERMITTED, `segment of object ${JSON.stringify(segment.objectId.slice(0, 80))} offered to ${JSON.stringify(this.objectId.slice(0, 80))}`)
      if (segment.typeId !== this.replica.typeId) throw new HearsayError(ErrorCodes.TYPE_MISMATCH, `segment of type ${segment.typeId} for an object of type ${this.replica.typeId}`)
      // A replay of a held segment changes nothing: no signature to check. Anything else over
      // the same seqs (an altered copy) is verified, so a forgery is counted even where the
      // genuine segment arrived first.
      if (this.holds(segment)) return 'duplicate'
      verifySegment(segment, this.policy)
      const have = this.#clock.get(segment.source)
      if (segment.to <= have) return 'duplicate'
      if (segment.from > have) return 'gap'
      if (segment.from < have) throw new HearsayError(ErrorCodes.INVALID_UPDATE, `segment ${segment.from + 1}..${segment.to} of ${JSON.stringify(segment.source)} overlaps its chain (at ${have})`)
      const ranges = this.replica.decodeRanges(segment.ranges)
      // The signature covers the bytes; the header must also say what they do, or a source's
      // signed bytes could carry another source's updates or move a clock past the segment.
      let end = 0
      for (const r of ranges) {
        if (r.source !== segment.source || r.to > segment.to || r.to < end || r.updates.some((u) => u.source !== segment.source)) {
          throw new HearsayError(ErrorCodes.INVALID_UPDATE, `segment ${segment.from + 1}..${segment.to} of ${JSON.stringify(segment.source)}: its ranges are not that source's seqs`)
        }
        end = r.to
      }
      if (ranges.length === 0 || ranges[0]!.from > segment.from || end !== segment.to) throw new HearsayError(ErrorCodes.INVALID_UPDATE, `segment ${segment.from + 1}..${segment.to} of ${JSON.stringify(segment.source)}: its ranges do not span its seqs`)
      const result = this.replica.applyRanges(ranges, this)
      if (this.replica.clock.get(segment.source) !== segment.to) {
        // Refused inside the replica (drift, an invalid op) or waiting on another source: the
        // chain stays where the replica is, so the segment is asked for again later.
        throw new HearsayError(ErrorCodes.INVALID_UPDATE, `segment ${segment.from + 1}..${segment.to} of ${JSON.stringify(segment.source)} did not apply (${result.waiting} waiting)`)
      }
      this.#append(segment)
      return 'applied'
    } catch (err) {
      if (isHearsayError(err, ErrorCodes.BAD_SIGNATURE)) this.#badSignature++
      else if (isHearsayError(err, ErrorCodes.NOT_PERMITTED)) this.#notPermitted++
      else this.#invalid++
      throw err
    }
  }

  /** The segments a peer whose log clock is `since` lacks, each source's in chain order. */
  since(since: ReadonlyVersionVector): Segment[] {
    const out: Segment[] = []
    for (const [source, chain] of this.#chains) {
      const have = since.get(source)
      for (const s of chain) if (s.to > have) out.push(s)
    }
    return out
  }

  #append(segment: Segment): void {
    let chain = this.#chains.get(segment.source)
    if (chain === undefined) this.#chains.set(segment.source, (chain = []))
    chain.push(segment)
    this.#clock.set(segment.source, segment.to)
  }
}
