import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import {
  ErrorCodes,
  HearsayError,
  MembershipTypeId,
  Replicated,
  isNewer,
  type ReplicatedEvents,
  isReplicaId,
  readBoundedString,
  readCount,
  readSafeUint,
  registerType,
  MAX_REPLICA_ID_LENGTH,
  type ReplicatedOptions,
  type Update,
  readReplicaId,
} from '@hearsay/core'

/** Most addresses one member may announce. */
export const MAX_MEMBER_ADDRESSES = 16

/** Longest address accepted (UTF-16 units). */
export const MAX_ADDRESS_LENGTH = 512

/** One write to the membership: a node's addresses and heartbeat counter. */
export interface MembershipOp {
  readonly node: string
  readonly addresses: readonly string[]
  readonly heartbeat: number
}

/** What the membership says about one node. */
export interface Member {
  readonly id: string
  readonly addresses: readonly string[]
  /** Grows every time the node beats; a node whose counter stops growing is suspected. */
  readonly heartbeat: number
  /** Hybrid time of the entry's last write. */
  readonly time: number
}

/** What the {@link Membership} emits, besides the base events. */
export interface MembershipEvents extends ReplicatedEvents<MembershipOp> {
  /** A node's entry changed. */
  change: (member: Member) => void
}

/**
 * The replicated member list of a gossip network: node id → addresses and heartbeat, last
 * writer wins per node (each node writes only its own entry in practice). Every node hosts it
 * under the object id {@link MEMBERSHIP_OBJECT_ID}, so nodes learn of peers they were never
 * told about. History keeps only the winning write per node, so heartbeats do not pile up.
 *
 * Events: `change` (member) when a node's entry changes, plus the base events.
 */
export class Membership extends Replicated<MembershipOp, Record<string, { addresses: string[]; heartbeat: number }>, MembershipEvents> {
  static override readonly typeId = MembershipTypeId
  static override readonly typeName = 'Membership'
  readonly #entries = new Map<string, Update<MembershipOp>>()

  constructor(options: ReplicatedOptions = {}) {
    super(options)
  }

  /**
   * Writes a node's own entry: its addresses and the next heartbeat. `node` is the node's id,
   * by default this replica's id (a gossip node passes its node id: its replicas write under
   * an incarnation of it).
   * @throws TypeError on too many or malformed addresses, or a bad node id.
   */
  beat(addresses: readonly string[], node: string = this.id): Member {
    if (!isReplicaId(node)) throw new TypeError(`node is a non-empty string of at most ${MAX_REPLICA_ID_LENGTH} characters`)
    if (!Array.isArray(addresses) || addresses.length > MAX_MEMBER_ADDRESSES) throw new TypeError(`addresses is an array of at most ${MAX_MEMBER_ADDRESSES} strings`)
    for (const a of addresses) {
      if (typeof a !== 'string' || a.length === 0 || a.length > MAX_ADDRESS_LENGTH) throw new TypeError(`an address is a non-empty string of at most ${MAX_ADDRESS_LENGTH} characters`)
    }
    const prev = this.#entries.get(node)
    const heartbeat = (prev?.op.heartbeat ?? 0) + 1
    const u = this.commit({ node, addresses: [...addresses], heartbeat })
    return { id: node, addresses: u.op.addresses, heartbeat, time: u.time }
  }

  /** One node's entry. */
  get(nodeId: string): Member | undefined {
    const u = this.#entries.get(nodeId)
    return u && { id: nodeId, addresses: u.op.addresses, heartbeat: u.op.heartbeat, time: u.time }
  }

  /** Every known node, sorted by id. */
  members(): Member[] {
    return [...this.#entries.keys()].sort().map((id) => this.get(id)!)
  }

  protected applyOp(u: Update<MembershipOp>): boolean {
    const prev = this.#entries.get(u.op.node)
    if (prev !== undefined && !isNewer(u, prev)) return false
    this.#entries.set(u.op.node, u)
    this.emit('change', this.get(u.op.node)!)
    return true
  }

  protected history(): Iterable<Update<MembershipOp>> {
    return this.#entries.values()
  }

  protected override writeOp(e: encoding.Encoder, op: MembershipOp): void {
    encoding.writeVarString(e, op.node)
    encoding.writeVarUint(e, op.heartbeat)
    encoding.writeVarUint(e, op.addresses.length)
    for (const a of op.addresses) encoding.writeVarString(e, a)
  }

  protected override readOp(d: decoding.Decoder): MembershipOp {
    const at = d.pos
    const node = readReplicaId(d, 'bad node id in membership')
    const heartbeat = readSafeUint(d)
    const n = readCount(d, 2)
    if (n > MAX_MEMBER_ADDRESSES) throw new HearsayError(ErrorCodes.DECODE_ERROR, 'too many addresses', { offset: at })
    const addresses: string[] = []
    for (let i = 0; i < n; i++) {
      const a = readBoundedString(d, MAX_ADDRESS_LENGTH * 3)
      if (a.length === 0 || a.length > MAX_ADDRESS_LENGTH) throw new HearsayError(ErrorCodes.DECODE_ERROR, 'bad address', { offset: at })
      addresses.push(a)
    }
    return { node, addresses, heartbeat }
  }

  toJSON(): Record<string, { addresses: string[]; heartbeat: number }> {
    const out: Record<string, { addresses: string[]; heartbeat: number }> = {}
    for (const m of this.members()) out[m.id] = { addresses: [...m.addresses], heartbeat: m.heartbeat }
    return out
  }
}

/** The object id every node hosts its {@link Membership} under. */
export const MEMBERSHIP_OBJECT_ID = 'hearsay/membership'

registerType(Membership)
