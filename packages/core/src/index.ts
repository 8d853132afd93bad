/**
 * @hearsay/core: the replication core every hearsay type builds on.
 *
 * - {@link VersionVector}: source → highest seq, compared as before/after/equal/concurrent.
 * - {@link HybridClock}: hybrid logical time for last-writer-wins, refusing times too far ahead.
 * - {@link Update} and {@link Range}: the update envelope and the ranges `(from, to]` of one
 *   source's history that travel between replicas, so compacted histories keep exact digests.
 * - {@link Replicated}: the base class. A type implements `applyOp` and `history`; the base owns
 *   the clock, dedup, the causal buffer, validation, the op codec and the stream protocol.
 *   {@link WinnerPerKey} is the base for one-winner-per-key types; {@link registerType} names a type.
 * - {@link ReplicaLink} and {@link connectPort}: that protocol over any carrier of bytes (a
 *   `MessagePort` between tabs or workers). Node streams (`createStream()`) are in
 *   `@hearsay/core/node`, which Node's resolution of `@hearsay/core` loads by itself.
 * - Encoding helpers over lib0 (structure) and MessagePack (values), framing with a hard cap, and
 *   {@link HearsayError} with stable codes.
 * - {@link Store} and {@link Transport}: the pluggable interfaces, with {@link MemoryStore}.
 *
 * @example
 * ```ts
 * import { LWWMap } from '@hearsay/model'
 * const a = new LWWMap({ id: 'a' }), b = new LWWMap({ id: 'b' })
 * const sa = a.createStream(), sb = b.createStream()
 * sa.pipe(sb).pipe(sa)
 * a.set('hello', 'world')   // b.get('hello') === 'world' once the frames have flowed
 * ```
 * Test your own types with `checkConvergence` from `@hearsay/core/testing`.
 * @packageDocumentation
 */
export { Emitter } from './Emitter.js'
export type { EventArgs, Events, ListenerOf } from './Emitter.js'
export { ErrorCodes, HearsayError, isHearsayError } from './errors.js'
export type { ErrorCode, HearsayErrorOptions } from './errors.js'
export { bytesEqual, bytesToKey, randomBytes, toBase64Url, toHex, utf8Length } from './bytes.js'
export { scheduleTask } from './scheduleTask.js'
export { MAX_REPLICA_ID_LENGTH, isReplicaId, isSafeName, randomReplicaId, toReplicaId } from './ids.js'
export type { ReplicaId } from './ids.js'
export { VersionVector, encodeVersionVector, readVersionVector, writeVersionVector } from './VersionVector.js'
export type { Comparison, Dot, ReadonlyVersionVector } from './VersionVector.js'
export { DEFAULT_MAX_DRIFT_MS, HybridClock, TICKS_PER_MS, hybridTimeToMs } from './HybridClock.js'
export type { HybridClockOptions } from './HybridClock.js'
export {
  MAX_VALUE_DEPTH,
  assertValue,
  decodeWith,
  decoding,
  encodeWith,
  encoding,
  isValue,
  packValue,
  readBoundedString,
  readReplicaId,
  readBytes,
  readCount,
  readSafeInt,
  readSafeUint,
  readValue,
  unpackValue,
  writeValue,
} from './encoding.js'
export type { Value } from './encoding.js'
export { isNewer } from './lww.js'
export { MAX_SEQ, readRange, readRanges, updateEnd, writeRange, writeRanges } from './update.js'
export type { OpCodec, Range, Update } from './update.js'
export { DEFAULT_MAX_FRAME, FrameDecoder, encodeFrame } from './framing.js'
export { DEFAULT_MAX_UPDATE_BYTES, encodedSizeBound, maxUpdateBytesFor } from './updateSize.js'
export { MessageKind, STATE_FORMAT_VERSION, STREAM_PROTOCOL_VERSION, readHello, writeHello } from './protocol.js'
export type { Hello } from './protocol.js'
export { ReplicaLink } from './ReplicaLink.js'
export { UPDATES_PER_FRAME, coalesceRanges, splitRanges } from './ranges.js'
export { PeerLink } from './PeerLink.js'
export type { LinkedReplica } from './PeerLink.js'
export type { ApplyResult, LinkSink, ReplicaLinkEvents, StreamOptions, StreamTarget, StreamTargetEvents } from './ReplicaLink.js'
export { connectPort } from './connectPort.js'
export { linkConnection } from './linkConnection.js'
export type { FramePort } from './connectPort.js'
export { LOCAL_ORIGIN, MAX_REJECTIONS_KEPT, Replicated } from './Replicated.js'
export { dotKey, explainDivergence, explainFacts, replicaFacts } from './explainDivergence.js'
export type { BufferedRange, ContentDifference, DivergenceReport, MissingRange, RefusedUpdate, ReplicaFacts } from './explainDivergence.js'
export type { PendingRange, Rejection, ReplicatedClass, ReplicatedEvents, ReplicatedOptions, ReplicatedStats } from './Replicated.js'
export { createReplica, getType, registerType, registeredTypes } from './registry.js'
export type { TypeNames } from './registry.js'
export { WinnerPerKey, lastWriterWins } from './WinnerPerKey.js'
export { freezeDecoded, freezeValue } from './freeze.js'
export {
  DocTypeId,
  EventLogTypeId,
  FirstUserTypeId,
  GSetTypeId,
  LWWMapTypeId,
  LWWRegisterTypeId,
  ListTypeId,
  MembershipTypeId,
  ORSetTypeId,
  PNCounterTypeId,
  TextTypeId,
  YDocTypeId,
} from './typeIds.js'
export { MemoryStore, restoreObject, restoreReplica } from './store.js'
export type { RestoredSize, Store, StoreCapabilities, StoreEntry, StoredObject } from './store.js'
export type { Connection, ConnectionEvents, Listener, Transport, TransportCapabilities } from './transport.js'
export { BaseConnection, DEFAULT_MAX_SEND_BUFFER } from './BaseConnection.js'
export type { ConnectionLimits } from './BaseConnection.js'
export { MemoryConnection, MemoryNetwork, MemoryTransport } from './MemoryTransport.js'
export type { MemoryTransportOptions } from './MemoryTransport.js'
