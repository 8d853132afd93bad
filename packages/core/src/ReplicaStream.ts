import { Duplex } from 'node:stream'
import type { Events } from './Emitter.js'
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

/** Options of `createStream()`, after scuttlebutt's. */
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
  readonly typeId: number
  readonly clock: ReadonlyVersionVector
  readonly overflowCount: number
  historySince(since: ReadonlyVersionVector): Range<Op>[]
  applyRanges(ranges: readonly Range<Op>[], origin?: unknown): ApplyResult
  writeRanges(encoder: encoding.Encoder, ranges: readonly Range<Op>[]): void
  readRanges(decoder: decoding.Decoder): Range<Op>[]
}

/**
 * A scuttlebutt-style replication stream for one replica: a Node `Duplex` of length-prefixed
 * binary frames. Each sending side opens with a hello (protocol version, type id, replica id,
 * digest, meta); each side then sends the ranges the other lacks, a sync marker, and live
 * updates. Pipe it to a socket, a file or another replica's stream.
 *
 * Events: `header` (the peer's {@link Hello}), `sync` (the peer's initial history has
 * arrived), `error` (a {@link HearsayError}: a malformed or oversized frame, another type or
 * protocol version; the stream is destroyed, the replica is left as it was before that frame).
 */
export class ReplicaStream<Op = unknown> extends Duplex {
  readonly #target: StreamTarget<Op>
  readonly #sends: boolean
  readonly #accepts: boolean
  readonly #tail: boolean
  readonly #maxFrame: number
  readonly #frames: FrameDecoder
  /** What the peer holds, and the live outbox (one replica: key 0). */
  readonly #link: PeerLink<Op, 0>
  #live = false
  #ended = false
  #lastOverflow: number
  #onRanges = (ranges: readonly Range<Op>[], origin: unknown) => this.#forward(ranges, origin)
  #onDispose = () => this.#end()

  /** The other side's handshake, once it has arrived. */
  peer: Hello | undefined
  /** True once the other side's sync marker has arrived. */
  synced = false
  /** Bytes and frames in each direction. */
  readonly stats = { bytesIn: 0, bytesOut: 0, framesIn: 0, framesOut: 0 }

  constructor(target: StreamTarget<Op>, options: StreamOptions = {}) {
    super({ allowHalfOpen: true })
    this.#target = target
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

  override _read(): void {}

  override _write(chunk: Uint8Array, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.stats.bytesIn += chunk.length
    try {
      for (const payload of this.#frames.push(chunk)) {
        this.stats.framesIn++
        this.#handle(payload)
      }
    } catch (err) {
      cb(err instanceof HearsayError ? err : new HearsayError(ErrorCodes.DECODE_ERROR, String(err), { cause: err }))
      return
    }
    cb()
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.#frames.buffered > 0) {
      cb(new HearsayError(ErrorCodes.DECODE_ERROR, `input ended inside a frame (${this.#frames.buffered} bytes of it buffered)`, { offset: this.#frames.bytesRead }))
      return
    }
    // The other side has finished; a tailing stream has nothing more to wait for.
    if (this.#tail || !this.#sends) this.#end()
    cb()
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#detach()
    cb(err)
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
      this.destroy(new HearsayError(ErrorCodes.FRAME_TOO_LARGE, `outgoing frame of ${payload.length} bytes exceeds the cap of ${this.#maxFrame}`))
      return
    }
    const frame = encodeFrame(payload)
    this.stats.bytesOut += frame.length
    this.stats.framesOut++
    this.push(frame)
  }

  #end(): void {
    if (this.#ended) return
    this.#link.flush()
    this.#ended = true
    this.#live = false
    this.#detach()
    this.push(null)
  }

  #detach(): void {
    this.#target.off('ranges', this.#onRanges)
    this.#target.off('dispose', this.#onDispose)
  }
}
