import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import {
  ErrorCodes,
  HearsayError,
  Replicated,
  type ReplicatedEvents,
  YDocTypeId,
  readBytes,
  registerType,
  updateEnd,
  type ReadonlyVersionVector,
  type ReplicaId,
  type ReplicatedOptions,
  type Update,
} from '@hearsay/core'

/** Options of a {@link YDocReplica}. */
export interface YDocReplicaOptions extends ReplicatedOptions {
  /**
   * The document to replicate (default: a new `Y.Doc`). Content it already holds becomes this
   * replica's first update. A document you pass is not destroyed by `dispose()`.
   */
  doc?: Y.Doc
}

/**
 * Updates of one source are merged into aligned blocks of this many seqs, then blocks of
 * BLOCK² and so on. The boundaries depend only on seq numbers, so every replica holding the same
 * updates holds the same blocks with the same bytes. Part of the format: never change it.
 */
export const YDOC_BLOCK = 16

/** Largest Yjs update accepted from a peer, in bytes (64 MiB). */
export const MAX_YJS_UPDATE = 64 * 1024 * 1024

function isCanonicalSpan(seq: number, len: number): boolean {
  if (len === 1) return true
  let size = YDOC_BLOCK
  while (size < len) size *= YDOC_BLOCK
  return size === len && (seq - 1) % len === 0
}

/** What a {@link YDocReplica} emits, besides the base events. */
export interface YDocReplicaEvents extends ReplicatedEvents<Uint8Array> {
  /** After each applied remote batch, with the batch's origin. */
  change: (origin: unknown) => void
}

/**
 * A `Y.Doc` replicated through hearsay: any Yjs type in it (Y.Text, Y.Map, Y.Array, Y.Xml...)
 * syncs through hearsay streams and nodes and persists in a hearsay store.
 *
 * Every local Yjs transaction becomes one hearsay update (op: the Yjs update bytes) written by
 * this replica; remote updates are applied with `Y.applyUpdate` under an origin this replica
 * ignores, so they are never re-emitted as local. Yjs tolerates any delivery order (it buffers
 * structs whose predecessors are missing), so updates carry no hearsay dependencies.
 *
 * History compaction: the updates of each source are merged with `Y.mergeUpdates` into aligned
 * blocks of {@link YDOC_BLOCK} seqs (then BLOCK², ...), as soon as a block is complete. Block
 * boundaries depend only on seqs, so equal states encode to byte-identical `encodeState()`
 * output, and a store's snapshot stays near the size of the merged Yjs updates.
 *
 * Validation: every update from a peer is decoded with `Y.decodeUpdate` before anything is
 * applied, and must span one seq or one aligned block; anything else is refused whole.
 *
 * Events: the base class's, plus `change` (origin) after each remote batch. Observe the Yjs
 * types themselves for fine-grained changes.
 *
 * @example
 * ```ts
 * const a = new YDocReplica({ id: 'a' }), b = new YDocReplica({ id: 'b' })
 * const sa = a.createStream(), sb = b.createStream()
 * sa.pipe(sb).pipe(sa)
 * a.doc.getText('t').insert(0, 'hello')   // b.doc.getText('t').toString() === 'hello' once frames flow
 * ```
 */
export class YDocReplica extends Replicated<Uint8Array, Record<string, unknown>, YDocReplicaEvents> {
  static override readonly typeId = YDocTypeId
  static override readonly typeName = 'YDoc'

  /** The replicated document. */
  readonly doc: Y.Doc
  readonly #ownsDoc: boolean
  // Per source: held updates (single seqs or merged blocks) by first seq.
  readonly #held = new Map<ReplicaId, Map<number, Update<Uint8Array>>>()
  // The origin remote updates are applied with, so the update listener can skip them.
  readonly #origin = Symbol('hearsay-remote')
  #local = false
  readonly #onUpdate = (update: Uint8Array, origin: unknown) => {
    if (origin === this.#origin || !this.isOpen) return
    this.#local = true
    try {
      // The Y.Doc changed before it emitted this update, so it cannot be refused here any more;
      // an update over the limit is reported when it cannot be sent (HEARSAY_FRAME_TOO_LARGE).
      this.commit(update, { sizeChecked: true })
    } finally {
      this.#local = false
    }
  }

  /** @throws TypeError when `doc` is not a `Y.Doc`. */
  constructor(options: YDocReplicaOptions = {}) {
    const { doc, ...rest } = options ?? {}
    super(rest)
    if (doc !== undefined && !(doc instanceof Y.Doc)) throw new TypeError('doc is a Y.Doc')
    this.#ownsDoc = doc === undefined
    this.doc = doc ?? new Y.Doc()
    // Content the document held before it was wrapped is this replica's first update.
    if (doc !== undefined && Y.encodeStateVector(doc).length > 1) this.#onUpdate(Y.encodeStateAsUpdate(doc), undefined)
    this.doc.on('update', this.#onUpdate)
  }

  protected applyOp(u: Update<Uint8Array>): boolean {
    const len = u.len ?? 1
    if (!isCanonicalSpan(u.seq, len)) throw new HearsayError(ErrorCodes.INVALID_UPDATE, `Yjs update ${u.source}:${u.seq} spans ${len} seqs, not an aligned block of ${YDOC_BLOCK}^k`)
    if (!this.#local) Y.applyUpdate(this.doc, u.op, this.#origin)
    this.#hold(u)
    return true
  }

  #hold(u: Update<Uint8Array>): void {
    let held = this.#held.get(u.source)
    if (held === undefined) this.#held.set(u.source, (held = new Map()))
    const end = updateEnd(u)
    // A block replaces the smaller pieces inside it.
    if (end > u.seq) for (const s of [...held.keys()]) if (s >= u.seq && s <= end) held.delete(s)
    held.set(u.seq, u)
    // Merge upwards while the enclosing aligned block is complete.
    let size = Math.max(YDOC_BLOCK, (u.len ?? 1) * YDOC_BLOCK)
    for (;;) {
      const start = Math.floor((u.seq - 1) / size) * size + 1
      const last = start + size - 1
      const parts: Update<Uint8Array>[] = []
      let s = start
      while (s <= last) {
        const p = held.get(s)
        if (p === undefined) return
        parts.push(p)
        s = updateEnd(p) + 1
      }
      const merged: Update<Uint8Array> = { source: u.source, seq: start, len: size, time: parts[parts.length - 1]!.time, op: Y.mergeUpdates(parts.map((p) => p.op)) }
      for (const p of parts) held.delete(p.seq)
      held.set(start, merged)
      size *= YDOC_BLOCK
    }
  }

  protected *history(since: ReadonlyVersionVector): Iterable<Update<Uint8Array>> {
    for (const [source, held] of this.#held) {
      const have = since.get(source)
      for (const u of held.values()) if (updateEnd(u) > have) yield u
    }
  }

  protected override writeOp(e: encoding.Encoder, op: Uint8Array): void {
    encoding.writeVarUint8Array(e, op)
  }

  protected override readOp(d: decoding.Decoder): Uint8Array {
    const at = d.pos
    const bytes = readBytes(d)
    if (bytes.length > MAX_YJS_UPDATE) throw new HearsayError(ErrorCodes.DECODE_ERROR, `Yjs update of ${bytes.length} bytes exceeds ${MAX_YJS_UPDATE}`, { offset: at })
    try {
      Y.decodeUpdate(bytes)
    } catch (err) {
      throw new HearsayError(ErrorCodes.DECODE_ERROR, `malformed Yjs update: ${(err as Error)?.message ?? err}`, { offset: at, cause: err })
    }
    // Own the bytes: the frame buffer they were read from may be reused.
    return bytes.slice()
  }

  protected override afterApply(origin: unknown): void {
    this.emit('change', origin)
  }

  /** Updates and merged blocks held, over all sources (for stats and tests). */
  get heldCount(): number {
    let n = 0
    for (const h of this.#held.values()) n += h.size
    return n
  }

  /**
   * The document as plain JSON (`Y.Doc#toJSON`): the root types this replica has defined
   * (`doc.getText('t')`...), with every object's keys in code-unit order. Yjs lists a map's keys
   * in the order this replica first saw them, so two converged replicas would otherwise
   * serialize differently.
   */
  toJSON(): Record<string, unknown> {
    return sortKeys(this.doc.toJSON()) as Record<string, unknown>
  }

  /** Stops replicating: detaches from the document (and destroys it when the replica created it). */
  override dispose(): void {
    if (!this.isOpen) return
    this.doc.off('update', this.#onUpdate)
    super.dispose()
    if (this.#ownsDoc) this.doc.destroy()
  }
}

registerType(YDocReplica)

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys)
  if (typeof v !== 'object' || v === null || v instanceof Uint8Array) return v
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k])
  return out
}
