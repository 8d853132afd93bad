import { Emitter, ErrorCodes, HearsayError, type Connection, type ConnectionEvents } from '@hearsay/core'
import { HandshakeState, MAX_NOISE_MESSAGE, NoiseError, SHA256, TAGLEN, XXpsk3, type CipherState, type KeyPair } from './noise.js'

/** The Noise protocol every gossip connection runs. */
export const NOISE_PROTOCOL = 'Noise_XXpsk3_25519_ChaChaPoly_SHA256'

/** Largest frame a peer may send before it has proved it holds the network key (the handshake messages are 48, 96 and 64 bytes). */
export const DEFAULT_MAX_HANDSHAKE_FRAME = 256

/** Transport messages per direction between two Rekey() calls (both sides count, so no signal is needed). */
export const DEFAULT_REKEY_EVERY = 65536

/** Plaintext bytes in one sealed piece: a Noise message is at most 65535 bytes, with a 16-byte tag and our 1-byte piece header. */
const PIECE_BYTES = MAX_NOISE_MESSAGE - TAGLEN - 1

const EMPTY = new Uint8Array(0)

/** On an unordered link: sealed messages accepted this far behind the newest one (a replay window, as WireGuard keeps). */
const WINDOW = 1024
/** On an unordered link: frames being reassembled at once, and sealed frames held while the handshake completes. */
const MAX_PARTIAL = 8
/** On an unordered link, the first byte of every frame. */
const Datagram = { Handshake: 0, Sealed: 1 } as const
/** Piece headers (first plaintext byte): a whole frame, the next piece of an ordered frame, one piece of an unordered frame. */
const Piece = { Last: 0, More: 1, Part: 2 } as const

/** Timer functions the channel uses (the node's, so simulations run on virtual time). */
export interface SecureTimers {
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: any): void
}

/** What a {@link SecureConnection} emits: a connection's events, and `secure`. */
export interface SecureConnectionEvents extends ConnectionEvents {
  /** The handshake is complete on this side: `remoteStatic` is set and `send` works. */
  secure: () => void
}

/** Options of a {@link SecureConnection}. */
export interface SecureConnectionOptions {
  /** True on the side that dialed. */
  readonly initiator: boolean
  /** The pre-shared key (32 bytes), from the network key: see `pskFromNetworkKey`. */
  readonly psk: Uint8Array
  /** This node's long-term static keypair. */
  readonly staticKey: KeyPair
  /** Bound into the handshake hash; both sides must give the same bytes (the protocol and its version). */
  readonly prologue: Uint8Array
  readonly timers: SecureTimers
  /** Milliseconds for the peer to prove the network key (default 5 000). */
  readonly handshakeTimeout?: number
  /** Largest frame read from the peer until it proved the network key (default {@link DEFAULT_MAX_HANDSHAKE_FRAME}). */
  readonly maxHandshakeFrame?: number
  /** Largest plaintext frame, sent or received, after the handshake. */
  readonly maxFrame: number
  /** Largest sealed frame handed to the transport (default and most: one Noise message, 65 535 bytes); big frames go in more pieces. */
  readonly maxWireFrame?: number
  /**
   * False for links that may lose, duplicate or reorder frames (the simulator's lossy links,
   * datagrams). Then every sealed message carries its nonce in the clear, the receiver keeps a
   * replay window and tries the Rekey() epoch the nonce names, a big frame's pieces carry
   * their place, and a duplicated or early handshake message is dropped instead of closing
   * the link. Default true.
   */
  readonly ordered?: boolean
  /** Transport messages per direction between rekeys (default {@link DEFAULT_REKEY_EVERY}). */
  readonly rekeyEvery?: number
  /** Random bytes for the ephemeral key (seed it in simulations); default WebCrypto. */
  readonly randomBytes?: (n: number) => Uint8Array
}

/**
 * A secure channel over any {@link Connection}: a `Noise_XXpsk3_25519_ChaChaPoly_SHA256`
 * handshake (the network key as the psk, each node's static key authenticated), then every
 * frame sealed with ChaCha20-Poly1305 under per-direction keys from Split(), with the nonce as
 * the message counter and Rekey() every `rekeyEvery` messages. Like libp2p's connection
 * upgrade: transport, then this channel, then the session.
 *
 * Guarantees: no frame reaches a listener before the peer proved it holds the network key
 * (the responder knows at the third handshake message; the initiator at the first sealed
 * frame it receives); until then frames over `maxHandshakeFrame` bytes, a handshake slower
 * than `handshakeTimeout` or any message out of order close the link. A frame whose
 * authentication fails (a flipped bit, a replay, a reordering, a reflection, another key)
 * closes the link with `HEARSAY_AUTH_FAILED` and is never delivered. A frame larger than one
 * Noise message is sent as several sealed pieces and delivered whole, or not at all.
 *
 * Events: `secure` (the handshake is complete: `remoteStatic` is set and `send` works),
 * `frame` (Uint8Array), `drain`, `close` (reason?: Error), once.
 */
export class SecureConnection extends Emitter<SecureConnectionEvents> implements Connection {
  readonly inner: Connection
  readonly #o: { -readonly [K in keyof Omit<SecureConnectionOptions, 'randomBytes'>]-?: SecureConnectionOptions[K] }
  readonly #hs: HandshakeState
  #send: CipherState | undefined
  #receive: CipherState | undefined
  /** The peer proved it holds the psk. */
  #proven = false
  #closed = false
  #timer: unknown
  #pieces: Uint8Array[] = []
  /** Unordered links: the receive epoch's cipher and the one before, the newest nonce and the window below it. */
  #epoch = 0n
  #previous: CipherState | undefined
  #top = -1n
  /** Bit i % WINDOW set: nonce i (within the window below #top) was accepted. */
  readonly #seen = new Uint8Array(WINDOW / 8)
  readonly #partial = new Map<number, { parts: Array<Uint8Array | undefined>; got: number; bytes: number }>()
  #frameId = 0
  #early: Uint8Array[] = []
  readonly #handshakeSeen: string[] = []
  readonly #pieceBytes: number
  #piecesBytes = 0
  /** Bytes received from the peer (all of them, sealed), for status and tests. */
  bytesIn = 0
  /** The peer's static public key, once the handshake is complete. */
  remoteStatic: Uint8Array | undefined
  /** The handshake hash, once the handshake is complete. */
  handshakeHash: Uint8Array | undefined
  readonly #onFrame = (f: Uint8Array) => this.#receiveFrame(f)
  // Closed by the far end before it proved the psk (cleanly or with a reset, as TCP does when
  // the refusing side had unread bytes): all this side can know is that it was refused.
  readonly #onClose = (err?: Error) =>
    this.#finish(
      this.#proven
        ? err
        : new HearsayError(ErrorCodes.AUTH_FAILED, `${this.inner.remoteAddress} closed the link before it authenticated (another network key, or it refused the connection)${err ? `: ${err.message}` : ''}`, err ? { cause: err } : undefined),
    )
  readonly #onDrain = () => this.emit('drain')

  constructor(inner: Connection, options: SecureConnectionOptions) {
    super()
    this.inner = inner
    this.#o = {
      handshakeTimeout: 5000,
      maxHandshakeFrame: DEFAULT_MAX_HANDSHAKE_FRAME,
      rekeyEvery: DEFAULT_REKEY_EVERY,
      maxWireFrame: MAX_NOISE_MESSAGE,
      ordered: true,
      ...options,
    }
    // Unordered: 1 type byte and 8 nonce bytes in front, 9 more header bytes in a part.
    this.#pieceBytes = Math.min(PIECE_BYTES, this.#o.maxWireFrame - TAGLEN - 1) - (this.#o.ordered ? 0 : 17)
    if (!(this.#pieceBytes >= 1)) throw new RangeError(`maxWireFrame is at least ${TAGLEN + 2}`)
    if (!(this.#o.rekeyEvery >= 1)) throw new RangeError('rekeyEvery is a positive count')
    const hs: ConstructorParameters<typeof HandshakeState>[0] = { pattern: XXpsk3, hash: SHA256, initiator: options.initiator, prologue: options.prologue, s: options.staticKey, psk: options.psk }
    this.#hs = new HandshakeState(options.randomBytes === undefined ? hs : { ...hs, randomBytes: options.randomBytes })
    inner.limitFrames?.(this.#o.maxHandshakeFrame)
    inner.on('frame', this.#onFrame)
    inner.on('close', this.#onClose)
    inner.on('drain', this.#onDrain)
    this.#timer = options.timers.setTimeout(() => {
      this.#timer = undefined
      if (!this.#proven) this.close(new HearsayError(ErrorCodes.TIMEOUT, `peer ${inner.remoteAddress} did not complete the handshake in ${this.#o.handshakeTimeout} ms`))
    }, this.#o.handshakeTimeout)
    if (options.initiator) this.#write()
  }

  get remoteAddress(): string {
    return this.inner.remoteAddress
  }

  get isOpen(): boolean {
    return !this.#closed && this.inner.isOpen
  }

  get bufferedBytes(): number {
    return this.inner.bufferedBytes
  }

  /** False on a link that may lose, duplicate or reorder frames (see {@link SecureConnectionOptions.ordered}). */
  get ordered(): boolean {
    return this.#o.ordered
  }

  /** True once the handshake is complete on this side. */
  get secure(): boolean {
    return this.#send !== undefined
  }

  /** True once the peer proved it holds the network key. */
  get proven(): boolean {
    return this.#proven
  }

  /** Caps the plaintext frames accepted from now on. */
  limitFrames(maxFrame: number): void {
    this.#o.maxFrame = maxFrame
  }

  /**
   * Seals and sends one frame (as several pieces when it exceeds one Noise message).
   * @throws Error when the handshake is not complete yet.
   */
  send(frame: Uint8Array): boolean {
    if (!this.isOpen) return false
    if (this.#send === undefined) throw new Error('SecureConnection.send before the handshake completed')
    if (frame.length > this.#o.maxFrame) {
      this.close(new HearsayError(ErrorCodes.FRAME_TOO_LARGE, `frame of ${frame.length} bytes exceeds the cap of ${this.#o.maxFrame}`))
      return false
    }
    const count = Math.max(1, Math.ceil(frame.length / this.#pieceBytes))
    if (!this.#o.ordered && count > 0xffff) {
      this.close(new HearsayError(ErrorCodes.FRAME_TOO_LARGE, `frame of ${frame.length} bytes needs more than 65535 pieces`))
      return false
    }
    const id = count > 1 ? (this.#frameId = (this.#frameId + 1) >>> 0) : 0
    for (let i = 0, at = 0; i < count; i++) {
      const n = Math.min(this.#pieceBytes, frame.length - at)
      const head = this.#o.ordered || count === 1 ? 1 : 9
      const piece = new Uint8Array(n + head)
      if (head === 1) piece[0] = i + 1 < count ? Piece.More : Piece.Last
      else {
        piece[0] = Piece.Part
        const v = new DataView(piece.buffer)
        v.setUint32(1, id)
        v.setUint16(5, i)
        v.setUint16(7, count)
      }
      piece.set(frame.subarray(at, at + n), head)
      at += n
      const nonce = this.#send.nonce
      let sealed = this.#send.encryptWithAd(EMPTY, piece)
      if (this.#send.nonce % BigInt(this.#o.rekeyEvery) === 0n) this.#send.rekey()
      if (!this.#o.ordered) {
        const d = new Uint8Array(9 + sealed.length)
        d[0] = Datagram.Sealed
        new DataView(d.buffer).setBigUint64(1, nonce)
        d.set(sealed, 9)
        sealed = d
      }
      if (!this.inner.send(sealed)) return false
    }
    return true
  }

  close(reason?: Error): void {
    if (this.#closed) return
    this.inner.close(reason)
    this.#finish(reason)
  }

  #finish(reason: Error | undefined): void {
    if (this.#closed) return
    this.#closed = true
    if (this.#timer !== undefined) this.#o.timers.clearTimeout(this.#timer)
    this.#timer = undefined
    this.#pieces = []
    this.inner.off('frame', this.#onFrame)
    this.inner.off('close', this.#onClose)
    this.inner.off('drain', this.#onDrain)
    this.emit('close', reason)
  }

  #write(): void {
    const m = this.#hs.writeMessage()
    this.inner.send(this.#o.ordered ? m : Uint8Array.of(Datagram.Handshake, ...m))
    this.#maybeComplete()
  }

  #maybeComplete(): void {
    const r = this.#hs.result
    if (r === undefined) return
    this.#send = r.send
    this.#receive = r.receive
    this.remoteStatic = r.remoteStatic
    this.handshakeHash = r.handshakeHash
    // The responder has just read the psk token: the initiator is proven. The initiator waits
    // for the responder's first sealed frame.
    if (!this.#hs.initiator) this.#prove()
    this.emit('secure')
    // Sealed frames that overtook the last handshake message on an unordered link.
    for (const f of this.#early.splice(0)) if (!this.#closed) this.#unsealDatagram(f)
  }

  /** Reads the peer's next handshake message and answers it or completes; any failure closes the link. */
  #readHandshake(m: Uint8Array): void {
    try {
      this.#hs.readMessage(m)
      if (this.#hs.result === undefined) this.#write()
      else this.#maybeComplete()
    } catch (err) {
      this.close(new HearsayError(ErrorCodes.AUTH_FAILED, `handshake with ${this.remoteAddress} failed: ${(err as Error).message}`, { cause: err }))
    }
  }

  #prove(): void {
    this.#proven = true
    if (this.#timer !== undefined) this.#o.timers.clearTimeout(this.#timer)
    this.#timer = undefined
    // Sealed pieces are at most one Noise message.
    this.inner.limitFrames?.(MAX_NOISE_MESSAGE)
  }

  #receiveFrame(frame: Uint8Array): void {
    if (this.#closed) return
    this.bytesIn += frame.length
    const cap = this.#proven ? MAX_NOISE_MESSAGE : this.#o.maxHandshakeFrame
    if (frame.length > cap) {
      if (!this.#o.ordered && !this.#proven) return // an unordered link: a later frame that overtook the handshake
      this.close(new HearsayError(ErrorCodes.FRAME_TOO_LARGE, `frame of ${frame.length} bytes from ${this.remoteAddress} exceeds the cap of ${cap}${this.#proven ? '' : ' before authentication'}`))
      return
    }
    if (!this.#o.ordered) {
      this.#receiveDatagram(frame)
      return
    }
    if (this.#receive === undefined) {
      this.#readHandshake(frame)
      return
    }
    let piece: Uint8Array
    try {
      piece = this.#receive.decryptWithAd(EMPTY, frame)
    } catch (err) {
      const why = err instanceof NoiseError ? err.message : String(err)
      this.close(new HearsayError(ErrorCodes.AUTH_FAILED, `sealed frame from ${this.remoteAddress} refused: ${why}${this.#proven ? '' : ' (the peer does not hold the network key)'}`, { cause: err }))
      return
    }
    if (this.#receive.nonce % BigInt(this.#o.rekeyEvery) === 0n) this.#receive.rekey()
    this.#deliverPiece(piece)
  }

  #deliverPiece(piece: Uint8Array): void {
    if (!this.#proven) this.#prove()
    if (piece.length === 0 || piece[0]! > (this.#o.ordered ? Piece.More : Piece.Part) || (!this.#o.ordered && piece[0] === Piece.More)) {
      this.close(new HearsayError(ErrorCodes.DECODE_ERROR, `sealed piece from ${this.remoteAddress} with a bad header`))
      return
    }
    if (piece[0] === Piece.Part) {
      this.#part(piece)
      return
    }
    const body = piece.subarray(1)
    if (this.#piecesBytes + body.length > this.#o.maxFrame) {
      this.close(new HearsayError(ErrorCodes.FRAME_TOO_LARGE, `frame from ${this.remoteAddress} exceeds the cap of ${this.#o.maxFrame}`))
      return
    }
    if (piece[0] === 1) {
      this.#pieces.push(body)
      this.#piecesBytes += body.length
      return
    }
    let whole = body
    if (this.#pieces.length > 0) {
      whole = new Uint8Array(this.#piecesBytes + body.length)
      let o = 0
      for (const p of this.#pieces) {
        whole.set(p, o)
        o += p.length
      }
      whole.set(body, o)
      this.#pieces = []
      this.#piecesBytes = 0
    }
    this.emit('frame', whole)
  }

  // ---- unordered links ----

  #receiveDatagram(frame: Uint8Array): void {
    const kind = frame[0]
    if (kind === Datagram.Handshake && this.#receive === undefined) {
      const m = frame.subarray(1)
      const key = Array.from(m.subarray(0, 48), (b) => b.toString(16)).join('')
      // A duplicate of a handshake message already read is dropped; anything else out of turn fails the handshake.
      if (this.#handshakeSeen.includes(key) || this.#hs.writing) return
      this.#handshakeSeen.push(key)
      this.#readHandshake(m)
      return
    }
    if (kind === Datagram.Handshake) return // a late duplicate
    if (kind !== Datagram.Sealed || frame.length < 9 + TAGLEN) {
      this.close(new HearsayError(ErrorCodes.DECODE_ERROR, `frame from ${this.remoteAddress} is neither a handshake message nor a sealed one`))
      return
    }
    if (this.#receive === undefined) {
      if (this.#early.length >= MAX_PARTIAL) return
      this.#early.push(frame)
      return
    }
    this.#unsealDatagram(frame)
  }

  #unsealDatagram(frame: Uint8Array): void {
    const n = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getBigUint64(1)
    // Replay window: older than the window, or seen already, is dropped unread.
    if (this.#replayed(n)) return
    const every = BigInt(this.#o.rekeyEvery)
    const epoch = n / every
    let cipher: CipherState | undefined
    if (epoch === this.#epoch) cipher = this.#receive!
    else if (epoch === this.#epoch - 1n) cipher = this.#previous
    else if (epoch > this.#epoch && epoch - this.#epoch <= 2n) {
      cipher = this.#receive!.fork()
      for (let e = this.#epoch; e < epoch; e++) cipher.rekey()
    }
    if (cipher === undefined) return
    const trial = cipher.fork()
    trial.setNonce(n)
    let piece: Uint8Array
    try {
      piece = trial.decryptWithAd(EMPTY, frame.subarray(9))
    } catch (err) {
      const why = err instanceof NoiseError ? err.message : String(err)
      this.close(new HearsayError(ErrorCodes.AUTH_FAILED, `sealed frame from ${this.remoteAddress} refused: ${why}${this.#proven ? '' : ' (the peer does not hold the network key)'}`, { cause: err }))
      return
    }
    if (epoch > this.#epoch) {
      // Commit to the later epoch only once a message of it authenticated.
      const before = epoch - 1n === this.#epoch ? this.#receive! : this.#receive!.fork()
      if (epoch - 1n !== this.#epoch) for (let e = this.#epoch; e < epoch - 1n; e++) before.rekey()
      this.#previous = before
      this.#receive = cipher
      this.#epoch = epoch
    }
    this.#accept(n)
    this.#deliverPiece(piece)
  }

  #replayed(n: bigint): boolean {
    if (n > this.#top) return false
    if (this.#top - n >= BigInt(WINDOW)) return true
    const i = Number(n % BigInt(WINDOW))
    return (this.#seen[i >> 3]! & (1 << (i & 7))) !== 0
  }

  #accept(n: bigint): void {
    if (n > this.#top) {
      // Slide the window: forget the bits of the nonces it leaves behind.
      const steps = this.#top < 0n ? WINDOW : Number(n - this.#top > BigInt(WINDOW) ? BigInt(WINDOW) : n - this.#top)
      for (let k = 1; k <= steps; k++) {
        const i = Number((this.#top + BigInt(k)) % BigInt(WINDOW) + BigInt(WINDOW)) % WINDOW
        this.#seen[i >> 3]! &= ~(1 << (i & 7))
      }
      this.#top = n
    }
    const i = Number(n % BigInt(WINDOW))
    this.#seen[i >> 3]! |= 1 << (i & 7)
  }

  #part(piece: Uint8Array): void {
    if (piece.length < 9) {
      this.close(new HearsayError(ErrorCodes.DECODE_ERROR, `sealed piece from ${this.remoteAddress} with a bad header`))
      return
    }
    const v = new DataView(piece.buffer, piece.byteOffset, piece.byteLength)
    const id = v.getUint32(1)
    const index = v.getUint16(5)
    const count = v.getUint16(7)
    const body = piece.subarray(9)
    if (count < 2 || index >= count || count * this.#pieceBytes > this.#o.maxFrame + this.#pieceBytes) {
      this.close(new HearsayError(ErrorCodes.DECODE_ERROR, `sealed piece ${index}/${count} from ${this.remoteAddress} out of range`))
      return
    }
    let p = this.#partial.get(id)
    if (p === undefined) {
      // A frame whose pieces never all arrive is given up when newer ones need the room.
      if (this.#partial.size >= MAX_PARTIAL) this.#partial.delete(this.#partial.keys().next().value!)
      this.#partial.set(id, (p = { parts: new Array(count), got: 0, bytes: 0 }))
    }
    if (p.parts.length !== count || p.parts[index] !== undefined) return
    p.parts[index] = body
    p.got++
    p.bytes += body.length
    if (p.got < count) return
    this.#partial.delete(id)
    const whole = new Uint8Array(p.bytes)
    let o = 0
    for (const x of p.parts) {
      whole.set(x!, o)
      o += x!.length
    }
    this.emit('frame', whole)
  }
}
