import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { Emitter } from './Emitter.js'
import { HearsayError, ErrorCodes } from './errors.js'
import { randomReplicaId, toReplicaId, type ReplicaId } from './ids.js'
import { HybridClock, DEFAULT_MAX_DRIFT_MS } from './HybridClock.js'
import { VersionVector, type Dot, type ReadonlyVersionVector } from './VersionVector.js'
import { decodeWith, encodeWith, readSafeUint, readValue, writeValue, type Value } from './encoding.js'
import { freezeDecoded } from './freeze.js'
import { isVouched, readRanges, updateEnd, vouch, writeRanges, type OpCodec, type Range, type Update } from './update.js'
import { STATE_FORMAT_VERSION } from './protocol.js'
import { DEFAULT_MAX_UPDATE_BYTES, encodedSizeBound } from './updateSize.js'
import type { ApplyResult, StreamTarget } from './ReplicaLink.js'

/** Options every replicated type accepts. */
export interface ReplicatedOptions {
  /** This replica's id, the source of its updates; random when omitted. Keep it stable across restarts of a persisted replica. */
  id?: string | undefined
  /** Wall clock in ms for the hybrid clock; inject one for simulations and tests. */
  now?: (() => number) | undefined
  /** How far (ms) a remote update's time may run ahead of our wall clock; default 60 000. */
  maxDrift?: number | undefined
  /** Most updates the causal buffer holds before it drops ranges (they are re-fetched later); default 1 000 000. */
  maxPending?: number | undefined
  /**
   * Largest local update in bytes (op and dependencies, encoded); a write over it throws
   * `HEARSAY_VALUE_TOO_LARGE` before anything changes. Default {@link DEFAULT_MAX_UPDATE_BYTES}
   * (4 MiB); a gossip node sets what its links carry (`maxUpdateBytesFor`).
   */
  maxUpdateBytes?: number | undefined
}

/**
 * The events every replicated type emits; a type's own map extends this one (`change`...).
 * Listen with `replica.on(name, listener)`; the listener's arguments are typed from the map.
 */
export interface ReplicatedEvents<Op = unknown> {
  /** One applied update, local or remote, with the origin the batch was applied with. */
  update: (update: Update<Op>, origin: unknown) => void
  /** Once per applied batch: exactly the pieces of history it added (what a store persists and a node forwards). */
  ranges: (ranges: Range<Op>[], origin: unknown) => void
  /** Refused input (clock drift, invalid op, full causal buffer), with the update when there was one. */
  rejected: (error: HearsayError, update?: Update<Op>) => void
  /** The replica was disposed. */
  dispose: () => void
}

/** A range waiting in the causal buffer, and the first dot it waits for; see {@link Replicated.pendingRanges}. */
export interface PendingRange {
  /** The source whose updates wait. */
  readonly source: ReplicaId
  /** The waiting part of the range: `(from, to]`. */
  readonly from: number
  readonly to: number
  /** How many updates wait. */
  readonly updates: number
  /** `gap`: the source's earlier updates have not arrived; `dep`: a dependency of the first waiting update is missing. */
  readonly reason: 'gap' | 'dep'
  /** The first dot it waits for. */
  readonly waitsFor: Dot
}

/** An update (or range) a replica refused; the last {@link MAX_REJECTIONS_KEPT} are kept. */
export interface Rejection {
  /** `HEARSAY_CLOCK_DRIFT`, `HEARSAY_INVALID_UPDATE` or `HEARSAY_BUFFER_OVERFLOW`. */
  readonly code: string
  readonly message: string
  /** The refused update's dot, when the refusal was of one update. */
  readonly dot: Dot | undefined
}

/** How many recent refusals a replica keeps for {@link Replicated.rejections}. */
export const MAX_REJECTIONS_KEPT = 32

/** Origin reported for updates written on this replica. */
export const LOCAL_ORIGIN = 'local'

/** Counters a replica keeps; for status displays and tests. */
export interface ReplicatedStats {
  /** Updates applied, local and remote. */
  applied: number
  /** Updates received that the clock already covered. */
  duplicates: number
  /** Updates refused for clock drift. */
  driftRefused: number
  /** Updates refused as invalid. */
  invalid: number
  /** Ranges dropped because the causal buffer was full. */
  overflowed: number
}

interface PendingEntry<Op> {
  readonly range: Range<Op>
  readonly index: number
  readonly size: number
}

interface Piece<Op> {
  source: ReplicaId
  from: number
  to: number
  updates: Update<Op>[]
}

class Batch<Op> {
  /** The open piece of history per source. */
  readonly pieces = new Map<ReplicaId, Piece<Op>>()
  /** Pieces closed because a later update overlapped their last one, in the order they closed. */
  readonly closed: Piece<Op>[] = []
  readonly advanced: ReplicaId[] = []
  /** Latest acceptable remote time, read once per batch rather than once per update. */
  driftLimit = 0
  result: ApplyResult = { applied: 0, duplicates: 0, waiting: 0, refused: 0 }
}

/** The class side of a replicated type: constructible from options, with a type id. */
export interface ReplicatedClass<R extends Replicated<any> = Replicated<any>> {
  new (options?: ReplicatedOptions): R
  /** Stable numeric tag of the type, written into states and handshakes. */
  readonly typeId: number
  /** Human-readable type name, for errors and status output. */
  readonly typeName: string
}

const EMPTY = new VersionVector()

/**
 * The base of every replicated type. It owns the replica id, the version vector, the hybrid
 * clock, dedup, the bounded causal buffer, validation, the op codec and the stream protocol. A
 * type writes two hooks: {@link applyOp} (apply one update, report whether state changed) and
 * {@link history} (the updates it keeps), plus `toJSON()` (its value) and public methods that
 * check their arguments and call {@link commit}. Ops travel as msgpack {@link Value}s unless
 * the type overrides {@link writeOp}/{@link readOp}; `registerType(Type, { typeId, typeName })`
 * names it. For "one winning update per key" types extend {@link WinnerPerKey} instead.
 *
 * Guarantees: an update is applied at most once; updates of one source are applied in seq
 * order; an update whose dependencies are missing waits in the causal buffer; an update that
 * fails validation or is timed too far ahead is refused whole, never half-applied, and offered
 * again by the next digest exchange; {@link historySince} filters the type's history by the
 * peer's vector (a type never filters it itself).
 *
 * The laws a type must obey (`checkConvergence` from `@hearsay/core/testing` checks each):
 *
 * 1. **Commutativity of concurrent updates.** Applying concurrent updates in any order gives
 *    the same state. Decide conflicts from the updates themselves, never from arrival order:
 *    ```ts
 *    // wrong: the first of two equal times to arrive stays
 *    if (cur && u.time <= cur.time) return false
 *    // right: ties broken by source, then seq (lastWriterWins)
 *    if (cur && !lastWriterWins(u, cur)) return false
 *    ```
 * 2. **Idempotence.** The base drops updates its clock covers, so a duplicate never reaches
 *    `applyOp`; but an op that restates a running total must replace, not add:
 *    ```ts
 *    this.#sum += u.op - (this.#totals.get(u.source)?.op ?? 0)   // not: this.#sum += u.op
 *    ```
 * 3. **Byte-identical encodings of equal states.** `encodeState()` writes `history()` sorted by
 *    source and seq, so two replicas with equal values must keep the *same updates*: when
 *    several updates could witness one fact, keep a canonical one, not the first to arrive:
 *    ```ts
 *    // two replicas added 'x' concurrently: both keep the earlier add, whatever arrived first
 *    if (prev && !lastWriterWins(prev, u)) return false
 *    ```
 *    `toJSON()` is part of the value: list object keys in a fixed order (sorted), not insertion order.
 * 4. **When history may leave an update out.** Only when a kept update *dominates* it: a
 *    replica that applies the kept one without ever seeing the omitted one reaches the same
 *    state (an older write to the same LWW key). Never an increment, an insert, or a remove
 *    another replica may not have seen:
 *    ```ts
 *    protected history() { return this.#winners.values() }   // LWW map: one per key
 *    protected history() { return this.#log }                // counter of increments: all
 *    ```
 * 5. **Deps.** An op that needs other updates applied first (a remove of the adds it observed,
 *    an insert after an element) names them, `commit(op, { deps })`, or returns them from
 *    {@link depsOf}; the base holds the update back until they are applied:
 *    ```ts
 *    this.commit({ remove: x, tags }, { deps: tags })   // never applied before the adds it removes
 *    ```
 * 6. **Refuse whole.** `applyOp` validates before it changes anything and throws (a
 *    `HearsayError` `HEARSAY_INVALID_UPDATE`) on a bad op; the base refuses the update whole.
 *    Public methods throw `TypeError`/`RangeError` for bad arguments before calling `commit`.
 *
 * @example
 * ```ts
 * class Tags extends Replicated<string, string[]> {
 *   readonly #tags = new Map<string, Update<string>>()
 *   add(tag: string): void {
 *     if (typeof tag !== 'string') throw new TypeError('tag is a string')
 *     if (!this.#tags.has(tag)) this.commit(tag)
 *   }
 *   protected applyOp(u: Update<string>): boolean {
 *     const prev = this.#tags.get(u.op)
 *     if (prev && !lastWriterWins(prev, u)) return false // keep the earliest add: law 3
 *     this.#tags.set(u.op, u)
 *     return prev === undefined
 *   }
 *   protected history() { return this.#tags.values() }
 *   toJSON() { return [...this.#tags.keys()].sort() }
 * }
 * registerType(Tags, { typeId: 1000, typeName: 'Tags' })
 * ```
 *
 * Events: {@link ReplicatedEvents} (`update`, `ranges`, `rejected`, `dispose`), and the type's
 * own (`change`...) in the map `E` it passes, which extends `ReplicatedEvents<Op>`.
 */
export abstract class Replicated<Op, Json = unknown, E extends ReplicatedEvents<Op> = ReplicatedEvents<Op>>
  extends Emitter<E>
  implements StreamTarget<Op>
{
  /** Stable numeric tag of the type, set by `registerType` (or a static field). */
  static readonly typeId: number = 0
  /** Human-readable type name, set by `registerType` (or a static field). */
  static readonly typeName: string = 'Replicated'

  #id: ReplicaId
  /** The hybrid logical clock stamping local updates. */
  readonly hlc: HybridClock
  /** The options the replica was created with (used by {@link clone}). */
  protected readonly options: ReplicatedOptions
  readonly #clock = new VersionVector()
  readonly #pending = new Map<ReplicaId, PendingEntry<Op>[]>()
  #pendingCount = 0
  readonly #maxPending: number
  readonly #maxUpdateBytes: number
  #disposed = false
  #codec: OpCodec<Op> | undefined
  readonly #rejections: Rejection[] = []
  readonly #stats: ReplicatedStats = { applied: 0, duplicates: 0, driftRefused: 0, invalid: 0, overflowed: 0 }
  #writeGuard: (() => void) | undefined

  // The base's own events, emitted through the base map: `E` extends it, but TypeScript cannot
  // resolve a generic map's argument types at these call sites.
  get #base(): Emitter<ReplicatedEvents<Op>> {
    return this as unknown as Emitter<ReplicatedEvents<Op>>
  }

  constructor(options: ReplicatedOptions = {}) {
    super()
    if (options === null || typeof options !== 'object') throw new TypeError('options is an object such as { id }')
    this.options = options
    this.#id = options.id === undefined ? randomReplicaId() : toReplicaId(options.id)
    this.hlc = new HybridClock({ now: options.now, maxDrift: options.maxDrift ?? DEFAULT_MAX_DRIFT_MS })
    this.#maxPending = options.maxPending ?? 1_000_000
    this.#maxUpdateBytes = options.maxUpdateBytes ?? DEFAULT_MAX_UPDATE_BYTES
    if (!(this.#maxUpdateBytes > 0)) throw new RangeError('maxUpdateBytes is a positive byte count')
    if (this.typeId === 0) throw new TypeError(`${new.target.name} has no type id: call registerType(${new.target.name}, { typeId, typeName }) first`)
  }

  /**
   * Applies one update to the type's state; returns whether visible state changed. Validate
   * first and throw without changing anything if the update is invalid (the base refuses it
   * whole). `covered` is the clock entry of the update's source before it: a multi-seq update
   * may overlap it, and only the part past `covered` is new.
   */
  protected abstract applyOp(update: Update<Op>, covered: number): boolean
  /**
   * Every update the type keeps, in any order; leave one out only when a kept one dominates it
   * (see the laws above). The base filters by the peer's vector: `since` is only a hint a type
   * with a per-source index may use to skip what the peer has.
   */
  protected abstract history(since: ReadonlyVersionVector): Iterable<Update<Op>>
  /** The replica's value as plain data: equal (and equally ordered) on replicas holding equal state. */
  abstract toJSON(): Json

  /**
   * Writes one op. By default a length-prefixed msgpack {@link Value} (deterministic: the
   * same op gives the same bytes); override with {@link readOp} for a compact encoding.
   */
  protected writeOp(encoder: encoding.Encoder, op: Op): void {
    writeValue(encoder, op as Value)
  }

  /**
   * Reads one op from a peer; throws on anything malformed. By default a msgpack {@link Value}
   * checked to be plain data and deep-frozen; `applyOp` must still check its shape.
   */
  protected readOp(decoder: decoding.Decoder): Op {
    return freezeDecoded(readValue(decoder)) as Op
  }

  /**
   * The dots `update` needs applied before it (what {@link depsOf} says): a sender that cuts a
   * history short (a byte budget) uses it to keep each prefix free of waiting updates.
   */
  dependencies(update: Update<Op>): readonly Dot[] | undefined {
    return this.depsOf(update)
  }

  /** The dots an update needs applied before it; by default its `deps`. Types that carry references inside the op override this instead of duplicating them in `deps`. */
  protected depsOf(update: Update<Op>): readonly Dot[] | undefined {
    return update.deps
  }

  /**
   * Called once after each batch of remote updates (or a local commit that released buffered
   * ones) has been applied, before the `ranges` event. Types that aggregate per-batch events
   * (live queries, text deltas) override it; the default does nothing.
   */
  protected afterApply(_origin: unknown): void {}

  /** The type's numeric tag. */
  get typeId(): number {
    return (this.constructor as ReplicatedClass).typeId
  }

  /** The type's name. */
  get typeName(): string {
    return (this.constructor as ReplicatedClass).typeName
  }

  /** This replica's id: the source of the updates it writes (see {@link reincarnate}). */
  get id(): ReplicaId {
    return this.#id
  }

  /**
   * Writes every later local update under source `id` instead: a node moves its replicas to a
   * fresh incarnation when its own source may hold, elsewhere, updates it does not (a restored
   * backup, a damaged store). Updates already written keep their source; `id` counts on from
   * what the clock holds of it (0 for a fresh id). Idempotent for the current id.
   * @throws TypeError on a bad id; HearsayError `HEARSAY_NOT_OPEN` after {@link dispose}.
   */
  reincarnate(id: string): void {
    this.assertOpen()
    const next = toReplicaId(id)
    if (next === this.#id) return
    this.#id = next
    this.sourceChanged()
  }

  /**
   * Called after {@link reincarnate} changed {@link id}: a type that keeps state derived from
   * its own source (a per-source log it appends local edits to) refreshes it here.
   */
  protected sourceChanged(): void {}

  /** What this replica has seen: source → highest seq covered. A live read-only view. */
  get clock(): ReadonlyVersionVector {
    return this.#clock
  }

  /** Updates waiting in the causal buffer for a predecessor or a dependency. */
  get pendingCount(): number {
    return this.#pendingCount
  }

  /**
   * What waits in the causal buffer: per waiting range, its source and seq range and the first
   * dot it waits for. A snapshot, for status output and {@link explainDivergence}.
   */
  pendingRanges(): PendingRange[] {
    const out: PendingRange[] = []
    for (const list of this.#pending.values()) {
      for (const e of list) {
        const r = e.range
        const first = r.updates[e.index]
        const from = e.index === 0 ? r.from : first!.seq - 1
        const gap = e.index === 0 && r.from > this.#clock.get(r.source)
        const dep = gap || first === undefined ? undefined : this.#missingDep(first)
        const waitsFor = dep ?? { source: r.source, seq: this.#clock.get(r.source) + 1 }
        out.push({ source: r.source, from, to: r.to, updates: r.updates.length - e.index, reason: dep === undefined ? 'gap' : 'dep', waitsFor })
      }
    }
    return out
  }

  /** The last refusals (drift, invalid, buffer overflow), oldest first; at most {@link MAX_REJECTIONS_KEPT}. */
  get rejections(): readonly Rejection[] {
    return this.#rejections
  }

  /** How many times the causal buffer had to drop a range. */
  get overflowCount(): number {
    return this.#stats.overflowed
  }

  /** Counters of applied, duplicate and refused updates. */
  get stats(): Readonly<ReplicatedStats> {
    return this.#stats
  }

  /** False after {@link dispose}. */
  get isOpen(): boolean {
    return !this.#disposed
  }

  /** @throws HearsayError `HEARSAY_NOT_OPEN` after {@link dispose}. */
  protected assertOpen(): void {
    if (this.#disposed) throw new HearsayError(ErrorCodes.NOT_OPEN, `${this.typeName} replica ${this.id} is disposed`)
  }

  /**
   * Makes every later local write call `check` first, before anything changes: a `check` that
   * throws refuses the write whole (a gossip node refuses writes to an object whose write policy
   * does not name it). `undefined` removes the guard. Remote updates are not guarded.
   */
  guardWrites(check: (() => void) | undefined): void {
    if (check !== undefined && typeof check !== 'function') throw new TypeError('check is a function or undefined')
    this.#writeGuard = check
  }

  /**
   * Checks that a local write may happen now: the replica is open and its write guard (see
   * {@link guardWrites}) lets it. {@link commit} calls it; a type that changes its state before
   * it commits calls it before that change.
   * @throws HearsayError `HEARSAY_NOT_OPEN`, or what the guard throws.
   */
  protected assertWritable(): void {
    this.assertOpen()
    this.#writeGuard?.()
  }

  get #opCodec(): OpCodec<Op> {
    return (this.#codec ??= { write: (e, op) => this.writeOp(e, op), read: (d) => this.readOp(d) })
  }

  /** Largest local update this replica writes, in bytes (see {@link ReplicatedOptions.maxUpdateBytes}). */
  get maxUpdateBytes(): number {
    return this.#maxUpdateBytes
  }

  /**
   * Refuses a local write whose update would be larger than {@link maxUpdateBytes}: `value` is
   * the op (or, for a type that changes its state before it commits, the content it is about
   * to write), `encode` its exact encoded length when a quick bound cannot rule it out.
   * {@link commit} calls it for every op; a type that must check before it changes anything
   * calls it first and commits with `sizeChecked`.
   * @throws HearsayError `HEARSAY_VALUE_TOO_LARGE`.
   */
  protected checkUpdateSize(value: unknown, encode: () => number, deps?: readonly Dot[]): void {
    const limit = this.#maxUpdateBytes
    // The update's own header (source, seq, time, len) and its dependencies.
    let extra = 3 * this.id.length + 40
    if (deps !== undefined) for (const d of deps) extra += 3 * d.source.length + 16
    if (encodedSizeBound(value) + extra <= limit) return
    const bytes = encode() + extra
    if (bytes > limit) {
      throw new HearsayError(ErrorCodes.VALUE_TOO_LARGE, `this ${this.typeName} write encodes to ${bytes} bytes, over the ${limit}-byte limit of one update (what the replication path carries in one piece); nothing was written`)
    }
  }

  /**
   * Stamps, applies and announces a local op; the type's public methods call this after
   * checking their arguments. Returns the update.
   * @throws HearsayError `HEARSAY_VALUE_TOO_LARGE` (nothing changed) unless `sizeChecked`.
   */
  protected commit(op: Op, extra?: { deps?: readonly Dot[]; len?: number; sizeChecked?: boolean }): Update<Op> {
    this.assertWritable()
    if (extra?.sizeChecked !== true) this.checkUpdateSize(op, () => encodeWith((e) => this.writeOp(e, op)).length, extra?.deps)
    const covered = this.#clock.get(this.id)
    const u: { -readonly [K in keyof Update<Op>]: Update<Op>[K] } = { source: this.id, seq: covered + 1, time: this.hlc.now(), op }
    if (extra?.deps !== undefined && extra.deps.length > 0) u.deps = extra.deps
    if (extra?.len !== undefined && extra.len !== 1) u.len = extra.len
    this.applyOp(u, covered)
    const end = updateEnd(u)
    this.#clock.set(this.id, end)
    this.#stats.applied++
    // emit() allocates its rest arguments even when nobody listens; local writes are the hot path.
    if (this.listenerCount('update') > 0) this.#base.emit('update', u, LOCAL_ORIGIN)
    if (this.listenerCount('ranges') > 0) this.#base.emit('ranges', [vouch({ source: this.id, from: covered, to: end, updates: [u] })], LOCAL_ORIGIN)
    if (this.#pending.has(this.id)) {
      const batch = new Batch<Op>()
      batch.driftLimit = this.hlc.limit()
      batch.advanced.push(this.id)
      this.#drain(LOCAL_ORIGIN, batch)
      this.#finish(batch, LOCAL_ORIGIN)
    }
    return u
  }

  /**
   * Applies ranges from a peer, a file or a store. Updates already covered are skipped; a range
   * that starts past our clock, or an update whose dependencies are missing, waits in the causal
   * buffer; refused updates (drift, invalid) stop their range there and are reported as
   * `rejected`. Never throws for bad peer data.
   *
   * Ranges that hearsay made (decoded by {@link decodeRanges} or {@link readRanges}, returned
   * by {@link historySince}, emitted as `ranges`) are applied as they are. Any other range
   * (built by hand, cloned through `postMessage` or JSON) is first put through this type's
   * codec, so an op its decoder would refuse is refused here too (`rejected`, counted in
   * `refused`) and what is applied is the canonical copy every replica decodes alike.
   */
  applyRanges(ranges: readonly Range<Op>[], origin: unknown = undefined): ApplyResult {
    this.assertOpen()
    const batch = new Batch<Op>()
    batch.driftLimit = this.hlc.limit()
    if (!Array.isArray(ranges)) {
      this.#refuseRange(ranges, batch, new TypeError('ranges are an array'))
      return this.#finish(batch, origin)
    }
    for (const r of ranges) {
      const checked = isVouched(r) ? r : this.#vet(r, batch)
      if (checked !== undefined) this.#applyFrom(checked, 0, origin, batch)
    }
    this.#drain(origin, batch)
    return this.#finish(batch, origin)
  }

  #finish(batch: Batch<Op>, origin: unknown): ApplyResult {
    batch.result.waiting = this.#pendingCount
    if (batch.pieces.size > 0) this.afterApply(origin)
    if (batch.pieces.size > 0 && this.listenerCount('ranges') > 0) {
      // Closed pieces first: they precede the open piece of their source.
      const pieces = [...batch.closed, ...batch.pieces.values()]
      for (const p of pieces) vouch(p)
      this.#base.emit('ranges', pieces, origin)
    }
    return batch.result
  }

  #advance(source: ReplicaId, to: number, batch: Batch<Op>): void {
    const old = this.#clock.get(source)
    if (to <= old) return
    let piece = batch.pieces.get(source)
    if (piece === undefined) batch.pieces.set(source, (piece = { source, from: old, to, updates: [] }))
    else piece.to = to
    this.#clock.set(source, to)
    if (this.#pending.has(source)) batch.advanced.push(source)
  }

  #missingDep(u: Update<Op>): Dot | undefined {
    const deps = this.depsOf(u)
    if (deps === undefined) return undefined
    for (const d of deps) {
      // A dependency on an earlier seq of the same source is covered by range order.
      if (d.source !== u.source && this.#clock.get(d.source) < d.seq) return d
    }
    return undefined
  }

  #reject(code: typeof ErrorCodes.CLOCK_DRIFT | typeof ErrorCodes.INVALID_UPDATE | typeof ErrorCodes.BUFFER_OVERFLOW, message: string, u?: Update<Op>, cause?: unknown): void {
    if (this.#rejections.length === MAX_REJECTIONS_KEPT) this.#rejections.shift()
    this.#rejections.push({ code, message, dot: u === undefined ? undefined : { source: u.source, seq: u.seq } })
    if (this.listenerCount('rejected') > 0) this.#base.emit('rejected', new HearsayError(code, message, { cause }), u)
  }

  #applyFrom(r: Range<Op>, start: number, origin: unknown, batch: Batch<Op>): void {
    const s = r.source
    let c = this.#clock.get(s)
    if (r.to <= c) {
      batch.result.duplicates += r.updates.length - start
      this.#stats.duplicates += r.updates.length - start
      return
    }
    if (start === 0 && r.from > c) {
      this.#enqueue(r, 0, s, batch)
      return
    }
    const ups = r.updates
    for (let i = start; i < ups.length; i++) {
      const u = ups[i]!
      const end = u.len === undefined ? u.seq : u.seq + u.len - 1
      if (end <= c) {
        batch.result.duplicates++
        this.#stats.duplicates++
        continue
      }
      let missing: Dot | undefined
      try {
        missing = this.#missingDep(u)
      } catch (err) {
        // A malformed op handed in by a caller (not decoded, so never validated) can break the
        // type's depsOf: refused like one its applyOp throws on.
        return this.#refuseInvalid(r, i, batch, err)
      }
      if (missing !== undefined) {
        this.#advance(s, u.seq - 1, batch)
        this.#enqueue(r, i, missing.source, batch)
        return
      }
      if (u.time > batch.driftLimit) {
        this.#advance(s, u.seq - 1, batch)
        batch.result.refused += ups.length - i
        this.#stats.driftRefused++
        this.#reject(ErrorCodes.CLOCK_DRIFT, `update ${s}:${u.seq} is timed ${Math.round(u.time / 1024 - Date.now())} ms ahead, beyond the ${this.hlc.maxDrift} ms drift bound`, u)
        return
      }
      try {
        this.applyOp(u, c)
      } catch (err) {
        return this.#refuseInvalid(r, i, batch, err)
      }
      this.hlc.observe(u.time)
      // A multi-seq update may overlap what is already covered. A range holds updates inside
      // (from, to] in increasing, non-overlapping order, so: overlapping the piece's last update
      // closes that piece and starts another; overlapping only its start lowers its `from`.
      const open = batch.pieces.get(s)
      const last = open?.updates[open.updates.length - 1]
      if (open !== undefined && last !== undefined && u.seq <= updateEnd(last)) {
        batch.closed.push(open)
        batch.pieces.set(s, { source: s, from: u.seq - 1, to: c, updates: [] })
      }
      this.#advance(s, end, batch)
      const piece = batch.pieces.get(s)!
      if (u.seq <= piece.from) piece.from = u.seq - 1
      piece.updates.push(u)
      batch.result.applied++
      this.#stats.applied++
      if (this.listenerCount('update') > 0) this.#base.emit('update', u, origin)
      c = end
    }
    this.#advance(s, r.to, batch)
  }

  /** `r` through this type's codec: its canonical, validated copy, or undefined when refused. */
  #vet(r: Range<Op>, batch: Batch<Op>): Range<Op> | undefined {
    try {
      // UTF-8 would carry a lone surrogate as U+FFFD: refused here, as the decoder refuses it.
      if (hasIllFormedString(r, 0)) throw new TypeError('a string in the range has a lone surrogate; only well-formed strings replicate')
      return this.decodeRanges(this.encodeRanges([r]))[0]
    } catch (err) {
      this.#refuseRange(r, batch, err)
      return undefined
    }
  }

  /** Refuses a whole range a caller handed in that does not encode or decode as this type's. */
  #refuseRange(r: unknown, batch: Batch<Op>, err: unknown): void {
    const updates = (r as { updates?: unknown } | null)?.updates
    batch.result.refused += Array.isArray(updates) ? updates.length : 1
    this.#stats.invalid++
    const source = (r as { source?: unknown } | null)?.source
    const of = typeof source === 'string' ? ` of ${JSON.stringify(source)}` : ''
    this.#reject(ErrorCodes.INVALID_UPDATE, `range${of} refused: ${(err as Error)?.message ?? err}`, undefined, err)
  }

  /** Refuses update `i` of `r` and the rest of the range after it, which may depend on it. */
  #refuseInvalid(r: Range<Op>, i: number, batch: Batch<Op>, err: unknown): void {
    const u = r.updates[i]!
    this.#advance(r.source, u.seq - 1, batch)
    batch.result.refused += r.updates.length - i
    this.#stats.invalid++
    this.#reject(ErrorCodes.INVALID_UPDATE, `update ${r.source}:${u.seq} refused: ${(err as Error)?.message ?? err}`, u, err)
  }

  #enqueue(r: Range<Op>, index: number, waitSource: ReplicaId, batch: Batch<Op>): void {
    const size = Math.max(1, r.updates.length - index)
    let list = this.#pending.get(waitSource)
    if (list?.some((e) => e.range.source === r.source && e.range.to === r.to && e.range.updates.length - e.index === r.updates.length - index)) {
      batch.result.duplicates += size
      return
    }
    if (this.#pendingCount + size > this.#maxPending) {
      this.#stats.overflowed++
      batch.result.refused += size
      this.#reject(ErrorCodes.BUFFER_OVERFLOW, `causal buffer full (${this.#pendingCount} updates); dropped a range of ${r.source}, it will be fetched again`)
      return
    }
    if (list === undefined) this.#pending.set(waitSource, (list = []))
    list.push({ range: r, index, size })
    this.#pendingCount += size
  }

  #waitSeq(e: PendingEntry<Op>): { source: ReplicaId; seq: number } {
    if (e.index === 0 && e.range.from > this.#clock.get(e.range.source)) return { source: e.range.source, seq: e.range.from }
    const u = e.range.updates[e.index]
    return (u && this.#missingDep(u)) ?? { source: e.range.source, seq: 0 }
  }

  #drain(origin: unknown, batch: Batch<Op>): void {
    while (batch.advanced.length > 0) {
      const s = batch.advanced.pop()!
      const list = this.#pending.get(s)
      if (list === undefined) continue
      const keep: PendingEntry<Op>[] = []
      const ready: PendingEntry<Op>[] = []
      for (const e of list) {
        const w = this.#waitSeq(e)
        if (w.source === s && w.seq > this.#clock.get(s)) keep.push(e)
        else ready.push(e)
      }
      if (keep.length > 0) this.#pending.set(s, keep)
      else this.#pending.delete(s)
      for (const e of ready) {
        this.#pendingCount -= e.size
        this.#applyFrom(e.range, e.index, origin, batch)
      }
    }
  }

  /**
   * This replica's history newer than `since`, one range per source in source order, updates
   * in seq order. Send it to a peer whose digest is `since` and the peer will have everything.
   */
  historySince(since: ReadonlyVersionVector = EMPTY): Range<Op>[] {
    const bySource = new Map<ReplicaId, Update<Op>[]>()
    // The one filter by the vector. A one-entry cache of the last source's bound and list:
    // histories mostly hold runs of one source's updates.
    let source: ReplicaId | undefined
    let bound = 0
    let list: Update<Op>[] | undefined
    for (const u of this.history(since)) {
      if (u.source !== source) {
        source = u.source
        bound = since.get(source)
        list = bySource.get(source)
      }
      if (updateEnd(u) <= bound) continue
      if (list === undefined) bySource.set(source, (list = []))
      list.push(u)
    }
    const out: Range<Op>[] = []
    for (const [s, to] of this.#clock.entries()) {
      let from = since.get(s)
      if (to <= from) continue
      const updates = bySource.get(s) ?? []
      for (let i = 1; i < updates.length; i++) {
        if (updates[i]!.seq < updates[i - 1]!.seq) {
          updates.sort((a, b) => a.seq - b.seq)
          break
        }
      }
      if (updates.length > 0 && updates[0]!.seq <= from) from = updates[0]!.seq - 1
      // Frozen and vouched: applyRanges takes them as they are, so they must stay as made.
      out.push(vouch(Object.freeze({ source: s, from, to, updates: Object.freeze(updates) })))
    }
    return out
  }

  /** Writes ranges of this type's ops. */
  writeRanges(encoder: encoding.Encoder, ranges: readonly Range<Op>[]): void {
    writeRanges(encoder, ranges, this.#opCodec)
  }

  /** Reads ranges of this type's ops, validating every op. */
  readRanges(decoder: decoding.Decoder): Range<Op>[] {
    return readRanges(decoder, this.#opCodec)
  }

  /** Ranges as standalone bytes. */
  encodeRanges(ranges: readonly Range<Op>[]): Uint8Array {
    return encodeWith((e) => this.writeRanges(e, ranges))
  }

  /** Decodes {@link encodeRanges} output. @throws HearsayError `HEARSAY_DECODE_ERROR` with the offset. */
  decodeRanges(bytes: Uint8Array): Range<Op>[] {
    return decodeWith(bytes, (d) => this.readRanges(d))
  }

  /**
   * The whole state as bytes: format version, type id, then the full history. Equal states
   * give byte-identical encodings; the replica id is not included.
   */
  encodeState(): Uint8Array {
    return encodeWith((e) => {
      encoding.writeVarUint(e, STATE_FORMAT_VERSION)
      encoding.writeVarUint(e, this.typeId)
      this.writeRanges(e, this.historySince(EMPTY))
    })
  }

  /**
   * Merges an encoded state (from {@link encodeState}, this type) into this replica. The bytes are
   * decoded in full before anything is applied.
   * @throws HearsayError `HEARSAY_DECODE_ERROR`, `HEARSAY_PROTOCOL_VERSION` or `HEARSAY_TYPE_MISMATCH`.
   */
  applyState(bytes: Uint8Array): ApplyResult {
    const ranges = decodeWith(bytes, (d) => {
      const v = readSafeUint(d)
      if (v !== STATE_FORMAT_VERSION) throw new HearsayError(ErrorCodes.PROTOCOL_VERSION, `state format ${v} is not ${STATE_FORMAT_VERSION}`, { offset: 0 })
      const t = readSafeUint(d)
      if (t !== this.typeId) throw new HearsayError(ErrorCodes.TYPE_MISMATCH, `state of type ${t} given to a ${this.typeName} (type ${this.typeId})`, { offset: 1 })
      return this.readRanges(d)
    })
    return this.applyRanges(ranges, 'state')
  }

  /** A new replica of the same type with a fresh id and this one's state. */
  clone(): this {
    const C = this.constructor as new (o: ReplicatedOptions) => this
    const copy = new C({ ...this.options, id: undefined })
    copy.applyState(this.encodeState())
    return copy
  }

  /** Ends every stream of this replica and refuses further use. Idempotent. */
  dispose(): void {
    if (this.#disposed) return
    this.#disposed = true
    this.#base.emit('dispose')
    this.#pending.clear()
    this.#pendingCount = 0
  }
}

/** True when a string (or an object key) anywhere in `v` is not well-formed UTF-16; deeper than 64 levels counts as true. */
function hasIllFormedString(v: unknown, depth: number): boolean {
  if (typeof v === 'string') return !(v as string & { isWellFormed(): boolean }).isWellFormed()
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) return false
  if (depth > 64) return true
  if (Array.isArray(v)) return v.some((x) => hasIllFormedString(x, depth + 1))
  for (const k of Object.keys(v)) if (hasIllFormedString(k, depth) || hasIllFormedString((v as Record<string, unknown>)[k], depth + 1)) return true
  return false
}
