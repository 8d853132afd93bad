import { Duplex } from 'node:stream'
import { HearsayError } from '../errors.js'
import type { Value } from '../encoding.js'
import type { Hello } from '../protocol.js'
import { ReplicaLink, type StreamOptions, type StreamTarget } from '../ReplicaLink.js'

/**
 * A scuttlebutt-style replication stream for one replica: a Node `Duplex` of length-prefixed
 * binary frames over a {@link ReplicaLink}. Pipe it to a socket, a file or another replica's
 * stream.
 *
 * Events: `header` (the peer's {@link Hello}), `sync` (the peer's initial history has
 * arrived), `error` (a {@link HearsayError}: a malformed or oversized frame, another type or
 * protocol version; the stream is destroyed, the replica is left as it was before that frame).
 */
export class ReplicaStream<Op = unknown> extends Duplex {
  readonly #link: ReplicaLink<Op>

  constructor(target: StreamTarget<Op>, options: StreamOptions = {}) {
    super({ allowHalfOpen: true })
    this.#link = new ReplicaLink<Op>(target, options, {
      send: (frame) => void this.push(frame),
      end: () => void this.push(null),
      fail: (error) => void this.destroy(error),
    })
    this.#link.on('header', (hello) => this.emit('header', hello))
    this.#link.on('sync', () => this.emit('sync'))
  }

  /** The other side's handshake, once it has arrived. */
  get peer(): Hello | undefined {
    return this.#link.peer
  }

  /** True once the other side's sync marker has arrived. */
  get synced(): boolean {
    return this.#link.synced
  }

  /** Bytes and frames in each direction. */
  get stats(): ReplicaLink<Op>['stats'] {
    return this.#link.stats
  }

  /** The other side's meta from its handshake. */
  get peerMeta(): Value | undefined {
    return this.#link.peerMeta
  }

  override _read(): void {}

  override _write(chunk: Uint8Array, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    try {
      this.#link.receive(chunk)
    } catch (err) {
      cb(err as HearsayError)
      return
    }
    cb()
  }

  override _final(cb: (err?: Error | null) => void): void {
    try {
      this.#link.inputEnded()
    } catch (err) {
      cb(err as HearsayError)
      return
    }
    cb()
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#link.close()
    cb(err)
  }
}

/** A duplex replication stream of `replica` (scuttlebutt's `createStream()`); see {@link ReplicaStream}. */
export function createStream<Op>(replica: StreamTarget<Op>, options: StreamOptions = {}): ReplicaStream<Op> {
  return new ReplicaStream<Op>(replica, options)
}

/** A stream that only sends: `replica`'s history, then ends (a snapshot for a file). */
export function createReadStream<Op>(replica: StreamTarget<Op>, options: Omit<StreamOptions, 'readable' | 'writable'> = {}): ReplicaStream<Op> {
  return createStream(replica, { tail: false, ...options, readable: true, writable: false })
}

/** A stream that only accepts: pipe a read stream or a file into it. */
export function createWriteStream<Op>(replica: StreamTarget<Op>, options: Omit<StreamOptions, 'readable' | 'writable'> = {}): ReplicaStream<Op> {
  return createStream(replica, { ...options, readable: false, writable: true })
}
