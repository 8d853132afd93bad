/**
 * @hearsay/adapters/yjs: Yjs documents replicated and persisted through hearsay.
 *
 * {@link YDocReplica} wraps a `Y.Doc`: local Yjs updates become hearsay updates, remote ones
 * are applied with `Y.applyUpdate`, and each source's history is merged with `Y.mergeUpdates`
 * into canonical blocks. Importing this module registers the type (`YDocTypeId`), so a node
 * can create replicas of Yjs objects it learns about from peers.
 *
 * @example
 * ```ts
 * import { YDocReplica } from '@hearsay/adapters/yjs'
 * const a = new YDocReplica(), b = new YDocReplica()
 * const sa = a.createStream(), sb = b.createStream()
 * sa.pipe(sb).pipe(sa)
 * a.doc.getText('notes').insert(0, 'hi')
 * ```
 * @packageDocumentation
 */
export { MAX_YJS_UPDATE, YDOC_BLOCK, YDocReplica } from './YDocReplica.js'
export type { YDocReplicaEvents, YDocReplicaOptions } from './YDocReplica.js'
