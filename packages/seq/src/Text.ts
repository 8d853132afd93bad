import * as encoding from 'lib0/encoding'
import { TextTypeId, readBoundedString, registerType, type ReplicatedOptions, type decoding } from '@hearsay/core'
import { SequenceBase } from './SequenceBase.js'
import type { ContentKind } from './SeqEngine.js'
import type { ContentCodec } from './ops.js'
import type { Leaf } from './BlockTree.js'

const textKind: ContentKind<string> = {
  empty: () => '',
  length: (c) => c.length,
  slice: (c, s, e) => c.slice(s, e),
  append: (a, b) => a + b,
  // charCodeAt flattens a rope built by many appends into one flat string.
  compact: (c) => void c.charCodeAt(0),
  splitsAfter: (c, off) => isHigh(c.charCodeAt(off)),
  splitsBefore: (c, off) => isLow(c.charCodeAt(off)),
  wellFormed: (c) => (c as unknown as { isWellFormed(): boolean }).isWellFormed(),
}

// All segments of an op travel as one string, cut by the segments' counts on reading.
const textCodec: ContentCodec<string> = {
  write: (e: encoding.Encoder, cs: readonly string[]) => encoding.writeVarString(e, cs.length === 1 ? cs[0]! : cs.join('')),
  read: (d: decoding.Decoder, counts: readonly number[]) => {
    let total = 0
    for (const n of counts) total += n
    const s = readBoundedString(d, total * 3)
    if (s.length !== total) throw new RangeError(`text content of ${s.length} code units where ${total} were announced`)
    if (counts.length === 1) return [s]
    const out: string[] = new Array(counts.length)
    for (let i = 0, at = 0; i < counts.length; i++) {
      out[i] = s.slice(at, at + counts[i]!)
      at += counts[i]!
    }
    return out
  },
  length: (c) => c.length,
}

function isHigh(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff
}

function isLow(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff
}

/** Options of a {@link Text}. */
export type TextOptions = ReplicatedOptions

/**
 * A replicated plain text. Concurrent edits merge without a server; concurrent inserts at the
 * same place never interleave (YjsMod/FugueMax ordering, see PROTOCOL.md); runs typed by one
 * source are stored and sent as one block.
 *
 * Indices count UTF-16 code units, as JS strings do. An index that would split a surrogate
 * pair is refused with a RangeError, and so is a string holding a lone surrogate, so the text
 * never holds half a character.
 *
 * Events: `change` (delta, origin) after every local edit and every applied remote batch; each
 * delta applies to the text as it was after the previous event. Plus the base events
 * (`update`, `ranges`, `rejected`, `dispose`).
 *
 * @example
 * ```ts
 * const a = new Text({ id: 'a' }), b = new Text({ id: 'b' })
 * a.insert(0, 'hello')
 * b.applyState(a.encodeState())
 * b.insert(5, ' world')   // b.toString() === 'hello world'
 * ```
 */
export class Text extends SequenceBase<string, string> {
  static override readonly typeId = TextTypeId
  static override readonly typeName = 'Text'

  constructor(options: TextOptions = {}) {
    super(options, textKind, textCodec, null)
  }

  /**
   * Inserts `text` at `index` (0..length).
   * @throws TypeError when `text` is not a well-formed string; RangeError when `index` is out of range or inside a surrogate pair.
   */
  insert(index: number, text: string): void {
    if (typeof text !== 'string') throw new TypeError('text is a string')
    this.checkIndex(index, this.length)
    if (text.length === 0) return
    if (!textKind.wellFormed!(text)) throw new TypeError('text holds a lone surrogate')
    // The engine refuses an index inside a surrogate pair before changing anything.
    this.checkInsertSize(text)
    this.commitLocal((me, seq) => this.engine.localInsert(me, seq, index, text))
  }

  /**
   * Deletes `count` code units from `index`.
   * @throws RangeError when the range is out of bounds or would split a surrogate pair.
   */
  delete(index: number, count = 1): void {
    this.checkIndex(index, this.length)
    this.checkIndex(count, this.length - index, 'count')
    if (count === 0) return
    this.commitLocal((me, seq) => this.engine.localDelete(me, seq, this.engine.visibleRanges(index, count)))
  }

  /** The text between `start` and `end` (like String.prototype.slice with non-negative indices). */
  slice(start = 0, end = this.length): string {
    start = Math.max(0, Math.min(start, this.length))
    end = Math.max(start, Math.min(end, this.length))
    if (start === end) return ''
    let out = ''
    const cur = this.engine.tree.findVisible(start)
    let b: ReturnType<typeof this.engine.tree.firstBlock> = cur.leaf.blocks[cur.i]!
    let off = cur.off
    let left = end - start
    while (left > 0 && b !== null) {
      if (b.state === 0) {
        const piece = b.content.slice(off, off + left)
        out += piece
        left -= piece.length
      }
      off = 0
      b = this.engine.tree.nextBlock(b)
    }
    return out
  }

  /** The whole text. */
  override toString(): string {
    // A plain loop over the leaves: a generator step per block cost more than the block's own
    // work (a loaded document has many deleted blocks to pass over).
    let out = ''
    for (let l: Leaf<string> | null = this.engine.tree.first; l !== null; l = l.next) {
      const bs = l.blocks
      for (let i = 0; i < bs.length; i++) if (bs[i]!.state === 0) out += bs[i]!.content
    }
    return out
  }

  toJSON(): string {
    return this.toString()
  }
}

registerType(Text)
