import { DEFAULT_MAX_FRAME, DEFAULT_MAX_SEND_BUFFER, toReplicaId, type Store, type Transport } from '@hearsay/core'
import { schemeOf } from './Dialer.js'
import { MAX_MEMBER_ADDRESSES } from './Membership.js'
import type { CompactionPolicy } from './Persister.js'
import type { NodeIdentity } from './secure/keys.js'
import type { Session } from './Session.js'
import { DEFAULT_NEW_OBJECTS_RATE, type Rate } from './PeerQuota.js'

/** Timer functions a node uses; inject virtual ones for simulations. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: any): void
}

/**
 * Where a node writes diagnostics, in the pino/bunyan shape `logger.warn(fields, message)`:
 * structured fields first (always `node`, the node id, plus what the event carries), then the
 * message, so a pino or bunyan logger keeps every field and `console` prints both. Every
 * method is optional.
 */
export interface Logger {
  debug?(fields: Record<string, unknown>, message: string): void
  info?(fields: Record<string, unknown>, message: string): void
  warn?(fields: Record<string, unknown>, message: string): void
  error?(fields: Record<string, unknown>, message: string): void
}

/** Options of a {@link Node}. */
export interface NodeOptions {
  /**
   * The node id: the source id of every replica it hosts. Default: an id saved in the store
   * that is not bound to a key (from before ids were bound to keys, or set by `hearsay
   * repair`), else the id bound to `identity` (its public key in base64url), which no one
   * without the secret key can use. An id not bound to the key is accepted by peers that do
   * not `requireBoundIds`.
   */
  id?: string | undefined
  /**
   * The node's long-term keys ({@link generateIdentity}): Ed25519 for signing, X25519 derived
   * from it for the Noise handshake (persist it: `hearsay peer` keeps it in its data
   * directory). Default: the one kept in the store, else a fresh one (then kept in the store).
   */
  identity?: NodeIdentity | undefined
  /** Refuse peers whose node id is not the one bound to their static key (default false). */
  requireBoundIds?: boolean | undefined
  /** Where replicas and node metadata persist. Default: a fresh {@link MemoryStore} (nothing survives the process). */
  store?: Store
  /** The secret every node of the network shares: the psk of every Noise handshake, and the key of bundles. */
  networkKey: string | Uint8Array
  /** Peers picked for anti-entropy every interval (default 3). */
  fanout?: number
  /** Milliseconds between gossip rounds (default 1000). */
  interval?: number
  /** Transports besides the built-in `mem://` one (e.g. TCP and WebSocket from `@hearsay/adapters`). */
  transports?: readonly Transport[]
  /** Wall clock in ms (default `Date.now`); also drives the replicas' hybrid clocks. */
  now?: () => number
  /** Timer functions (default the global ones). */
  timers?: Timers
  /** Uniform numbers in [0, 1) for peer selection, jitter, ids and nonces (default `crypto`-grade randomness). */
  random?: () => number
  /** Largest frame sent or accepted, in bytes (default 16 MiB). */
  maxFrame?: number
  /** Most bytes queued for one peer before it is disconnected with `HEARSAY_BACKPRESSURE` (default 8 MiB). */
  maxSendBuffer?: number
  /** Where diagnostics go (default nowhere). */
  logger?: Logger
  /** Addresses announced to peers in the membership instead of the listeners' own (behind NAT, a proxy, or a listener on 0.0.0.0). */
  advertise?: readonly string[]
  /** Most connections this node dials on its own to peers learned from membership (default 8). */
  maxConnections?: number
  /**
   * Milliseconds between heartbeats written to the membership. Default: interval × max(5,
   * members / 5), so the whole network writes about 5 heartbeats per round however large it is.
   */
  heartbeatInterval?: number
  /** Milliseconds without a heartbeat (or a frame) after which a peer is suspected (default 4 × the heartbeat interval). */
  suspectAfter?: number
  /** First reconnect delay in ms; doubles per failure up to `maxBackoff`, with jitter (default interval). */
  backoff?: number
  /** Longest reconnect delay in ms (default 30 × interval). */
  maxBackoff?: number
  /** Milliseconds a new connection has to complete the hello after its handshake (default 10 000). */
  authTimeout?: number
  /** Milliseconds a new connection has to complete the Noise handshake (default 5 000). */
  handshakeTimeout?: number
  /** Largest frame read from a peer before it proved the network key (default 256 bytes). */
  maxHandshakeFrame?: number
  /** Most accepted connections still in their handshake, per listener (default 256); more are closed at once. */
  maxUnauthenticated?: number
  /** Most accepted connections still in their handshake from one remote host (default 64). */
  maxUnauthenticatedPerAddress?: number
  /** Sees every plaintext frame of every session after the channel opened it (debugging, tests). */
  inspect?: (dir: 'in' | 'out', frame: Uint8Array, session: Session) => void
  /** When to compact an object's log in the store. */
  compaction?: CompactionPolicy
  /**
   * How many new objects one peer (by node id, across its connections) may make this node
   * create: `burst` at once, then `perSecond` (default 10,000, then 1,000 a second). Ranges for
   * a new object past the cap are not taken (reported once per session as
   * `HEARSAY_LIMIT_EXCEEDED`); the peer offers them again later, so nothing is lost.
   */
  newObjectsPerPeer?: Rate
  /**
   * Bytes per second one authenticated peer (by node id, across its connections) may send
   * this node: `burst` at once, then `perSecond`. A peer over it is paused, not cut: its
   * connections stop reading until it is back under, so its sends wait on its side and
   * nothing is lost (see `PeerBandwidth`). On a link that cannot pause (a browser WebSocket),
   * a peer a whole burst over is disconnected with `HEARSAY_LIMIT_EXCEEDED`. Default: no cap.
   */
  bytesPerPeer?: Rate
  /**
   * Milliseconds this node gathers its writes to a signed object before it signs them as one
   * segment (default 5; 0 signs at the end of each tick of writes). A batch of 4096 writes is
   * signed at once. Longer means fewer signatures and later delivery.
   */
  sealDelay?: number
  /** Causal buffer bound of each hosted replica (see `ReplicatedOptions.maxPending`). */
  maxPending?: number
  /** Drift bound of each hosted replica (see `ReplicatedOptions.maxDrift`). */
  maxDrift?: number
}

/** {@link NodeOptions} checked, with every default filled in (the store and transports aside). */
export interface ResolvedOptions {
  readonly id: string | undefined
  readonly fanout: number
  readonly interval: number
  readonly maxFrame: number
  readonly maxSendBuffer: number
  readonly maxConnections: number
  readonly heartbeatInterval: number | undefined
  readonly suspectAfter: number | undefined
  readonly backoff: number
  readonly maxBackoff: number
  readonly authTimeout: number
  readonly sealDelay: number
  readonly newObjectsPerPeer: Rate
  readonly bytesPerPeer: Rate | undefined
}

/**
 * Checks a node's options and fills in the defaults.
 * @throws TypeError when `options` is not an object or `id` / `advertise` are malformed; RangeError on a bad number.
 */
export function resolveOptions(options: NodeOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw new TypeError('options is an object such as { networkKey }')
  const num = (v: number | undefined, d: number, name: string, min = 1): number => {
    const n = v ?? d
    if (typeof n !== 'number' || !Number.isFinite(n) || n < min) throw new RangeError(`${name} is a number of at least ${min}, got ${v}`)
    return n
  }
  const fanout = num(options.fanout, 3, 'fanout')
  const interval = num(options.interval, 1000, 'interval')
  const resolved = {
    fanout,
    interval,
    maxFrame: num(options.maxFrame, DEFAULT_MAX_FRAME, 'maxFrame', 64),
    maxSendBuffer: num(options.maxSendBuffer, DEFAULT_MAX_SEND_BUFFER, 'maxSendBuffer', 64),
    maxConnections: num(options.maxConnections, 8, 'maxConnections'),
    heartbeatInterval: options.heartbeatInterval === undefined ? undefined : num(options.heartbeatInterval, 0, 'heartbeatInterval'),
    suspectAfter: options.suspectAfter === undefined ? undefined : num(options.suspectAfter, 0, 'suspectAfter'),
    backoff: num(options.backoff, interval, 'backoff'),
    maxBackoff: num(options.maxBackoff, 30 * interval, 'maxBackoff'),
    authTimeout: num(options.authTimeout, 10_000, 'authTimeout'),
    sealDelay: num(options.sealDelay, 5, 'sealDelay', 0),
    newObjectsPerPeer: {
      burst: num(options.newObjectsPerPeer?.burst, DEFAULT_NEW_OBJECTS_RATE.burst, 'newObjectsPerPeer.burst'),
      perSecond: num(options.newObjectsPerPeer?.perSecond, DEFAULT_NEW_OBJECTS_RATE.perSecond, 'newObjectsPerPeer.perSecond', Number.MIN_VALUE),
    },
    bytesPerPeer:
      options.bytesPerPeer === undefined
        ? undefined
        : {
            burst: num(options.bytesPerPeer.burst, NaN, 'bytesPerPeer.burst'),
            perSecond: num(options.bytesPerPeer.perSecond, NaN, 'bytesPerPeer.perSecond', Number.MIN_VALUE),
          },
  }
  const id = options.id === undefined ? undefined : toReplicaId(options.id)
  if (options.advertise !== undefined) {
    if (!Array.isArray(options.advertise) || options.advertise.length > MAX_MEMBER_ADDRESSES) throw new TypeError(`advertise is an array of at most ${MAX_MEMBER_ADDRESSES} addresses`)
    for (const a of options.advertise) schemeOf(a)
  }
  return { ...resolved, id }
}
