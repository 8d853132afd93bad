/**
 * @hearsay/seq: replicated List and Text that are fast, compact and never interleave.
 *
 * - {@link Text}: plain text indexed in UTF-16 code units, with `change` deltas.
 * - {@link List}: a list of plain values with `move`, stable element ids and `change` deltas.
 *
 * Both order concurrent inserts with the YjsMod/FugueMax rule (no interleaving), keep runs typed
 * by one source as single blocks in a B+tree with subtree lengths, and send history as packed
 * runs. Wire and state layout: PROTOCOL.md.
 *
 * @example
 * ```ts
 * import { Text } from '@hearsay/seq'
 * const a = new Text({ id: 'alice' }), b = new Text({ id: 'bob' })
 * const sa = a.createStream(), sb = b.createStream()
 * sa.pipe(sb).pipe(sa)
 * a.insert(0, 'hello')    // b.toString() === 'hello' once the frames have flowed
 * ```
 * @packageDocumentation
 */
export { Text } from './Text.js'
export type { TextOptions } from './Text.js'
export { List } from './List.js'
export { checkInvariants } from './invariants.js'
export type { ListOptions } from './List.js'
export type { ElementId, SequenceEvents } from './SequenceBase.js'
export { applyListDelta, applyTextDelta, composeDeltas, composeEdits } from './delta.js'
export type { Delta, DeltaContent, DeltaOp, SeqEdit } from './delta.js'
export type { DeleteRange, DeletePart, InsertPart, MovePart, Part, Ref, SeqOp, SourceRef } from './ops.js'
