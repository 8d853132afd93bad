// `hearsay explain` and `hearsay status --explain`: why two nodes, or this node and its peers,
// are not converged. The daemon hands out plain facts (explainFacts in core reads them); this
// file turns them into sentences.
import { explainFacts, replicaFacts, type PendingRange, type ReadonlyVersionVector, type Rejection, type ReplicaFacts, type ReplicaId, type Replicated } from '@hearsay/core'
import { formatVector } from './format.js'

/** One object's facts as JSON: what `explain` sends over the control socket. */
export interface ObjectFacts {
  readonly id: string
  readonly type: string
  readonly clock: Record<string, number>
  readonly pending: PendingRange[]
  readonly rejections: Rejection[]
  /** `encodeState()`, base64. */
  readonly state: string
  /** Each kept update encoded alone, by dot key, base64: only when asked (`kept`). */
  readonly kept?: Record<string, string>
}

/** What this node last heard from one peer. */
export interface PeerFacts {
  readonly id: string
  readonly state: string
  /** ISO time of the last session round with it, or null. */
  readonly lastSync: string | null
  /** Per object, the vector it last offered (in a session digest or a bundle). */
  readonly offered: Record<string, Record<string, number>>
}

/** A daemon's answer to `explain`. */
export interface NodeFacts {
  readonly node: string
  readonly objects: ObjectFacts[]
  readonly peers: PeerFacts[]
}

const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'))

/** Facts of one object as {@link explainFacts} reads them, under the node's id. */
export function toReplicaFacts(node: string, o: ObjectFacts): ReplicaFacts {
  const base = { id: node as ReplicaId, clock: o.clock, pending: o.pending, rejections: o.rejections, state: b64(o.state) }
  return o.kept === undefined ? base : { ...base, kept: new Map(Object.entries(o.kept).map(([k, v]) => [k, b64(v)])) }
}

/** Lines on what `from` lacks of `clock` judged by `offered`: `(from, to]` per source. */
function lacking(mine: Record<string, number>, theirs: Record<string, number>): string[] {
  const out: string[] = []
  for (const s of Object.keys(theirs).sort()) {
    const h = mine[s] ?? 0
    const t = theirs[s] ?? 0
    if (t > h) out.push(`${s} (${h}, ${t}]`)
  }
  return out
}

/**
 * Why nodes `a` and `b` differ, object by object: what one lacks, what waits in a causal
 * buffer and for which dot, what was refused and why, equal vectors with different content,
 * and what each last heard the other offer (a digest that is older than the other's state
 * means they have not gossiped since). Empty when they hold the same.
 */
export function explainNodes(a: NodeFacts, b: NodeFacts): string[] {
  const lines: string[] = []
  const ids = [...new Set([...a.objects.map((o) => o.id), ...b.objects.map((o) => o.id)])].sort()
  for (const id of ids) {
    const oa = a.objects.find((o) => o.id === id)
    const ob = b.objects.find((o) => o.id === id)
    if (oa === undefined || ob === undefined) {
      const has = oa === undefined ? b.node : a.node
      lines.push(`${id}: only ${has} holds it${heardLine(oa === undefined ? a : b, has, id)}`)
      continue
    }
    if (oa.type !== ob.type) {
      lines.push(`${id}: ${a.node} holds a ${oa.type}, ${b.node} a ${ob.type}: they can never merge (one of them opened it with the wrong type)`)
      continue
    }
    const report = explainFacts(toReplicaFacts(a.node, oa), toReplicaFacts(b.node, ob))
    if (report.converged) continue
    for (const l of report.lines) lines.push(`${id}: ${l}`)
    for (const [me, other, theirs] of [[a, b, ob], [b, a, oa]] as const) {
      const offered = me.peers.find((p) => p.id === other.node)
      if (offered === undefined) {
        lines.push(`${id}: ${me.node} does not know ${other.node} as a peer (never connected, no bundle from it)`)
        continue
      }
      const heard = offered.offered[id]
      const behind = heard === undefined ? ['everything'] : lacking(heard, theirs.clock)
      if (behind.length > 0) {
        lines.push(
          `${id}: ${me.node} last heard ${other.node} offer ${heard === undefined ? 'nothing of it' : formatVector(heard)}${offered.lastSync ? ` (last round ${offered.lastSync})` : ''}; ${other.node} has written or received ${behind.join(', ')} since, not offered to ${me.node} yet (${offered.state})`,
        )
      }
    }
  }
  return lines
}

function heardLine(other: NodeFacts, holder: string, id: string): string {
  const p = other.peers.find((x) => x.id === holder)
  if (p === undefined) return `; ${other.node} does not know ${holder} as a peer`
  const heard = p.offered[id]
  return heard === undefined ? `; ${other.node} never heard ${holder} offer it (${p.state})` : `; ${holder} offered it to ${other.node} as ${formatVector(heard)}, so ${other.node} has not taken it (a type it does not know?)`
}

/**
 * `hearsay status --explain`: per peer and object, what this node lacks of what the peer last
 * offered and what the peer lacked when it last told us, then the updates waiting in causal
 * buffers and the latest refusals here.
 */
export function explainLocal(n: NodeFacts): string[] {
  const lines: string[] = []
  for (const p of n.peers) {
    for (const o of n.objects) {
      const heard = p.offered[o.id]
      if (heard === undefined) continue
      const weLack = lacking(o.clock, heard)
      const theyLack = lacking(heard, o.clock)
      if (weLack.length > 0) lines.push(`${o.id}: we lack ${weLack.join(', ')}: ${p.id} offered it${p.lastSync ? ` (last round ${p.lastSync})` : ''}, it should arrive in the next rounds (${p.state})`)
      if (theyLack.length > 0) lines.push(`${o.id}: ${p.id} lacked ${theyLack.join(', ')} when it last told us${p.lastSync ? ` (${p.lastSync})` : ''} (${p.state})`)
    }
  }
  for (const o of n.objects) {
    for (const r of o.pending) lines.push(`${o.id}: ${r.source} (${r.from}, ${r.to}] (${r.updates} update${r.updates === 1 ? '' : 's'}) waits in the causal buffer for ${r.waitsFor.source}:${r.waitsFor.seq} (${r.reason === 'gap' ? 'earlier updates of that source' : 'a dependency'})`)
    for (const r of o.rejections) lines.push(`${o.id}: refused ${r.dot === undefined ? 'a range' : `${r.dot.source}:${r.dot.seq}`}: ${r.code}: ${r.message}`)
  }
  return lines
}

/** The parts of a gossip Node that {@link gatherFacts} reads. */
export interface FactSource {
  readonly id: string | undefined
  status(): { peers: ReadonlyArray<{ id: string; connected: boolean; inSync: boolean; suspected: boolean; lastSync: number | undefined }>; objects: ReadonlyArray<{ id: string }> }
  /** The replica of a hosted object, loaded from the store if nothing used it yet. */
  load(objectId: string): Promise<Replicated<any> | undefined>
  digestSeen(peerId: string): Promise<Map<string, ReadonlyVersionVector>>
}

const base64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64')

/**
 * What a daemon answers to `explain`: every object's facts (or one object's; the membership
 * object left out unless named) and what each peer last offered. `kept` adds every kept
 * update, encoded alone, for the objects named: ask for it only when equal vectors hide
 * different content.
 */
export async function gatherFacts(node: FactSource, options: { object?: string; kept?: boolean; skip?: string } = {}): Promise<NodeFacts> {
  const s = node.status()
  const ids = options.object !== undefined ? [options.object] : s.objects.map((o) => o.id).filter((id) => id !== options.skip)
  const objects: ObjectFacts[] = []
  for (const id of ids) {
    const r = await node.load(id)
    if (r === undefined) continue
    const f = replicaFacts(r, { kept: options.kept === true })
    objects.push({
      id,
      type: r.typeName,
      clock: { ...f.clock },
      pending: [...f.pending],
      rejections: [...f.rejections],
      state: base64(f.state),
      ...(f.kept !== undefined && { kept: Object.fromEntries([...f.kept].map(([k, v]) => [k, base64(v)])) }),
    })
  }
  const peers: PeerFacts[] = []
  const digests = await Promise.all(s.peers.map((p) => node.digestSeen(p.id)))
  for (const [i, p] of s.peers.entries()) {
    const seen = digests[i]!
    const offered: Record<string, Record<string, number>> = {}
    for (const id of ids) {
      const v = seen.get(id)
      if (v !== undefined) offered[id] = Object.fromEntries(v.entries())
    }
    peers.push({
      id: p.id,
      state: p.connected ? (p.inSync ? 'in sync' : 'connected') : p.suspected ? 'suspected' : 'not connected',
      lastSync: p.lastSync === undefined ? null : new Date(p.lastSync).toISOString(),
      offered,
    })
  }
  return { node: node.id ?? '?', objects, peers }
}
