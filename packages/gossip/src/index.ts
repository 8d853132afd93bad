/**
 * @hearsay/gossip: nodes that host many replicated objects and converge by random
 * scuttlebutt-style gossip, with no leader and no server.
 *
 * - {@link Node}: hosts objects by id (`open`), listens and connects over any registered
 *   transport (`mem://` built in; TCP and WebSocket in `@hearsay/adapters`), runs every
 *   connection through a `Noise_XXpsk3_25519_ChaChaPoly_SHA256` channel keyed by the shared
 *   network key and each node's static key ({@link SecureConnection}), runs anti-entropy rounds (root digest, bucketed digests, vectors,
 *   ranges), pushes and relays live updates, persists to a {@link Store} before anything leaves
 *   the node, and carries membership, suspicion and reconnection.
 * - Bundles: `exportBundle` / `importBundle` move the same ranges through files.
 * - {@link Membership}: the replicated member list every node hosts.
 * - The simulator lives in `@hearsay/gossip/sim`.
 *
 * @example
 * ```ts
 * import { Node } from '@hearsay/gossip'
 * import { LWWMap } from '@hearsay/model'
 * const a = new Node({ networkKey: 'secret' }), b = new Node({ networkKey: 'secret' })
 * await a.listen('mem://a')
 * await b.connect('mem://a')
 * const map = await a.open('prices', LWWMap)
 * map.set('apples', 3)              // reaches b's 'prices' object within a round
 * ```
 * @packageDocumentation
 */
export { Node } from './Node.js'
export type { NodeEvents, OpenOptions } from './Node.js'
export type { Logger, NodeOptions, Timers } from './options.js'
export type { NodeStatus, ObjectStatus, PeerStatus } from './status.js'
export { Dialer, schemeOf } from './Dialer.js'
export { MIN_QUIET_MS, OldestFirst, SyncBudget, largestFitting, runSync } from './Budget.js'
export type { SyncOptions, SyncResult, SyncSession, SyncStop } from './Budget.js'
export type { DialerOptions, ReadyVerdict } from './Dialer.js'
export { PeerTable } from './PeerTable.js'
export type { PeerInfo, PeerTableOptions } from './PeerTable.js'
export { SeenDigests, LAZY_SAVE_SKIPS } from './SeenDigests.js'
export type { SeenDigest } from './SeenDigests.js'
export { ObjectHost } from './ObjectHost.js'
export type { HostedObject, IndexRestore, ObjectHostOptions } from './ObjectHost.js'
export { INDEX_OBJECT_ID, INDEX_TYPE_ID, IndexLine, ObjectIndex } from './ObjectIndex.js'
export type { IndexRecord, LoadedIndex } from './ObjectIndex.js'
export { MEMBERSHIP_OBJECT_ID, MAX_ADDRESS_LENGTH, MAX_MEMBER_ADDRESSES, Membership } from './Membership.js'
export type { Member, MembershipEvents, MembershipOp } from './Membership.js'
export { DigestIndex, entryHash, objectKey } from './DigestIndex.js'
export type { IndexedObject } from './DigestIndex.js'
export { CONTENT_CHECK_EVERY, LEAF_OBJECTS, MAX_DEFERRALS, Session } from './Session.js'
export { ContentHashes } from './ContentHashes.js'
export type { SessionEvents, SessionHost } from './Session.js'
export { Persister } from './Persister.js'
export { Incarnation, META_INCARNATION, incarnationSource } from './Incarnation.js'
export type { CompactionPolicy, SnapshotSource } from './Persister.js'
export { BUNDLE_FORMAT_VERSION, BUNDLE_MAGIC, BUNDLE_NONCE_BYTES, decodeBundle, encodeBundle, exportBundle, importBundle, readDigest, writeDigest } from './bundle.js'
export type { BundleContent, BundleDigest, BundleExport, BundleHost, ImportResult } from './bundle.js'
export { META_PEER_SENT, SentBundles } from './SentBundles.js'
export { NOISE_PROTOCOL, DEFAULT_MAX_HANDSHAKE_FRAME, DEFAULT_REKEY_EVERY, SecureConnection } from './secure/SecureConnection.js'
export type { SecureConnectionEvents, SecureConnectionOptions, SecureTimers } from './secure/SecureConnection.js'
export { IDENTITY_BYTES, SIGNING_IDENTITY_BYTES, bundleKeyFromNetworkKey, decodeIdentity, encodeIdentity, generateIdentity, idMatchesStatic, identityFromSeed, identityPublicKey, isIdentityBytes, isKeyBoundId, nodeIdFromPublicKey, publicKeyFromNodeId, pskFromNetworkKey } from './secure/keys.js'
export type { NodeIdentity, SigningKeyPair } from './secure/keys.js'
export { MAX_POLICY_WRITERS, SIGNED_ID_MARK, checkPolicyForId, createWritePolicy, decodeWritePolicy, encodeWritePolicy, isSignedObjectId, mayWrite, nodeIdOfSource, policyDigest, signedObjectId, writerKey } from './signed/WritePolicy.js'
export type { WritePolicy } from './signed/WritePolicy.js'
export { SIGNATURE_BYTES, readSegment, segmentSigningBytes, signSegment, verifySegment, writeSegment } from './signed/segment.js'
export type { Segment, UnsignedSegment } from './signed/segment.js'
export { SegmentLog } from './signed/SegmentLog.js'
export type { SealLimits, SegmentOutcome, SegmentRefusals } from './signed/SegmentLog.js'
export { readSignedBatch, writeSignedBatch } from './signed/signedBatch.js'
export type { SignedBatch } from './signed/signedBatch.js'
export type { SignedRefusals } from './signed/SignedHost.js'
export type { KeyPair } from './secure/noise.js'
export { Admission } from './secure/Admission.js'
export {
  BUCKET_HASH_BYTES,
  CONTENT_ENTRY_HASH_BYTES,
  GOSSIP_PROTOCOL_VERSION,
  GossipKind,
  MAX_OBJECT_ID_LENGTH,
  MAX_PREFIX_DEPTH,
  ROOT_HASH_BYTES,
  RootFlags,
  readGossipMessage,
  readPrefix,
  writePrefix,
  writeSignedMessage,
} from './messages.js'
export type { BucketSummary, ContentEntry, GossipMessage, VectorEntry } from './messages.js'
export { DEFAULT_NEW_OBJECTS_RATE } from './PeerQuota.js'
export type { Rate } from './PeerQuota.js'
export { PeerBandwidth } from './PeerBandwidth.js'
export type { BandwidthStats } from './PeerBandwidth.js'
