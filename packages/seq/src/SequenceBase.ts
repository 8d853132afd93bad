import {
  ErrorCodes,
  encodeWith,
  HearsayError,
  LOCAL_ORIGIN,
  Replicated,
  type ReplicatedEvents,
  type Dot,
  type ReadonlyVersionVector,
  type ReplicatedOptions,
  type Update,
  type decoding,
  type encoding,
} from '@hearsay/core'
import { InvalidOp } from './InvalidOp.js'
import { SeqEngine, type ContentKind, type Edit } from './SeqEngine.js'
import type { SourceLog } from './SourceLog.js'
import type { ListMoves } from './moves.js'
import { opDeps, readSeqOp, writeSeqOp, type ContentCodec, type Part, type SeqOp } from './ops.js'
import { composeEdits, type Delta, type SeqEdit } from './delta.js'

const SIZE_CHECKED = { sizeChecked: true } as const

/**
 * A stable id of a list element or text character, `"<seq>@<source>"`: it survives remote edits,
 * so it makes a cursor. Resolve it with `indexOf`.
 */
export type ElementId = string

/**
 * What a {@link List} or {@link Text} emits, besides the base events. `C` is the content of a
 * delta (a string for Text, the element array for List), `Op` the type's op.
 */
export interface SequenceEvents<C, Op = SeqOp<C>> extends ReplicatedEvents<Op> {
  /** After every local edit and every applied remote batch: the change as a delta over the content before it. */
  change: (delta: Delta<C>, origin: unknown) => void
}

/**
 * @internal Test-only: the engine behind a List or Text (see internal.ts). Set once the class
 * below is defined; the field stays protected for everything else.
 */
export let engineOf: <C>(sequence: SequenceBase<C, unknown>) => SeqEngine<C>

/**
 * What List and Text share: the engine, the op codec, local commits and `change` events.
 * Not exported from the package; use {@link List} or {@link Text}.
 */
export abstract class SequenceBase<C, Json, D = C> extends Replicated<SeqOp<C>, Json, SequenceEvents<D, SeqOp<C>>> {
  /** @internal */
  protected readonly engine: SeqEngine<C>

  static {
    engineOf = <C>(sequence: SequenceBase<C, unknown>) => sequence.engine
  }
  #me: SourceLog<C>
  readonly #codec: ContentCodec<C>
  readonly #isList: boolean
  #localOp: SeqOp<C> | null = null
  #pendingEdits: Edit<C>[] = []

  constructor(options: ReplicatedOptions | undefined, kind: ContentKind<C>, codec: ContentCodec<C>, moves: ListMoves | null) {
    super(options)
    this.engine = new SeqEngine<C>(kind, moves)
    this.#me = this.engine.agent(this.id)
    this.#codec = codec
    this.#isList = moves !== null
  }

  // Local edits go to the log of the replica's current source.
  protected override sourceChanged(): void {
    this.#me = this.engine.agent(this.id)
  }

  /** Number of visible items (UTF-16 code units for Text, elements for List). */
  get length(): number {
    return this.engine.length
  }

  /**
   * Refuses inserting `content` when its update would exceed the replica's update limit; called
   * before the engine changes, since a sequence places an insert before it commits it.
   * @throws HearsayError `HEARSAY_VALUE_TOO_LARGE`.
   */
  protected checkInsertSize(content: C): void {
    this.checkUpdateSize(content, () => encodeWith((e) => this.#codec.write(e, [content])).length)
  }

  /**
   * Runs a local edit: `build` mutates the engine as seqs from the next one and returns the part
   * to commit. Its size is checked by the caller ({@link checkInsertSize}) before, not after,
   * the engine changed; deletes and moves are a few ranges.
   */
  protected commitLocal(build: (me: SourceLog<C>, seq: number) => Part<C>): void {
    this.assertWritable()
    const seq = this.clock.get(this.id) + 1
    const track = this.listenerCount('change') > 0
    // Edits already pending mean an `update` listener is editing in the middle of a remote
    // batch: this edit joins that batch's delta, which stays relative to the text before it.
    const inBatch = this.#pendingEdits.length > 0
    if (track) this.engine.edits = inBatch ? this.#pendingEdits : []
    else this.#pendingEdits = []
    let part: Part<C>
    try {
      part = build(this.#me, seq)
    } finally {
      if (track) {
        this.#pendingEdits = this.engine.edits!
        this.engine.edits = null
      }
    }
    const op: SeqOp<C> = { parts: [part] }
    this.#localOp = op
    try {
      this.commit(op, part.len === 1 ? SIZE_CHECKED : { len: part.len, sizeChecked: true })
    } finally {
      this.#localOp = null
    }
    // Buffered updates released by this commit were emitted with it by afterApply.
    if (track && !inBatch) this.#emitEdits(LOCAL_ORIGIN)
  }

  protected applyOp(u: Update<SeqOp<C>>, covered: number): boolean {
    if (u.op === this.#localOp) {
      this.#me.lastTime = u.time
      return true
    }
    try {
      this.engine.validate(u.op, u.source, u.seq, covered, u.len ?? 1)
    } catch (err) {
      if (err instanceof InvalidOp) throw new HearsayError(ErrorCodes.INVALID_UPDATE, err.message)
      throw err
    }
    if (this.listenerCount('change') > 0) this.engine.edits = this.#pendingEdits
    // Without a listener nothing is collected; edits collected earlier in this batch (before the
    // last listener went) would make a torn delta, so they go too.
    else if (this.#pendingEdits.length > 0) this.#pendingEdits = []
    try {
      this.engine.apply(u.op, u.source, u.seq, covered)
    } finally {
      this.engine.edits = null
    }
    const a = this.engine.agent(u.source)
    if (u.time > a.lastTime) a.lastTime = u.time
    return true
  }

  protected override afterApply(origin: unknown): void {
    this.engine.endBatch()
    if (this.#pendingEdits.length > 0) this.#emitEdits(origin)
  }

  /**
   * Emits the edits collected for one batch (a local edit, or one applied batch of remote
   * updates) as one `change` event whose delta turns the text before the batch into the text
   * after it; no event when they cancel out. Positions of the edits follow each other, so
   * they compose in the order they were made.
   */
  #emitEdits(origin: unknown): void {
    const edits = this.#pendingEdits
    this.#pendingEdits = []
    if (edits.length === 0 || this.listenerCount('change') === 0) return
    const delta = composeEdits(edits as SeqEdit<C>[], this.engine.kind)
    if (delta.length > 0) this.emit('change', delta as Delta<unknown> as Delta<D>, origin)
  }

  protected *history(since: ReadonlyVersionVector): Iterable<Update<SeqOp<C>>> {
    yield* this.engine.history(since)
  }

  protected override depsOf(u: Update<SeqOp<C>>): readonly Dot[] | undefined {
    return opDeps(u.op, u.source)
  }

  protected override writeOp(encoder: encoding.Encoder, op: SeqOp<C>): void {
    writeSeqOp(encoder, op, this.#codec)
  }

  protected override readOp(decoder: decoding.Decoder): SeqOp<C> {
    return readSeqOp(decoder, this.#codec, this.#isList)
  }

  /** The stable id of the item at `index` (see {@link ElementId}). @throws RangeError when out of range. */
  idAt(index: number): ElementId {
    this.checkIndex(index, this.length - 1)
    const [a, s] = this.engine.elementAt(index)
    return `${s}@${this.engine.agents[a]!.name}`
  }

  /** The current index of the item with id `id`, or -1 when it was deleted or is unknown here. */
  indexOf(id: ElementId): number {
    if (typeof id !== 'string') throw new TypeError('an element id is a string from idAt()')
    const at = id.indexOf('@')
    const seq = Number(id.slice(0, at))
    const a = this.engine.byName.get(id.slice(at + 1))
    if (at < 1 || !Number.isSafeInteger(seq) || a === undefined) return -1
    return this.engine.indexOfElement(a.index, seq)
  }

  /** @throws RangeError unless `index` is an integer in [0, max]. */
  protected checkIndex(index: number, max: number, name = 'index'): void {
    if (!Number.isInteger(index) || index < 0 || index > max) throw new RangeError(`${name} ${index} is outside 0..${max}`)
  }
}
