import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { HearsayError, ErrorCodes } from './errors.js'
import type { ReplicaId } from './ids.js'
import { readCount, readReplicaId, readSafeInt, readSafeUint } from './encoding.js'
import type { Dot } from './VersionVector.js'

/**
 * One write, as it travels: who wrote it (`source`), its position in that source's history
 * (`seq`, counted from 1), its hybrid time, the dots it needs applied first, and the op.
 * A sequence type may pack a run of consecutive writes into one update spanning
 * `seq .. seq + len - 1`.
 */
export interface Update<Op> {
  readonly source: ReplicaId
  readonly seq: number
  /** Seqs this update spans; 1 when absent. */
  readonly len?: number
  readonly time: number
  readonly deps?: readonly Dot[]
  readonly op: Op
}

/**
 * A piece of one source's history: every update of `source` in `(from, to]` that the sender
 * still keeps. Compacting types leave out dominated updates, so a range can hold fewer
 * updates than its width; the receiver applies it when `from <= clock[source]`, then sets
 * `clock[source] = to`.
 */
export interface Range<Op> {
  readonly source: ReplicaId
  readonly from: number
  readonly to: number
  readonly updates: readonly Update<Op>[]
}

/** How a replicated type puts its ops into bytes. `read` validates and throws on bad input. */
export interface OpCodec<Op> {
  write(encoder: encoding.Encoder, op: Op): void
  read(decoder: decoding.Decoder): Op
}

/** The last seq an update covers. */
export function updateEnd(u: Update<unknown>): number {
  return u.len === undefined ? u.seq : u.seq + u.len - 1
}

/** Largest seq accepted; seq gaps are packed with two flag bits into one var-uint. */
export const MAX_SEQ = 2 ** 50

const F_DEPS = 1
const F_LEN = 2
// Set when the time is written; clear when it is the previous update's time + 1, which is
// what a burst of local writes produces, so such bursts spend no bytes on time.
const F_TIME = 4

/**
 * Writes one range: source, from, to, count, then per update a packed (seq gap, flags) word,
 * optional len, time as a delta from the previous update (omitted when it is exactly +1),
 * optional deps, and the op.
 */
export function writeRange<Op>(encoder: encoding.Encoder, range: Range<Op>, codec: OpCodec<Op>): void {
  encoding.writeVarString(encoder, range.source)
  encoding.writeVarUint(encoder, range.from)
  encoding.writeVarUint(encoder, range.to - range.from)
  encoding.writeVarUint(encoder, range.updates.length)
  let prevEnd = range.from
  let prevTime = 0
  for (const u of range.updates) {
    const nextTime = u.time === prevTime + 1
    let flags = nextTime ? 0 : F_TIME
    if (u.deps !== undefined && u.deps.length > 0) flags |= F_DEPS
    if (u.len !== undefined && u.len !== 1) flags |= F_LEN
    encoding.writeVarUint(encoder, (u.seq - prevEnd - 1) * 8 + flags)
    if (flags & F_LEN) encoding.writeVarUint(encoder, u.len!)
    if (!nextTime) encoding.writeVarInt(encoder, u.time - prevTime)
    if (flags & F_DEPS) {
      encoding.writeVarUint(encoder, u.deps!.length)
      for (const d of u.deps!) {
        encoding.writeVarString(encoder, d.source)
        encoding.writeVarUint(encoder, d.seq)
      }
    }
    codec.write(encoder, u.op)
    prevEnd = updateEnd(u)
    prevTime = u.time
  }
}

function bad(at: number, message: string): HearsayError {
  return new HearsayError(ErrorCodes.DECODE_ERROR, message, { offset: at })
}

/** Reads what {@link writeRange} wrote, checking ids, seq order, bounds and every op. */
export function readRange<Op>(decoder: decoding.Decoder, codec: OpCodec<Op>): Range<Op> {
  let at = decoder.pos
  const source = readReplicaId(decoder, 'bad source id')
  const from = readSafeUint(decoder)
  const to = from + readSafeUint(decoder)
  if (to > MAX_SEQ) throw bad(at, 'range end out of bounds')
  const count = readCount(decoder, 2)
  const updates: Update<Op>[] = new Array(count)
  let prevEnd = from
  let prevTime = 0
  for (let i = 0; i < count; i++) {
    at = decoder.pos
    const word = readSafeUint(decoder)
    const flags = word % 8
    const seq = prevEnd + 1 + Math.floor(word / 8)
    let len = 1
    if (flags & F_LEN) {
      len = readSafeUint(decoder)
      if (len < 1) throw bad(at, 'update length below 1')
    }
    const time = flags & F_TIME ? prevTime + readSafeInt(decoder) : prevTime + 1
    if (time < 0 || !Number.isSafeInteger(time)) throw bad(at, 'time out of range')
    const end = seq + len - 1
    if (end > to) throw bad(at, `update ${seq}..${end} lies outside its range (${from}, ${to}]`)
    let deps: Dot[] | undefined
    if (flags & F_DEPS) {
      const n = readCount(decoder, 2)
      deps = new Array(n)
      for (let j = 0; j < n; j++) {
        const dat = decoder.pos
        const ds = readReplicaId(decoder, 'bad dependency source id')
        const dseq = readSafeUint(decoder)
        if (dseq < 1 || (ds === source && dseq >= seq)) throw bad(dat, 'dependency on a later or empty seq')
        deps[j] = { source: ds, seq: dseq }
      }
    }
    const opAt = decoder.pos
    let op: Op
    try {
      op = codec.read(decoder)
    } catch (err) {
      if (err instanceof HearsayError) throw err
      throw new HearsayError(ErrorCodes.DECODE_ERROR, `malformed op: ${(err as Error).message}`, { offset: opAt, cause: err })
    }
    const u: { -readonly [K in keyof Update<Op>]: Update<Op>[K] } = { source, seq, time, op }
    if (len !== 1) u.len = len
    if (deps !== undefined) u.deps = deps
    updates[i] = u
    prevEnd = end
    prevTime = time
  }
  return { source, from, to, updates }
}

/** Writes a list of ranges: count, then each range. */
export function writeRanges<Op>(encoder: encoding.Encoder, ranges: readonly Range<Op>[], codec: OpCodec<Op>): void {
  encoding.writeVarUint(encoder, ranges.length)
  for (const r of ranges) writeRange(encoder, r, codec)
}

/** Reads what {@link writeRanges} wrote. */
export function readRanges<Op>(decoder: decoding.Decoder, codec: OpCodec<Op>): Range<Op>[] {
  const n = readCount(decoder, 4)
  const out: Range<Op>[] = new Array(n)
  for (let i = 0; i < n; i++) out[i] = vouch(readRange(decoder, codec))
  return out
}

// Ranges hearsay made itself: read through a type's codec (so every op was validated), taken
// from a replica's history, or emitted by a replica. `Replicated.applyRanges` applies these as
// they are; any other range (built by hand, cloned through postMessage or JSON, sliced by a
// caller) first goes through the type's codec, so what its decoder would refuse is refused in
// process too. A WeakSet: marking costs one insertion per range, nothing per update.
const vetted = new WeakSet<object>()

/** @internal Marks `r` as made by hearsay (see `isVouched`). */
export function vouch<R extends object>(r: R): R {
  vetted.add(r)
  return r
}

/** @internal True when `r` was read through a codec or made by a replica. */
export function isVouched(r: unknown): boolean {
  return typeof r === 'object' && r !== null && vetted.has(r)
}
