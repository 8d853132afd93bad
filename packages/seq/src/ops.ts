// Encoding: the ops of List and Text and their bytes (see PROTOCOL.md).
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import {
  ErrorCodes,
  HearsayError,
  MAX_REPLICA_ID_LENGTH,
  isReplicaId,
  readBoundedString,
  readCount,
  readSafeUint,
  type Dot,
  type ReplicaId,
} from '@hearsay/core'

/**
 * A reference to one character (list slot) by id. A number is a reference to the source of the
 * update carrying the op: that many seqs back from the seq of the part holding the reference
 * (always >= 1). An object names another source: `n` is then the absolute seq in `src`. (An
 * object with `src === ''` is read as the number `n`; the decoder always gives numbers for the
 * update's own source, so typing and loading allocate nothing per reference.)
 */
export type Ref = number | SourceRef

/** A reference to seq `n` of source `src` (see {@link Ref}). */
export interface SourceRef {
  readonly src: string
  readonly n: number
}

export const INSERT = 0
export const DELETE = 1
export const MOVE = 2

/** Insert `len` characters between `left` and `right` (null: document start / end). */
export interface InsertPart<C> {
  readonly kind: typeof INSERT
  readonly len: number
  readonly left: Ref | null
  readonly right: Ref | null
  /** Content segments in order: content, or a count of characters already deleted (content dropped). */
  readonly segs: ReadonlyArray<C | number>
}

/** One run of deleted ids: `start`, then `len` ids stepping by `dir`. */
export interface DeleteRange {
  readonly start: Ref
  readonly len: number
  readonly dir: 1 | -1
}

/** Delete `len` characters, one seq each, listed by ranges of ids. */
export interface DeletePart {
  readonly kind: typeof DELETE
  readonly len: number
  readonly ranges: readonly DeleteRange[]
}

/** Move list element `elem` to a new slot between `left` and `right`; last writer (time, source) wins. */
export interface MovePart {
  readonly kind: typeof MOVE
  readonly len: 1
  readonly left: Ref | null
  readonly right: Ref | null
  readonly elem: Ref
  readonly time: number
}

export type Part<C> = InsertPart<C> | DeletePart | MovePart

/**
 * The op of a List or Text update: parts covering consecutive seqs from the update's seq. A
 * local edit is one part; history packs a source's runs into one update of many parts.
 */
export interface SeqOp<C> {
  readonly parts: ReadonlyArray<Part<C>>
  /** Cached dependencies (computed once). */
  deps?: readonly Dot[]
}

/** Writes the content of all segments of an op as one value, and reads it back split by counts. */
export interface ContentCodec<C> {
  write(encoder: encoding.Encoder, contents: readonly C[]): void
  /** Reads content for segments of the given counts; throws when the total does not match. */
  read(decoder: decoding.Decoder, counts: readonly number[]): C[]
  length(content: C): number
}

const MAX_SOURCES_PER_OP = 1 << 16

// Most integers in an op fit one to three bytes: read those inline, everything else through
// core's checked reader.
function readUint(decoder: decoding.Decoder): number {
  const pos = decoder.pos
  const arr = decoder.arr
  if (pos + 1 < arr.length) {
    const b = arr[pos]!
    if (b < 128) {
      decoder.pos = pos + 1
      return b
    }
    const c = arr[pos + 1]!
    if (c < 128 && c > 0) {
      decoder.pos = pos + 2
      return (b & 127) | (c << 7)
    }
    // Three bytes: seqs and distances of a few thousand up to 2^21.
    if (pos + 2 < arr.length) {
      const d = arr[pos + 2]!
      if (c >= 128 && d < 128 && d > 0) {
        decoder.pos = pos + 3
        return (b & 127) | ((c & 127) << 7) | (d << 14)
      }
    }
  } else if (pos < arr.length && arr[pos]! < 128) {
    decoder.pos = pos + 1
    return arr[pos]!
  }
  return readSafeUint(decoder)
}

// floor(w / 2) without a float division for the usual small words.
function half(w: number): number {
  return w < 0x80000000 ? w >>> 1 : Math.floor(w / 2)
}

function fail(decoder: decoding.Decoder, message: string): never {
  throw new HearsayError(ErrorCodes.DECODE_ERROR, message, { offset: decoder.pos })
}

/** The dots an op needs applied before it: the highest referenced seq of every other source. */
export function opDeps(op: SeqOp<unknown>, self: string): readonly Dot[] {
  if (op.deps !== undefined) return op.deps
  // Most ops name no other source: one pass without allocating, a map only when one shows up.
  let max: Map<string, number> | null = null
  const parts = op.parts
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!
    if (p.kind === DELETE) {
      const ranges = p.ranges
      for (let j = 0; j < ranges.length; j++) {
        const r = ranges[j]!
        const st = r.start
        if (typeof st === 'number' || st.src === '' || st.src === self) continue
        max = seeDep(max, st.src, r.dir === 1 ? st.n + r.len - 1 : st.n)
      }
    } else {
      const { left, right } = p
      if (left !== null && typeof left !== 'number' && left.src !== '' && left.src !== self) max = seeDep(max, left.src, left.n)
      if (right !== null && typeof right !== 'number' && right.src !== '' && right.src !== self) max = seeDep(max, right.src, right.n)
      if (p.kind === MOVE) {
        const e = p.elem
        if (typeof e !== 'number' && e.src !== '' && e.src !== self) max = seeDep(max, e.src, e.n)
      }
    }
  }
  const deps: Dot[] = []
  if (max !== null) for (const [source, seq] of max) deps.push({ source: source as ReplicaId, seq })
  op.deps = deps
  return deps
}

// Records seq `n` of `src` in the per-source maxima (created on first use).
function seeDep(max: Map<string, number> | null, src: string, n: number): Map<string, number> {
  max ??= new Map()
  const m = max.get(src)
  if (m === undefined || m < n) max.set(src, n)
  return max
}

const NO_SOURCES: string[] = []
const NO_DEPS: readonly Dot[] = Object.freeze([])
// The maxSeq of an op whose table is empty (skimParts writes nothing into it).
const NO_SEQS: number[] = []

// Adds `r`'s source to the op's table of other sources when it is new (the table is created on
// the first other source: most ops name none).
function noteSource(table: string[], r: Ref | null): string[] {
  if (r === null || typeof r === 'number' || r.src === '') return table
  if (table === NO_SOURCES) return [r.src]
  if (table.indexOf(r.src) < 0) table.push(r.src)
  return table
}

// A reference to the update's own source is one var-uint (n * 2); another source's is its table
// index (odd) then the seq.
function writeRef(encoder: encoding.Encoder, table: string[], r: Ref): void {
  if (typeof r === 'number') encoding.writeVarUint(encoder, r * 2)
  else if (r.src === '') encoding.writeVarUint(encoder, r.n * 2)
  else {
    encoding.writeVarUint(encoder, table.indexOf(r.src) * 2 + 1)
    encoding.writeVarUint(encoder, r.n)
  }
}

/** Writes an op: the table of other sources it names, then its parts. */
export function writeSeqOp<C>(encoder: encoding.Encoder, op: SeqOp<C>, content: ContentCodec<C>): void {
  let table = NO_SOURCES
  const parts = op.parts
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!
    if (p.kind === DELETE) for (const r of p.ranges) table = noteSource(table, r.start)
    else {
      table = noteSource(table, p.left)
      table = noteSource(table, p.right)
      if (p.kind === MOVE) table = noteSource(table, p.elem)
    }
  }
  encoding.writeVarUint(encoder, table.length)
  for (let i = 0; i < table.length; i++) encoding.writeVarString(encoder, table[i]!)
  encoding.writeVarUint(encoder, parts.length)
  let contents: C[] | null = null
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!
    // Head word: count * 16 | has right (8) | has left (4) | kind (2 bits); count is the
    // insert's length or the delete's number of ranges.
    if (p.kind === INSERT) {
      encoding.writeVarUint(encoder, p.len * 16 + (p.right ? 8 : 0) + (p.left ? 4 : 0) + INSERT)
      if (p.left) writeRef(encoder, table, p.left)
      if (p.right) writeRef(encoder, table, p.right)
      const segs = p.segs
      encoding.writeVarUint(encoder, segs.length)
      for (let j = 0; j < segs.length; j++) {
        const s = segs[j]!
        if (typeof s === 'number') encoding.writeVarUint(encoder, s * 2 + 1)
        else {
          encoding.writeVarUint(encoder, content.length(s) * 2)
          ;(contents ??= []).push(s)
        }
      }
    } else if (p.kind === DELETE) {
      encoding.writeVarUint(encoder, p.ranges.length * 16 + DELETE)
      for (const r of p.ranges) {
        writeRef(encoder, table, r.start)
        encoding.writeVarUint(encoder, r.len * 2 + (r.dir === -1 ? 1 : 0))
      }
    } else {
      encoding.writeVarUint(encoder, MOVE | (p.left ? 4 : 0) | (p.right ? 8 : 0))
      if (p.left) writeRef(encoder, table, p.left)
      if (p.right) writeRef(encoder, table, p.right)
      writeRef(encoder, table, p.elem)
      encoding.writeVarUint(encoder, p.time)
    }
  }
  // The content of every segment, as one value.
  if (contents !== null) content.write(encoder, contents)
}

function readRef(decoder: decoding.Decoder, table: string[]): Ref {
  const w = readUint(decoder)
  if (w % 2 === 0) {
    if (w === 0) fail(decoder, 'reference to its own part')
    return w / 2
  }
  const t = (w - 1) / 2
  if (t >= table.length) fail(decoder, `source index ${t} outside the op's table`)
  const n = readUint(decoder)
  if (n < 1) fail(decoder, 'reference to seq 0')
  return { src: table[t]!, n }
}

/**
 * Reads the parts of an op one at a time from its bytes, checking structure and bounds, into
 * reused fields: no object per part. Used for the checking pass when an op is read, to build
 * part objects on demand, and by the engine to apply a loaded op without building them.
 */
export class PartReader {
  decoder: decoding.Decoder
  // The current part (see the Part types).
  kind = 0
  len = 0
  left: Ref | null = null
  right: Ref | null = null
  elem: Ref = 1
  time = 0
  /** Insert: segment words (count * 2, + 1 when deleted) in `segs[0 .. nsegs)`. */
  readonly segs: number[] = []
  nsegs = 0
  /** Delete: ranges in `starts` / `lens` / `dirs` [0 .. nranges). */
  readonly starts: Ref[] = []
  readonly lens: number[] = []
  readonly dirs: Array<1 | -1> = []
  nranges = 0

  // With `transient`, the references of inserts and deletes are these reused objects, valid
  // until the next call of next(): the engine resolves them at once, and a load of a document
  // of several writers reads a reference to another source in almost every part.
  readonly #transient: boolean
  readonly #left = { src: '', n: 0 }
  readonly #right = { src: '', n: 0 }
  readonly #starts: Array<{ src: string; n: number }> = []

  /**
   * @param transient true when every reference of an insert or a delete is consumed before the
   *   next part is read (the engine's own passes); a move's references are always fresh objects.
   */
  constructor(
    bytes: Uint8Array,
    public table: string[],
    readonly allowMove: boolean,
    transient = false,
  ) {
    this.decoder = decoding.createDecoder(bytes)
    this.#transient = transient
  }

  /** Reads another op's parts with this reader (the engine keeps one per pass, not one per op). */
  reset(bytes: Uint8Array, table: string[]): this {
    this.decoder = decoding.createDecoder(bytes)
    this.table = table
    return this
  }

  // readRef into `into` (when transient) instead of a new object.
  #ref(into: { src: string; n: number }): Ref {
    const decoder = this.decoder
    const w = readUint(decoder)
    if (w % 2 === 0) {
      if (w === 0) fail(decoder, 'reference to its own part')
      return w / 2
    }
    const t = (w - 1) / 2
    if (t >= this.table.length) fail(decoder, `source index ${t} outside the op's table`)
    const n = readUint(decoder)
    if (n < 1) fail(decoder, 'reference to seq 0')
    if (!this.#transient) return { src: this.table[t]!, n }
    into.src = this.table[t]!
    into.n = n
    return into
  }

  /** Reads the next part. @throws HearsayError `HEARSAY_DECODE_ERROR`. */
  next(): void {
    const decoder = this.decoder
    const table = this.table
    const head = readUint(decoder)
    const kind = head % 4
    const count = Math.floor(head / 16)
    this.kind = kind
    if (kind === INSERT) {
      if (count < 1) fail(decoder, 'empty insert')
      this.len = count
      this.left = head & 4 ? this.#ref(this.#left) : null
      this.right = head & 8 ? this.#ref(this.#right) : null
      const ns = readCount(decoder, 1)
      const segs = this.segs
      let total = 0
      for (let j = 0; j < ns; j++) {
        const w = readUint(decoder)
        if (w < 2) fail(decoder, 'empty content segment')
        segs[j] = w
        total += half(w)
      }
      this.nsegs = ns
      if (total !== count) fail(decoder, `insert of ${count} carries ${total} characters`)
    } else if (kind === DELETE) {
      if (head % 16 !== DELETE) fail(decoder, 'unknown delete flags')
      const nr = count
      if (nr === 0 || nr * 2 > decoder.arr.length - decoder.pos) fail(decoder, 'delete without ranges or with more than the payload holds')
      let len = 0
      const pool = this.#starts
      for (let j = 0; j < nr; j++) {
        const start = this.#ref(pool[j] ?? (pool[j] = { src: '', n: 0 }))
        const w = readUint(decoder)
        const n = half(w)
        if (n < 1) fail(decoder, 'empty delete range')
        const dir = w & 1 ? -1 : 1
        if (dir === -1 && typeof start !== 'number' && start.n - n + 1 < 1) fail(decoder, 'delete range below seq 1')
        this.starts[j] = start
        this.lens[j] = n
        this.dirs[j] = dir
        len += n
      }
      this.nranges = nr
      this.len = len
    } else if (kind === MOVE && this.allowMove) {
      if (head > 15) fail(decoder, 'unknown move flags')
      this.len = 1
      this.left = head & 4 ? readRef(decoder, table) : null
      this.right = head & 8 ? readRef(decoder, table) : null
      this.elem = readRef(decoder, table)
      this.time = readUint(decoder)
    } else fail(decoder, `unknown part kind ${kind}`)
  }
}

/**
 * An op as read from bytes: it keeps its checked bytes and the content of its segments, and
 * builds its {@link SeqOp.parts} objects only when something asks for them. Loading a
 * document into an empty sequence applies it straight from the bytes (see SeqEngine.apply).
 */
export class ReadSeqOp<C> implements SeqOp<C> {
  deps?: readonly Dot[]
  #parts: Part<C>[] | null = null

  constructor(
    /** The bytes of the parts. */
    readonly bytes: Uint8Array,
    /** Other sources the parts name (see {@link Ref}). */
    readonly table: string[],
    /** Number of parts. */
    readonly count: number,
    /** Number of seqs the parts cover. */
    readonly length: number,
    /** Content of every content segment, in order. */
    readonly contents: C[],
    /** Whether any part is a move. */
    readonly hasMove: boolean,
    /** Kind of the first part (a one-part op needs no reading to know its kind). */
    readonly firstKind: number,
    deps: readonly Dot[] | undefined,
  ) {
    if (deps !== undefined) this.deps = deps
  }

  /** Whether {@link parts} has been built. */
  get built(): boolean {
    return this.#parts !== null
  }

  get parts(): ReadonlyArray<Part<C>> {
    if (this.#parts !== null) return this.#parts
    const r = new PartReader(this.bytes, this.table, true)
    const parts: Part<C>[] = new Array(this.count)
    let ci = 0
    for (let i = 0; i < this.count; i++) {
      r.next()
      if (r.kind === INSERT) {
        const segs: Array<C | number> = new Array(r.nsegs)
        for (let j = 0; j < r.nsegs; j++) {
          const w = r.segs[j]!
          segs[j] = w % 2 === 1 ? (w - 1) / 2 : this.contents[ci++]!
        }
        parts[i] = { kind: INSERT, len: r.len, left: r.left, right: r.right, segs }
      } else if (r.kind === DELETE) {
        const ranges: DeleteRange[] = new Array(r.nranges)
        for (let j = 0; j < r.nranges; j++) ranges[j] = { start: r.starts[j]!, len: r.lens[j]!, dir: r.dirs[j]! }
        parts[i] = { kind: DELETE, len: r.len, ranges }
      } else parts[i] = { kind: MOVE, len: 1, left: r.left, right: r.right, elem: r.elem, time: r.time }
    }
    this.#parts = parts
    return parts
  }
}

// Reads one var-uint at `pos` of `arr` for skimParts, which keeps its position in a local:
// returns it and leaves the next position in `skimPos`. One-byte integers are read inline.
let skimPos = 0
function skimUint(decoder: decoding.Decoder, arr: Uint8Array, pos: number): number {
  const b = arr[pos]!
  if (b < 128) {
    skimPos = pos + 1
    return b
  }
  decoder.pos = pos
  const w = readUint(decoder)
  skimPos = decoder.pos
  return w
}

function failAt(decoder: decoding.Decoder, pos: number, message: string): never {
  decoder.pos = pos
  fail(decoder, message)
}

// The checks of readRef at `pos` of `arr`, building nothing; leaves the next position in
// skimPos. A reference to a source of the table raises that source's entry of `maxSeq` (what
// the op depends on, see opDeps) and leaves its index in skimSource; a reference to a part of
// the op leaves -1 there. Returns the seq named (or the part's distance back).
let skimSource = -1
function skimRef(decoder: decoding.Decoder, arr: Uint8Array, pos: number, table: string[], maxSeq: number[]): number {
  const w = skimUint(decoder, arr, pos)
  if (w % 2 === 0) {
    if (w === 0) failAt(decoder, skimPos, 'reference to its own part')
    skimSource = -1
    return w / 2
  }
  const t = (w - 1) / 2
  if (t >= table.length) failAt(decoder, skimPos, `source index ${t} outside the op's table`)
  const n = skimUint(decoder, arr, skimPos)
  if (n < 1) failAt(decoder, skimPos, 'reference to seq 0')
  if (n > maxSeq[t]!) maxSeq[t] = n
  skimSource = t
  return n
}

// The left and right references an insert or move head announces, from `pos`; returns the
// position after them.
function skimOrigins(decoder: decoding.Decoder, arr: Uint8Array, pos: number, head: number, table: string[], maxSeq: number[]): number {
  if (head & 4) {
    skimRef(decoder, arr, pos, table, maxSeq)
    pos = skimPos
  }
  if (head & 8) {
    skimRef(decoder, arr, pos, table, maxSeq)
    pos = skimPos
  }
  return pos
}

/**
 * The checking pass over `np` parts at `decoder.pos`: the checks of {@link PartReader.next}
 * without keeping the parts (an op is applied from its bytes later). Pushes the count of every
 * content segment to `counts` and the highest seq it names of each table source to `maxSeq`,
 * leaves the decoder after the parts and returns the seqs the parts cover, negated when one is
 * a move.
 */
function skimParts(decoder: decoding.Decoder, np: number, table: string[], allowMove: boolean, counts: number[], maxSeq: number[]): number {
  const arr = decoder.arr
  let pos = decoder.pos
  let length = 0
  let hasMove = false
  for (let i = 0; i < np; i++) {
    const head = skimUint(decoder, arr, pos)
    pos = skimPos
    const kind = head % 4
    const count = Math.floor(head / 16)
    if (kind === INSERT) {
      if (count < 1) failAt(decoder, pos, 'empty insert')
      pos = skimOrigins(decoder, arr, pos, head, table, maxSeq)
      decoder.pos = pos
      const ns = readCount(decoder, 1)
      pos = decoder.pos
      let total = 0
      for (let j = 0; j < ns; j++) {
        const w = skimUint(decoder, arr, pos)
        pos = skimPos
        if (w < 2) failAt(decoder, pos, 'empty content segment')
        total += half(w)
        if (w % 2 === 0) counts.push(w / 2)
      }
      if (total !== count) failAt(decoder, pos, `insert of ${count} carries ${total} characters`)
      length += count
    } else if (kind === DELETE) {
      if (head % 16 !== DELETE) failAt(decoder, pos, 'unknown delete flags')
      if (count === 0 || count * 2 > arr.length - pos) failAt(decoder, pos, 'delete without ranges or with more than the payload holds')
      for (let j = 0; j < count; j++) {
        const start = skimRef(decoder, arr, pos, table, maxSeq)
        const t = skimSource
        const w = skimUint(decoder, arr, skimPos)
        pos = skimPos
        const n = half(w)
        if (n < 1) failAt(decoder, pos, 'empty delete range')
        if (w & 1 && t >= 0 && start - n + 1 < 1) failAt(decoder, pos, 'delete range below seq 1')
        // A forward range reaches up to start + n - 1 of its source (opDeps counts the same).
        if (!(w & 1) && t >= 0 && start + n - 1 > maxSeq[t]!) maxSeq[t] = start + n - 1
        length += n
      }
    } else if (kind === MOVE && allowMove) {
      if (head > 15) failAt(decoder, pos, 'unknown move flags')
      pos = skimOrigins(decoder, arr, pos, head, table, maxSeq)
      skimRef(decoder, arr, pos, table, maxSeq)
      skimUint(decoder, arr, skimPos)
      pos = skimPos
      length += 1
      hasMove = true
    } else failAt(decoder, pos, `unknown part kind ${kind}`)
  }
  decoder.pos = pos
  return hasMove ? -length : length
}

/**
 * Reads what {@link writeSeqOp} wrote, checking structure and bounds (references are checked
 * against the replica's state when the update is applied). The op builds its part objects only
 * when asked (see {@link ReadSeqOp}).
 * @throws HearsayError `HEARSAY_DECODE_ERROR` with the offset.
 */
export function readSeqOp<C>(decoder: decoding.Decoder, content: ContentCodec<C>, allowMove: boolean): ReadSeqOp<C> {
  const nt = readCount(decoder, 2)
  if (nt > MAX_SOURCES_PER_OP) fail(decoder, 'too many sources in one op')
  const table: string[] = []
  for (let i = 0; i < nt; i++) {
    const name = readBoundedString(decoder, MAX_REPLICA_ID_LENGTH * 3)
    if (!isReplicaId(name)) fail(decoder, 'bad source id in op')
    table.push(name)
  }
  const np = readCount(decoder, 2)
  if (np === 0) fail(decoder, 'op without parts')
  // The checking pass reads the parts in place (errors carry offsets into the whole input).
  const at = decoder.pos
  const counts: number[] = []
  const maxSeq: number[] = nt === 0 ? NO_SEQS : new Array(nt).fill(0)
  const sk = skimParts(decoder, np, table, allowMove, counts, maxSeq)
  const hasMove = sk < 0
  const length = hasMove ? -sk : sk
  // The kind is in the low bits of the first part's head, whatever its length in bytes.
  const firstKind = decoder.arr[at]! % 4
  // A copy: a pending op must not keep a whole frame or file alive.
  const bytes = decoder.arr.slice(at, decoder.pos)
  let values: C[] = []
  if (counts.length > 0) {
    const cat = decoder.pos
    try {
      values = content.read(decoder, counts)
    } catch (err) {
      if (err instanceof HearsayError) throw err
      throw new HearsayError(ErrorCodes.DECODE_ERROR, `malformed content: ${(err as Error).message}`, { offset: cat })
    }
  }
  // The dependencies come from the checking pass, so nothing builds the parts to find them (a
  // load of a document of several writers applies every op from its bytes). An op whose table
  // names no other source depends on nothing but its own earlier seqs, which the envelope
  // already orders. A table may name the op's own source: Replicated skips such a dependency.
  let deps: Dot[] | undefined
  for (let t = 0; t < nt; t++) if (maxSeq[t]! > 0) (deps ??= []).push({ source: table[t] as ReplicaId, seq: maxSeq[t]! })
  return new ReadSeqOp<C>(bytes, table, np, length, values, hasMove, firstKind, deps ?? NO_DEPS)
}
