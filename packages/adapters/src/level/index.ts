/**
 * @hearsay/adapters/level: persistence for hearsay replicas and nodes over abstract-level.
 *
 * {@link LevelStore} implements core's `Store`: classic-level (LevelDB) for a directory path,
 * or any abstract-level database (memory-level in tests, browser-level in browsers). Appends
 * are atomic, synced batches with group commit; compaction swaps history for a snapshot
 * atomically. The on-disk key layout is documented in `PROTOCOL.md`.
 *
 * @example
 * ```ts
 * import { LevelStore } from '@hearsay/adapters/level'
 * import { restoreReplica } from '@hearsay/core'
 * const store = new LevelStore('./data')
 * await store.open()
 * await restoreReplica(store, 'doc', replica)           // snapshot + batches → replica
 * replica.on('ranges', (ranges) =>
 *   store.append([{ objectId: 'doc', typeId: replica.typeId, data: replica.encodeRanges(ranges) }]))
 * ```
 * @packageDocumentation
 */
export { LevelStore } from './LevelStore.js'
export type { AnyLevel, LevelStoreOptions } from './LevelStore.js'
export { LAYOUT_VERSION } from './keys.js'
export { repairLevelStore } from './repairLevelStore.js'
export type { LevelRepairReport } from './repairLevelStore.js'
export { DAMAGE_MARKER, listFiles } from './levelFiles.js'
export { classifyLevelError } from './levelErrors.js'
export type { DirFile } from './levelFiles.js'
