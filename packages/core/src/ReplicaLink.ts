import { Emitter, type Events } from './Emitter.js'
import type { ReplicatedEvents } from './Replicated.js'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { HearsayError, ErrorCodes } from './errors.js'
import type { ReplicaId } from './ids.js'
import { decodeWith, readSafeUint, type Value } from './encoding.js'
import { DEFAULT_MAX_FRAME, FrameDecoder, encodeFrame } from './framing.js'
import { MessageKind, readHello, writeHello, type Hello } from './protocol.js'
import { readVersionVector, VersionVector, writeVersionVector, type ReadonlyVersionVector } from './VersionVector.js'
import type { Range } from './update.js'
import { PeerLink } from './PeerLink.js'
import { UPDATES_PER_FRAME, splitRanges } from './ranges.js'

/** Options of a replication link or stream (`createStream()` in `@hearsay/core/node`), after scuttlebutt's. */
export interface StreamOptions {
  /** This side sends its ranges (default true). */
  readable?: boolean
  /** This side accepts ranges from the other (default true). */
  writable?: boolean
  /** Keep sending live updates after the initial sync (default true; false ends after sync). */
  tail?: boolean
  /** Any replicable value, handed to the other side in the handshake (`peerMeta` there). */
  meta?: Value
  /** For a stream that does not accept: the digest the other side is known to have (default empty). */
  since?: ReadonlyVersionVector
  /** Largest frame accepted or produced, in bytes (default 16 MiB). */
  maxFrame?: number
}

/** What a replica reports after applying a batch of ranges. */
export interface ApplyResult {
  /** Updates that took effect. */
  applied: number
  /** Updates already covered by the clock (not an error). */
  duplicates: number
  /** Updates now waiting in the causal buffer. */
  waiting: number
  /** Updates refused (clock drift, invalid op, full buffer); the next digest exchange offers them again. */
  refused: number
}

/** The events a stream listens to on its replica. */
export type StreamTargetEvents<Op> = Pick<ReplicatedEvents<Op>, 'ranges' | 'dispose'>

/** What a stream needs from a replica; `Replicated` provides it. */
export interface StreamTarget<Op> extends Events<StreamTargetEvents<Op>> {
  readonly id: ReplicaId
  /** False once the replica is disposed: a link refuses to start on it. */
  readonly isOpen?: boolean
  readonly typeId: number
  readonly clock: ReadonlyVersionVector
  readonly overflowCount: number
  historySince(since: ReadonlyVersionVector): Range<Op>[]
  applyRanges(ranges: readonly Range<Op>[], origin?: unknown): ApplyResult
  writeRanges(encoder: encoding.Encoder, ranges: readonly Range<Op>[]): void
  readRanges(decoder: decoding.Decoder): Range<Op>[]
}

/** Where a {@link ReplicaLink} puts what it sends: a socket, a port, a file, a Node stream. */
export interface LinkSink {
  /** Carries one length-prefixed frame to the other side. */
  send(frame: Uint8Array): void
  /** This side has nothing more to send. */
  end(): void
  /** The link failed on its own side (an outgoing frame over the cap) and sends nothing more. */
  fail(error: HearsayError): void
}

/** Events of a {@link ReplicaLink}. */
export interface ReplicaLinkEvents {
  /** The other side's handshake has arrived. */
  header: (hello: Hello) => void
  /** The other side's initial history has arrived. */
  sync: () => void
  /** {@link ReplicaLink.close} ran: `error` when a bad frame closed it. Fires once. */
  close: (error?: HearsayError) => void
}

/**
 * The scuttlebutt-style replication protocol for one replica over any carrier of bytes, with
 * no platform stream: what `createStream()` (a Node `Duplex`, in `@hearsay/core/node`) and
 * {@link connectPort} (a `MessagePort`, browsers and workers) are built on. Each sending side
 * opens with a hello (protocol version, type id, replica id, digest, meta); each side then
 * sends the ranges the other lacks, a sync marker, and live updates.
 *
 * Bytes from the other side go to {@link receive} in chunks of any size; frames for the other
 * side go to the {@link LinkSink} given at construction (the hello goes there at once).
 */
export class ReplicaLink<Op = unknown> extends Emitter<ReplicaLinkEvents> {
  readonly #target: StreamTarget<Op>
  readonly #sink: LinkSink
  readonly #sends: boolean
  readonly #accepts: boolean
  readonly #tail: boolean
  readonly #maxFrame: number
  readonly #frames: FrameDecoder
  /** What the peer holds, and the live outbox (one replica: key 0). */
  readonly #link: PeerLink<Op, 0>
  #live = false
  #ended = false
  #closed = false
  #lastOverflow: number
  #onRanges = (ranges: readonly Range<Op>[], origin: unknown) => this.#forward(ranges, origin)
  #onDispose = () => this.#end()

  /** The other side's handshake, once it has arrived. */
  peer: Hello | undefined
  /** True once the other side's sync marker has arrived. */
  synced = false
  /** Bytes and frames in each direction. */
  readonly stats = { bytesIn: 0, bytesOut: 0, framesIn: 0, framesOut: 0 }

  constructor(target: StreamTarget<Op>, options: StreamOptions, sink: LinkSink) {
    super()
    this.#target = target
    this.#sink = sink
    this.#sends = options.readable ?? true
    this.#accepts = options.writable ?? true
    this.#tail = options.tail ?? true
    this.#maxFrame = options.maxFrame ?? DEFAULT_MAX_FRAME
    this.#frames = new FrameDecoder(this.#maxFrame)
    this.#lastOverflow = target.overflowCount
    this.#link = new PeerLink<Op, 0>((_, chunk) => {
      if (!this.#ended) this.#send(MessageKind.Ranges, (e) => this.#target.writeRanges(e, chunk))
    })
    target.on('ranges', this.#onRanges)
    target.on('dispose', this.#onDispose)
    if (!this.#sends) {
      this.#end()
      return
    }
    this.#send(MessageKind.Hello, (e) =>
      writeHello(e, { typeId: target.typeId, replicaId: target.id, sends: this.#sends, accepts: this.#accepts, meta: options.meta }, target.clock),
    )
    // Nobody will tell us what they have: send everything past `since`.
    if (!this.#accepts) this.#sendHistory(options.since ?? new VersionVector())
  }

  /** The other side's meta from its handshake. */
  get peerMeta(): Value | undefined {
    return this.peer?.meta
  }

  /** True once {@link close} has run. */
  get closed(): boolean {
    return this.#closed
  }

  /**
   * Takes bytes from the other side and acts on every whole frame in them.
   * @throws HearsayError on a malformed or oversized frame, another type or protocol version;
   * the replica is left as it was before that frame, and the caller should {@link close} the link.
   */
  receive(chunk: Uint8Array): void {
    if (this.#closed) return
    this.stats.bytesIn += chunk.length
    try {
      for (const payload of this.#frames.push(chunk)) {
        this.stats.framesIn++
        this.#handle(payload)
      }
    } catch (err) {
      throw err instanceof HearsayError ? err : new HearsayError(ErrorCodes.DECODE_ERROR, String(err), { cause: err })
    }
  }

  /**
   * The other side has finished sending. A tailing link, or one that does not send, ends too.
   * @throws HearsayError `HEARSAY_DECODE_ERROR` when the input ended inside a frame.
   */
  inputEnded(): void {
    if (this.#closed) return
    if (this.#frames.buffered > 0) {
      throw new HearsayError(ErrorCodes.DECODE_ERROR, `input ended inside a frame (${this.#frames.buffered} bytes of it buffered)`, { offset: this.#frames.bytesRead })
    }
    // The other side has finished; a tailing stream has nothing more to wait for.
    if (this.#tail || !this.#sends) this.#end()
  }

  /** Stops the link at once: it sends nothing more (not even queued live updates) and stops listening to the replica. */
  close(error?: HearsayError): void {
    if (this.#closed) return
    this.#closed = true
    this.#ended = true
    this.#live = false
    this.#detach()
    this.emit('close', error)
  }

  #handle(payload: Uint8Array): void {
    // Decode the whole frame before touching the replica, so a bad frame changes nothing.
    const msg = decodeWith(payload, (d) => {
      const kind = readSafeUint(d)
      switch (kind) {
        case MessageKind.Hello:
          return { kind, hello: readHello(d) } as const
        case MessageKind.Ranges:
          return { kind, ranges: this.#target.readRanges(d) } as const
        case MessageKind.Sync:
          return { kind } as const
        case MessageKind.Digest:
          return { kind, clock: readVersionVector(d) } as const
        default:
          throw new HearsayError(ErrorCodes.DECODE_ERROR, `unknown message kind ${kind}`, { offset: 0 })
      }
    })
    if (msg.kind === MessageKind.Hello) {
      if (this.peer) throw new HearsayError(ErrorCodes.DECODE_ERROR, 'second hello on one stream')
      if (msg.hello.typeId !== this.#target.typeId) {
        throw new HearsayError(ErrorCodes.TYPE_MISMATCH, `peer replicates type ${msg.hello.typeId}, this replica is type ${this.#target.typeId}`)
      }
      this.peer = msg.hello
      this.emit('header', msg.hello)
      if (this.#sends && this.#accepts) {
        if (msg.hello.accepts) this.#sendHistory(msg.hello.clock)
        else this.#end()
      }
      return
    }
    if (!this.peer) throw new HearsayError(ErrorCodes.DECODE_ERROR, 'data before hello')
    if (msg.kind === MessageKind.Ranges) {
      if (!this.#accepts) return
      this.#link.receive(0, this.#target, msg.ranges, this)
    } else if (msg.kind === MessageKind.Sync) {
      if (!this.synced) {
        this.synced = true
        this.emit('sync')
      }
      this.#requestIfDropped()
    } else if (this.#sends && !this.#ended) {
      this.#sendSince(msg.clock)
    }
  }

  // Ranges were dropped from a full causal buffer: ask the peer again from our current clock.
  #requestIfDropped(): void {
    if (this.#target.overflowCount === this.#lastOverflow || !this.#sends || this.#ended) return
    this.#lastOverflow = this.#target.overflowCount
    this.#send(MessageKind.Digest, (e) => writeVersionVector(e, this.#target.clock))
  }

  #sendHistory(since: ReadonlyVersionVector): void {
    this.#sendSince(since)
    this.#send(MessageKind.Sync, () => {})
    if (this.#tail) this.#live = true
    else this.#end()
  }

  // Sends everything past the peer's digest `since`; it then holds all this replica holds.
  #sendSince(since: ReadonlyVersionVector): void {
    this.#link.reset(0, since)
    this.#sendRanges(this.#link.history(0, this.#target, since))
    this.#link.learn(0, this.#target.clock)
  }

  #sendRanges(ranges: readonly Range<Op>[]): void {
    if (ranges.length === 0) return
    for (const chunk of splitRanges(ranges, UPDATES_PER_FRAME)) {
      this.#send(MessageKind.Ranges, (e) => this.#target.writeRanges(e, chunk))
    }
  }

  #forward(ranges: readonly Range<Op>[], origin: unknown): void {
    if (!this.#live || origin === this) return
    // Every update written in this tick goes out in one frame (see PeerLink).
    this.#link.push(0, ranges)
  }

  #send(kind: number, write: (e: encoding.Encoder) => void): void {
    if (this.#ended) return
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, kind)
    write(e)
    const payload = encoding.toUint8Array(e)
    if (payload.length > this.#maxFrame) {
      this.#ended = true
      this.#live = false
      this.#detach()
      this.#sink.fail(new HearsayError(ErrorCodes.FRAME_TOO_LARGE, `outgoing frame of ${payload.length} bytes exceeds the cap of ${this.#maxFrame}`))
      return
    }
    const frame = encodeFrame(payload)
    this.stats.bytesOut += frame.length
    this.stats.framesOut++
    this.#sink.send(frame)
  }

  #end(): void {
    if (this.#ended) return
    this.#link.flush()
    this.#ended = true
    this.#live = false
    this.#detach()
    this.#sink.end()
  }

  #detach(): void {
    this.#target.off('ranges', this.#onRanges)
    this.#target.off('dispose', this.#onDispose)
  }
}
