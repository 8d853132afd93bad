/**
 * @hearsay/model: replicated data types on the hearsay core. Each is a `Replicated` subclass
 * (createStream, createReadStream/createWriteStream, encodeState/applyState) registered by
 * type id at load, so a gossip node can create any of them from a peer's announcement.
 *
 * - {@link LWWRegister}, {@link LWWMap}: last-writer-wins by (hybrid time, source); the map has
 *   the `scuttlebutt/model` API and keeps one update per key.
 * - {@link GSet}, {@link ORSet}: grow-only and observed-remove (add-wins) sets.
 * - {@link PNCounter}: an integer counter, one cumulative update per source.
 * - {@link EventLog}: the reliable event emitter of `scuttlebutt/events`, in one causal order.
 * - {@link Doc} with {@link Row}, {@link RowSet} and {@link Seq}: the model of the `crdt` package.
 *
 * @example
 * ```ts
 * import { LWWMap } from '@hearsay/model'
 * const a = new LWWMap({ id: 'a' }), b = new LWWMap({ id: 'b' })
 * const sa = a.createStream(), sb = b.createStream()
 * sa.pipe(sb).pipe(sa)
 * a.set('hello', 'world')   // b.get('hello') === 'world' once the frames have flowed
 * ```
 * @packageDocumentation
 */
export { LWWRegister } from './LWWRegister.js'
export type { LWWRegisterEvents, LWWRegisterOptions } from './LWWRegister.js'
export { LWWMap } from './LWWMap.js'
export type { LWWMapEvents, LWWMapOp, LWWMapOptions } from './LWWMap.js'
export { GSet } from './GSet.js'
export type { GSetEvents, GSetOptions } from './GSet.js'
export { ORSet } from './ORSet.js'
export type { ORSetEvents, ORSetOp, ORSetOptions } from './ORSet.js'
export { PNCounter } from './PNCounter.js'
export type { PNCounterEvents, PNCounterOptions } from './PNCounter.js'
export { EventLog } from './EventLog.js'
export type { EventLogEvents, EventLogOptions, LoggedEvent } from './EventLog.js'
export { Doc } from './Doc.js'
export type { DocEvents, DocOp, DocOptions } from './Doc.js'
export { Row } from './Row.js'
export type { RowData, RowEvents, RowHost } from './Row.js'
export { RowSet } from './RowSet.js'
export type { QueryValue, RowSetEvents } from './RowSet.js'
export { Seq, SORT_FIELD } from './Seq.js'
export type { SeqEvents } from './Seq.js'
export { isNewer } from '@hearsay/core'
