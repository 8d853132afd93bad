import { ErrorCodes, HearsayError, VersionVector, UPDATES_PER_FRAME, type Dot, type Range, type ReadonlyVersionVector, type ReplicaId, type Update } from '@hearsay/core'
import type { Timers } from './options.js'

/**
 * One object's history past a peer's vector, in the order a byte budget spends it: oldest
 * first, so that every prefix is something the peer can apply without gaps.
 *
 * Each source's updates stay in seq order (a receiver applies one source's ranges in order, so
 * a prefix of each source is the only useful thing to send); between sources the update with
 * the smaller hybrid time goes first (ties: the source seen first). Hybrid times grow along
 * causality (a replica's clock observes every update it applies before it writes), so an
 * update's dependencies come before it and a prefix never leaves one waiting in the peer's
 * causal buffer for a dependency the budget cut off.
 *
 * {@link peek} and {@link take} return ranges in core's sense: a piece of a source's range
 * covers `(from, to]` where `from` is where the previous piece ended and `to` is the end of its
 * last update, or the range's own `to` once its last update is taken (so the peer's clock moves
 * past seqs a compacting type left out). Ranges that hold no update go with the first take.
 */
export class OldestFirst<Op> {
  readonly #streams: Array<{ source: ReplicaId; ranges: Range<Op>[]; ri: number; ui: number; at: number }> = []
  /** Stream index of each update merged so far, oldest first: the merge runs only as far as a peek needs. */
  readonly #order: number[] = []
  readonly #total: number
  #pos = 0
  #leadDone = false
  /** The merge: one step appends the next update's stream to #order. */
  readonly #step: () => void

  /**
   * @param since what the peer holds (the vector the history was read past): dependencies it
   * covers are met. @param depsOf the dots an update needs first (`Replicated.dependencies`);
   * without it, hybrid time alone orders the sources.
   */
  constructor(ranges: readonly Range<Op>[], options: { since?: ReadonlyVersionVector; depsOf?: (u: Update<Op>) => readonly Dot[] | undefined } = {}) {
    const bySource = new Map<ReplicaId, number>()
    let total = 0
    for (const r of ranges) {
      let i = bySource.get(r.source)
      if (i === undefined) {
        bySource.set(r.source, (i = this.#streams.length))
        this.#streams.push({ source: r.source, ranges: [], ri: 0, ui: 0, at: r.from })
      }
      this.#streams[i]!.ranges.push(r)
      total += r.updates.length
    }
    this.#total = total
    const streams = this.#streams
    const covered = options.since?.clone() ?? new VersionVector()
    const depsOf = options.depsOf
    // The merge's own position in each stream: range and update index of its next update.
    const mri = new Uint32Array(streams.length)
    const mui = new Uint32Array(streams.length)
    const skipEmpty = (s: number): void => {
      const rs = streams[s]!.ranges
      while (mri[s]! < rs.length && mui[s]! >= rs[mri[s]!]!.updates.length) {
        mri[s]!++
        mui[s] = 0
      }
    }
    const head = (s: number): Update<Op> | undefined => streams[s]!.ranges[mri[s]!]?.updates[mui[s]!]
    // The first take covers every source's leading gap (see #pieces).
    for (let s = 0; s < streams.length; s++) {
      skipEmpty(s)
      const r = streams[s]!.ranges[0]!
      if (r.updates.length > 0) covered.advance(r.source, Math.max(r.from, r.updates[0]!.seq - 1))
    }
    // A merge of the streams by the time of their next update, in a binary heap of the streams
    // whose next update has its dependencies met; a stream whose next update needs a dot not
    // covered yet waits on that dot. Each stream stays in seq order whatever the times.
    const heap: number[] = []
    const waiting = new Map<string, Array<{ seq: number; stream: number }>>()
    const less = (a: number, b: number): boolean => {
      const ta = head(a)!.time
      const tb = head(b)!.time
      return ta < tb || (ta === tb && a < b)
    }
    const down = (i: number): void => {
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < heap.length && less(heap[l]!, heap[m]!)) m = l
        if (r < heap.length && less(heap[r]!, heap[m]!)) m = r
        if (m === i) return
        ;[heap[i], heap[m]] = [heap[m]!, heap[i]!]
        i = m
      }
    }
    const up = (i: number): void => {
      while (i > 0) {
        const p = (i - 1) >> 1
        if (!less(heap[i]!, heap[p]!)) return
        ;[heap[i], heap[p]] = [heap[p]!, heap[i]!]
        i = p
      }
    }
    const place = (s: number): void => {
      const u = head(s)
      if (u === undefined) return
      for (const d of depsOf?.(u) ?? []) {
        if (d.source === u.source || covered.get(d.source) >= d.seq) continue
        let w = waiting.get(d.source)
        if (w === undefined) waiting.set(d.source, (w = []))
        w.push({ seq: d.seq, stream: s })
        return
      }
      heap.push(s)
      up(heap.length - 1)
    }
    for (let s = 0; s < streams.length; s++) place(s)
    this.#step = () => {
      let s: number
      if (heap.length > 0) {
        s = heap[0]!
        const last = heap.pop()!
        if (heap.length > 0) {
          heap[0] = last
          down(0)
        }
      } else {
        // Every next update waits on another's (updates packed into runs can need each other):
        // the oldest goes anyway; the peer's causal buffer splits it, as it does any such cycle.
        let best: { source: string; i: number } | undefined
        for (const [source, w] of waiting) for (let i = 0; i < w.length; i++) if (best === undefined || less(w[i]!.stream, waiting.get(best.source)![best.i]!.stream)) best = { source, i }
        s = waiting.get(best!.source)!.splice(best!.i, 1)[0]!.stream
      }
      this.#order.push(s)
      // Where the peer's clock of the source stands once this update is taken: just before the
      // next kept update, or the range's end after the last one. The seqs between are ones a
      // compacting type left out, so a piece may cover them; covering them at once is what lets
      // an update that needs one of them (a remove that observed a since-removed add) go early.
      const r = streams[s]!.ranges[mri[s]!]!
      const i = mui[s]!
      const u = r.updates[i]!
      covered.advance(u.source, i === r.updates.length - 1 ? r.to : r.updates[i + 1]!.seq - 1)
      mui[s]!++
      skipEmpty(s)
      place(s)
      const w = waiting.get(u.source)
      if (w !== undefined) {
        const seq = covered.get(u.source)
        const released = w.filter((x) => x.seq <= seq)
        if (released.length > 0) {
          waiting.set(u.source, w.filter((x) => x.seq > seq))
          for (const x of released) place(x.stream)
        }
      }
    }
  }

  /** Updates not taken yet. */
  get remaining(): number {
    return this.#total - this.#pos
  }

  /** True once every update and every range was taken. */
  get done(): boolean {
    return this.remaining === 0 && (this.#leadDone || this.#streams.every((s) => s.ranges.every((r) => r.updates.length > 0)))
  }

  /** The next `count` updates (at most {@link remaining}) as ranges, without taking them. */
  peek(count: number): Range<Op>[] {
    return this.#pieces(Math.min(count, this.remaining), false)
  }

  /** Takes the next `count` updates: returns what {@link peek} would and moves past them. */
  take(count: number): Range<Op>[] {
    return this.#pieces(Math.min(count, this.remaining), true)
  }

  #pieces(count: number, advance: boolean): Range<Op>[] {
    while (this.#order.length < this.#pos + count) this.#step()
    const per = new Map<number, number>()
    for (let i = this.#pos; i < this.#pos + count; i++) per.set(this.#order[i]!, (per.get(this.#order[i]!) ?? 0) + 1)
    const lead = !this.#leadDone
    const out: Range<Op>[] = []
    for (let s = 0; s < this.#streams.length; s++) {
      const n = per.get(s) ?? 0
      const st = this.#streams[s]!
      let { ri, ui, at } = st
      // The first take carries every source's leading gap (no update there: the peer's clock
      // moves to just before the first kept one) and every range that holds no update.
      if (lead) {
        const r = st.ranges[0]!
        if (r.updates.length > 0 && r.updates[0]!.seq - 1 > at) {
          out.push({ source: st.source, from: at, to: r.updates[0]!.seq - 1, updates: [] })
          at = r.updates[0]!.seq - 1
        }
      } else if (n === 0) continue
      let left = n
      while (ri < st.ranges.length) {
        const r = st.ranges[ri]!
        const avail = r.updates.length - ui
        if (left === 0 && avail > 0) break
        const k = Math.min(avail, left)
        const updates: Update<Op>[] = r.updates.slice(ui, ui + k)
        left -= k
        if (k === avail) {
          out.push({ source: st.source, from: at, to: r.to, updates })
          ri++
          ui = 0
          if (ri < st.ranges.length) at = st.ranges[ri]!.from
        } else {
          const to = r.updates[ui + k]!.seq - 1
          out.push({ source: st.source, from: at, to, updates })
          ui += k
          at = to
          break
        }
      }
      if (advance) {
        st.ri = ri
        st.ui = ui
        st.at = at
      }
    }
    if (advance) {
      this.#pos += count
      this.#leadDone = true
    }
    return out
  }
}

/**
 * The largest `n` in `0..max` for which `fits(n)` holds, for a `fits` that holds up to some
 * point and not after (`fits(0)` is taken to hold and never called). Gallops up from `guess`
 * (doubling), then bisects: about 2·log2(n) calls.
 */
export function largestFitting(max: number, fits: (n: number) => boolean, guess = 1): number {
  if (max <= 0) return 0
  let lo = 0
  let hi = max + 1
  let k = Math.max(1, Math.min(max, Math.floor(guess)))
  for (;;) {
    if (!fits(k)) {
      hi = k
      break
    }
    lo = k
    if (k === max) return k
    k = Math.min(max, k * 2)
  }
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1
    if (fits(mid)) lo = mid
    else hi = mid
  }
  return lo
}

/** Why a budgeted sync ({@link SyncResult}) ended. */
export type SyncStop =
  /** The peer lacks nothing this node holds (a root exchange found both equal, or a whole exchange found nothing to send). */
  | 'complete'
  /** The next update did not fit in `maxBytes`; the next sync resumes there. */
  | 'budget'
  /** The connection was cut (or the peer closed it); the next sync resumes from what the peer applied. */
  | 'closed'
  /** `timeout` ms passed first. */
  | 'timeout'

/** Options of `Node.sync`. */
export interface SyncOptions {
  /**
   * Most bytes of updates to send (the session frames that carry ranges; the digest exchange
   * and the secure channel's overhead are not counted). Default: no limit. When the first
   * update to send alone is larger, it is sent alone anyway (so each sync moves at least one
   * update and a small budget cannot stall the peer), and the sync stops after it.
   */
  readonly maxBytes?: number | undefined
  /** Most ms the sync may take before it stops with `'timeout'` (default 60 000). */
  readonly timeout?: number | undefined
}

/** What `Node.sync` did. */
export interface SyncResult {
  /** The peer's node id. */
  readonly peerId: string
  /** Bytes of update frames sent: at most `maxBytes`, plus {@link overBudget}. */
  readonly sentBytes: number
  /** Updates sent. */
  readonly sentUpdates: number
  /** Bytes sent beyond `maxBytes`: the size of a first update larger than the budget, else 0. */
  readonly overBudget: number
  /** Every session frame this node sent and received, digest exchange included (not the channel's handshake and tags). */
  readonly bytesOut: number
  readonly bytesIn: number
  /** True when the peer was left lacking nothing this node held ({@link stopped} `'complete'`). */
  readonly complete: boolean
  readonly stopped: SyncStop
  /** Why the connection closed, when {@link stopped} is `'closed'`. */
  readonly error?: Error | undefined
}

/**
 * The byte budget of one `Node.sync` session: which history it still sends and how much it
 * has spent. A session with a budget sends no live pushes, only the history its digest
 * exchange asks for, each object oldest first ({@link OldestFirst}), each frame cut to fit what
 * is left, and stops for good at the first update that does not fit.
 */
export class SyncBudget {
  readonly maxBytes: number
  /** Bytes of update frames yielded. */
  spent = 0
  updates = 0
  /** Set when an update was left unsent for want of budget. */
  exhausted = false
  /** History reads waiting for local writes to be durable. */
  waiting = 0
  /** Root exchanges that found both sides equal, and rounds started. */
  equalRoots = 0
  /** Per object, what this session already queued: a later round of the session starts past it. */
  readonly #queued = new Map<string, VersionVector>()
  /** Bytes per update of the last frame, the first guess for the next one. */
  #perUpdate = 0

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes
  }

  /** Bytes yielded past {@link maxBytes} (a lone first update larger than the budget). */
  get overBudget(): number {
    return Math.max(0, this.spent - this.maxBytes)
  }

  /** Where to start an object's history: the peer's vector merged with what this session queued already. */
  since(objectId: string, theirs: ReadonlyVersionVector): VersionVector {
    const q = this.#queued.get(objectId)
    return q === undefined ? theirs.clone() : theirs.clone().merge(q)
  }

  /**
   * The frames of `ranges` (one object's history past {@link since}) that fit: oldest first,
   * each frame the most updates that fit both what is left of the budget and `maxFrame` (and
   * at most `UPDATES_PER_FRAME`). Frames are cut as they are pulled, so the charge follows
   * what really goes out. `encode` builds the frame of some ranges; `tooLarge` is told of an
   * update that alone exceeds `maxFrame` (the object's later history stays unsent).
   */
  *frames(objectId: string, ranges: readonly Range<any>[], maxFrame: number, encode: (chunk: readonly Range<any>[]) => Uint8Array, tooLarge: (bytes: number) => void, order: { since?: ReadonlyVersionVector; depsOf?: (u: Update<any>) => readonly Dot[] | undefined } = {}): Generator<Uint8Array> {
    const q = this.#queued.get(objectId) ?? new VersionVector()
    this.#queued.set(objectId, q)
    for (const r of ranges) q.advance(r.source, r.to)
    const cursor = new OldestFirst(ranges, order)
    while (!cursor.done) {
      if (this.exhausted) return
      const room = Math.min(this.maxBytes - this.spent, maxFrame)
      const max = Math.min(cursor.remaining, UPDATES_PER_FRAME)
      let best: { n: number; frame: Uint8Array } | undefined
      const fits = (n: number): boolean => {
        const frame = encode(cursor.peek(n))
        if (frame.length > room) return false
        if (best === undefined || n > best.n) best = { n, frame }
        return true
      }
      let taken = 0
      let frame: Uint8Array
      if (cursor.remaining === 0) {
        // Only ranges without updates are left (seqs a compacting type left out): a few bytes.
        frame = encode(cursor.peek(0))
      } else {
        taken = largestFitting(max, fits, this.#perUpdate > 0 ? room / this.#perUpdate : 1)
        if (taken > 0) {
          frame = best!.frame
        } else {
          const one = encode(cursor.peek(1))
          if (one.length > maxFrame) {
            tooLarge(one.length)
            return
          }
          // A first update larger than the whole budget goes alone: otherwise no sync with
          // this budget could ever move it, and every later update of its source waits behind it.
          if (this.spent > 0) {
            this.exhausted = true
            return
          }
          taken = 1
          frame = one
        }
      }
      cursor.take(taken)
      if (taken > 0) this.#perUpdate = frame.length / taken
      this.spent += frame.length
      this.updates += taken
      yield frame
      if (this.spent >= this.maxBytes) {
        if (!cursor.done) this.exhausted = true
        return
      }
    }
  }
}

/** How often a running sync looks at its session (ms). */
const POLL_MS = 2

/** Shortest silence (ms) after which an exchange that got its answers counts as finished. */
export const MIN_QUIET_MS = 25

/** What {@link runSync} drives: a gossip session with a budget. */
export interface SyncSession {
  readonly state: 'hello' | 'ready' | 'closed'
  readonly peerId: string | undefined
  readonly stats: { readonly bytesIn: number; readonly bytesOut: number; readonly framesIn: number; readonly framesOut: number }
  readonly idle: boolean
  readonly closeReason: Error | undefined
  startRound(now: boolean): void
  close(reason?: Error): void
}

/**
 * Runs one budgeted sync on a dialed session: waits for the peer to authenticate, then runs
 * reconciling rounds until the peer lacks nothing this node holds (`'complete'`: a root
 * exchange found both equal, or a round's whole exchange found nothing more to send), the
 * budget stops it (`'budget'`, once what it sent is handed to the connection), the link is cut
 * (`'closed'`) or `timeout` passes; then closes the session, gracefully (what was sent is
 * delivered). A round's exchange counts as finished after a silence of four round trips (at
 * least {@link MIN_QUIET_MS}) with nothing left to send; later rounds of one session never
 * send what an earlier one queued ({@link SyncBudget.since}).
 * @throws HearsayError when the session closes before the peer authenticated (its reason), or `HEARSAY_TIMEOUT`.
 */
export async function runSync(s: SyncSession, budget: SyncBudget, o: { now(): number; timers: Timers; timeout: number }): Promise<SyncResult> {
  const sleep = (): Promise<void> => new Promise((r) => o.timers.setTimeout(r, POLL_MS))
  const deadline = o.now() + o.timeout
  while (s.state === 'hello' && o.now() < deadline) await sleep()
  if (s.state === 'hello') {
    const err = new HearsayError(ErrorCodes.TIMEOUT, `the peer did not authenticate within ${o.timeout} ms`)
    s.close(err)
    throw err
  }
  if (s.state === 'closed') throw s.closeReason ?? new HearsayError(ErrorCodes.TRANSPORT_ERROR, 'the peer closed the connection before it authenticated')
  let stopped: SyncStop | undefined
  while (stopped === undefined) {
    const equal = budget.equalRoots
    const spent = budget.spent
    const framesIn = s.stats.framesIn
    const started = o.now()
    let rtt: number | undefined
    let frames = s.stats.framesIn + s.stats.framesOut
    let active = started
    s.startRound(true)
    for (;;) {
      await sleep()
      const t = o.now()
      if ((s.state as string) === 'closed') {
        stopped = 'closed'
        break
      }
      if (budget.exhausted) {
        if (!s.idle) continue
        stopped = 'budget'
        break
      }
      if (budget.equalRoots > equal) {
        stopped = 'complete'
        break
      }
      if (t >= deadline) {
        stopped = 'timeout'
        break
      }
      const f = s.stats.framesIn + s.stats.framesOut
      if (f !== frames) {
        frames = f
        active = t
      }
      if (rtt === undefined && s.stats.framesIn > framesIn) rtt = t - started
      if (rtt === undefined || !s.idle || budget.waiting > 0 || t - active < Math.max(MIN_QUIET_MS, 4 * rtt)) continue
      // The exchange went quiet: if this round found nothing more to send, the peer lacks nothing of ours.
      if (budget.spent === spent) stopped = 'complete'
      break
    }
  }
  const error = stopped === 'closed' ? s.closeReason : undefined
  s.close()
  return {
    peerId: s.peerId!,
    sentBytes: budget.spent,
    sentUpdates: budget.updates,
    overBudget: budget.overBudget,
    bytesOut: s.stats.bytesOut,
    bytesIn: s.stats.bytesIn,
    complete: stopped === 'complete',
    stopped,
    ...(error !== undefined && { error }),
  }
}
