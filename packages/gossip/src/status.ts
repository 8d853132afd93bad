import { getType } from '@hearsay/core'
import type { Dialer } from './Dialer.js'
import type { BandwidthStats } from './PeerBandwidth.js'
import type { Membership } from './Membership.js'
import type { ObjectHost } from './ObjectHost.js'
import type { PeerTable } from './PeerTable.js'
import type { Session } from './Session.js'
import type { SignedRefusals } from './signed/SignedHost.js'

/** One peer in {@link NodeStatus}. */
export interface PeerStatus {
  readonly id: string
  readonly addresses: readonly string[]
  readonly connected: boolean
  readonly suspected: boolean
  /** Node clock (ms) of the last root digest exchange. */
  readonly lastSync: number | undefined
  /** Node clock (ms) of the last heartbeat or frame from the peer. */
  readonly lastHeard: number | undefined
  readonly inSync: boolean
  readonly bytesIn: number
  readonly bytesOut: number
  /** Bytes queued for the peer, in the node and the transport. */
  readonly pendingSend: number
}

/** One hosted object in {@link NodeStatus}. */
export interface ObjectStatus {
  readonly id: string
  readonly typeId: number
  readonly typeName: string
  readonly vector: Record<string, number>
  /** Updates waiting in the object's causal buffer. */
  readonly pending: number
}

/** A snapshot of a node's state, from {@link Node.status}. */
export interface NodeStatus {
  readonly id: string
  /** The source the node writes under now (its incarnation; see `Node.source`). */
  readonly source: string
  /**
   * Own sources of which a peer or a bundle held updates this node's store did not (its
   * history went back: a restored backup, a damaged or wiped store); see the `history-alarm` event.
   */
  readonly historyAlarms: number
  /** Objects found with equal vectors and different content at a peer (the content check), counted per finding. */
  readonly contentMismatches: number
  /** Objects whose state this node then took from the peer. */
  readonly contentRepairs: number
  /**
   * Updates of signed objects refused here (from peers and bundles), by cause: unsigned or
   * badly signed (`badSignature`), from a writer the object's policy does not name
   * (`notPermitted`), not fitting their source's chain (`invalid`). Counted per segment or frame.
   */
  readonly refused: SignedRefusals
  readonly addresses: readonly string[]
  readonly peers: readonly PeerStatus[]
  /** Hosted objects (counting the membership object); kept as a count, O(1). */
  readonly objectCount: number
  /** Hosted objects whose replica is in memory; the others are hosted by their index line and loaded on first use. */
  readonly loadedObjects: number
  /**
   * Every hosted object, sorted by id. Built when first read (O(objects): a vector per object),
   * so a status polled for its counts costs nothing per object; it reflects the objects at
   * that first read.
   */
  readonly objects: readonly ObjectStatus[]
  readonly bytesIn: number
  readonly bytesOut: number
  /** Updates from peers and bundles that took effect here. */
  readonly updatesApplied: number
  /** Updates waiting in causal buffers, over every object; summed when first read (O(objects)). */
  readonly pendingUpdates: number
  /** Bytes queued for peers, over every connection. */
  readonly pendingSend: number
  /** Batches waiting for the store. */
  readonly pendingStore: number
  readonly rounds: number
  /** What the cap on bytes per second per peer did (zeros without `bytesPerPeer`). */
  readonly bandwidth: Readonly<BandwidthStats>
}

/** The parts of a node a status is read from. */
export interface StatusSource {
  readonly id: string | undefined
  readonly source: string | undefined
  readonly historyAlarms: number
  readonly contentMismatches: number
  readonly contentRepairs: number
  readonly refused: SignedRefusals
  readonly dialer: Dialer
  readonly peers: PeerTable
  readonly membership: Membership | undefined
  readonly objects: ObjectHost
  readonly updatesApplied: number
  readonly rounds: number
  readonly bandwidth: Readonly<BandwidthStats> | undefined
}

/** A snapshot of peers, objects, traffic and backlogs, read from a node's parts. */
export function readStatus(node: StatusSource): NodeStatus {
  const sessions = [...node.dialer.sessions]
  let bytesIn = node.dialer.closedBytes.in
  let bytesOut = node.dialer.closedBytes.out
  let pendingSend = 0
  for (const s of sessions) {
    bytesIn += s.stats.bytesIn
    bytesOut += s.stats.bytesOut
    pendingSend += s.pendingBytes
  }
  // Ready sessions grouped by peer in one pass: filtering every session per peer made a status
  // of a node with a thousand peers a million comparisons.
  const byPeer = new Map<string, Session[]>()
  for (const s of sessions) {
    if (s.state !== 'ready' || s.peerId === undefined) continue
    const own = byPeer.get(s.peerId)
    if (own === undefined) byPeer.set(s.peerId, [s])
    else own.push(s)
  }
  const peerIds = new Set<string>(node.peers.peers.keys())
  for (const id of byPeer.keys()) if (id !== node.id) peerIds.add(id)
  const none: Session[] = []
  const peers: PeerStatus[] = [...peerIds].sort().map((id) => {
    const p = node.peers.peers.get(id)
    const own = byPeer.get(id) ?? none
    return {
      id,
      addresses: node.membership?.get(id)?.addresses ?? [],
      connected: own.length > 0,
      suspected: p?.suspected ?? false,
      lastSync: p?.lastSync,
      lastHeard: p?.lastHeard,
      inSync: own.some((s) => s.inSync),
      bytesIn: own.reduce((n, s) => n + s.stats.bytesIn, 0),
      bytesOut: own.reduce((n, s) => n + s.stats.bytesOut, 0),
      pendingSend: own.reduce((n, s) => n + s.pendingBytes, 0),
    }
  })
  // Both per-object figures are read when first asked for: a pass over 100k objects costs
  // ~20 ms, and a status is polled often for its counts.
  let pendingUpdates: number | undefined
  let objects: ObjectStatus[] | undefined
  const hosted = node.objects
  return {
    id: node.id ?? '',
    source: node.source ?? '',
    historyAlarms: node.historyAlarms,
    contentMismatches: node.contentMismatches,
    contentRepairs: node.contentRepairs,
    refused: node.refused,
    addresses: [...node.dialer.addresses],
    peers,
    objectCount: hosted.size,
    loadedObjects: hosted.loadedCount,
    get objects(): ObjectStatus[] {
      return (objects ??= hosted.ids().map((id) => {
        const r = hosted.get(id)?.replica
        if (r !== undefined) return { id, typeId: r.typeId, typeName: r.typeName, vector: r.clock.toJSON(), pending: r.pendingCount }
        // Not loaded (hosted by its index line): nothing can wait in a causal buffer.
        const line = hosted.entry(id)!
        return { id, typeId: line.typeId, typeName: getType(line.typeId)?.typeName ?? String(line.typeId), vector: Object.fromEntries(line.clock.entries()), pending: 0 }
      }))
    },
    bytesIn,
    bytesOut,
    updatesApplied: node.updatesApplied,
    get pendingUpdates(): number {
      if (pendingUpdates === undefined) {
        pendingUpdates = 0
        for (const o of hosted.values()) pendingUpdates += o.replica.pendingCount
      }
      return pendingUpdates
    },
    pendingSend,
    pendingStore: node.objects.persister.backlog,
    rounds: node.rounds,
    bandwidth: { ...(node.bandwidth ?? { pauses: 0, pausedMs: 0, cut: 0 }) },
  }
}
