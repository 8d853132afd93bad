import type { Connection } from '@hearsay/core'
import { Admission } from './Admission.js'
import { decodeIdentity, encodeIdentity, generateIdentity, identityPublicKey, isIdentityBytes, isKeyBoundId, nodeIdFromPublicKey, pskFromNetworkKey, type NodeIdentity } from './keys.js'
import { DEFAULT_MAX_HANDSHAKE_FRAME, SecureConnection, type SecureTimers } from './SecureConnection.js'

/** Bound into every handshake: the protocol and its version (a peer of another version fails the handshake). */
const PROLOGUE = new TextEncoder().encode('hearsay-gossip/2')

/** The node options this part reads (see `NodeOptions` for their meaning). */
export interface SecurityOptions {
  readonly networkKey: string | Uint8Array
  readonly identity?: NodeIdentity | undefined
  readonly handshakeTimeout?: number | undefined
  readonly maxHandshakeFrame?: number | undefined
  readonly maxUnauthenticated?: number | undefined
  readonly maxUnauthenticatedPerAddress?: number | undefined
  readonly requireBoundIds?: boolean | undefined
}

/**
 * A node's trust material and the limits before authentication: the psk derived from the
 * network key, the static keypair (given, or ephemeral and in memory), the admission bounds;
 * wraps every new connection in a {@link SecureConnection}.
 */
export class Security {
  readonly psk: Uint8Array
  #identity: NodeIdentity
  readonly #given: boolean
  readonly requireBoundIds: boolean
  readonly handshakeTimeout: number
  readonly maxHandshakeFrame: number
  readonly admission: Admission
  readonly #timers: SecureTimers
  readonly #randomBytes: ((n: number) => Uint8Array) | undefined

  /** @throws TypeError on a missing network key or a bad identity; RangeError on bad numbers. */
  constructor(o: SecurityOptions, timers: SecureTimers, random: (() => number) | undefined) {
    this.psk = pskFromNetworkKey(o.networkKey)
    this.#timers = timers
    this.#randomBytes = random === undefined ? undefined : (n) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256))
    if (o.identity !== undefined && !(o.identity?.secretKey instanceof Uint8Array && o.identity.publicKey instanceof Uint8Array)) throw new TypeError('identity is a { publicKey, secretKey } X25519 keypair, with `signing` the Ed25519 keypair it derives from (see generateIdentity)')
    this.#identity = o.identity ?? generateIdentity(this.#randomBytes)
    this.#given = o.identity !== undefined
    this.requireBoundIds = o.requireBoundIds ?? false
    const num = (v: number | undefined, d: number, name: string, min: number) => {
      const n = v ?? d
      if (typeof n !== 'number' || !Number.isFinite(n) || n < min) throw new RangeError(`${name} is a number of at least ${min}, got ${v}`)
      return n
    }
    this.handshakeTimeout = num(o.handshakeTimeout, 5000, 'handshakeTimeout', 1)
    this.maxHandshakeFrame = num(o.maxHandshakeFrame, DEFAULT_MAX_HANDSHAKE_FRAME, 'maxHandshakeFrame', 128)
    this.admission = new Admission(num(o.maxUnauthenticated, 256, 'maxUnauthenticated', 1), num(o.maxUnauthenticatedPerAddress, 64, 'maxUnauthenticatedPerAddress', 1))
  }

  /** The static keypair. */
  get identity(): NodeIdentity {
    return this.#identity
  }

  /**
   * Without a given keypair, the node keeps the one its store holds, so its key-bound id
   * survives a restart: takes the stored bytes, or returns the bytes to store when there were none.
   */
  restore(stored: Uint8Array | undefined): Uint8Array | undefined {
    if (this.#given) return undefined
    if (stored !== undefined && isIdentityBytes(stored)) {
      this.#identity = decodeIdentity(stored)
      return undefined
    }
    return encodeIdentity(this.#identity)
  }

  /** Random bytes: the node's seeded source when it has one (simulations), else WebCrypto. */
  randomBytes(n: number): Uint8Array {
    return this.#randomBytes?.(n) ?? crypto.getRandomValues(new Uint8Array(n))
  }

  /** The id bound to this node's static key. */
  get keyId(): string {
    return nodeIdFromPublicKey(identityPublicKey(this.#identity))
  }

  /**
   * The node id to run under: the given one; else a saved id not of the key-bound form (from
   * before ids were bound to keys, or given by `hearsay repair`), which stays as it was; else
   * the key's (a saved key-bound id of another key is dropped).
   */
  nodeId(given: string | undefined, saved: string | undefined): string {
    if (given !== undefined) return given
    if (saved && !isKeyBoundId(saved)) return saved
    return this.keyId
  }

  /**
   * Wraps a new connection in the secure channel. An accepted one (`listener` set) is first
   * counted against the bounds on unauthenticated connections, and closed at once when over.
   * @returns the channel, or `undefined` when the connection was refused (and closed).
   */
  wrap(conn: Connection, initiator: boolean, maxFrame: number, listener: string | undefined, ordered = true): SecureConnection | undefined {
    let release: (() => void) | undefined
    if (listener !== undefined) {
      release = this.admission.admit(listener, conn.remoteAddress)
      if (release === undefined) {
        conn.close()
        return undefined
      }
    }
    const secure = new SecureConnection(conn, {
      initiator,
      psk: this.psk,
      staticKey: this.#identity,
      prologue: PROLOGUE,
      timers: this.#timers,
      handshakeTimeout: this.handshakeTimeout,
      maxHandshakeFrame: this.maxHandshakeFrame,
      maxFrame,
      maxWireFrame: Math.min(maxFrame, 65535),
      ordered,
      ...(this.#randomBytes === undefined ? {} : { randomBytes: this.#randomBytes }),
    })
    if (release !== undefined) {
      secure.once('secure', release)
      secure.once('close', release)
    }
    return secure
  }
}
