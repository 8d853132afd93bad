/**
 * @hearsay/core/node: the Node-only part of core — replication as a Node `Duplex`
 * ({@link ReplicaStream}), scuttlebutt's `createStream()`.
 *
 * Importing it adds `createStream()`, `createReadStream()` and `createWriteStream()` to every
 * `Replicated` (Node resolves plain `@hearsay/core` to an entry that imports it, so on Node they
 * are simply there). Browsers and workers use {@link ReplicaLink} / `connectPort` from
 * `@hearsay/core`, which speak the same protocol with no Node streams.
 *
 * @example
 * ```ts
 * import { createStream } from '@hearsay/core/node'
 * const sa = createStream(a), sb = createStream(b)   // or a.createStream(), b.createStream()
 * sa.pipe(sb).pipe(sa)
 * ```
 * @packageDocumentation
 */
import { Replicated } from '../Replicated.js'
import type { StreamOptions } from '../ReplicaLink.js'
import { HearsayError, ErrorCodes } from '../errors.js'
import { ReplicaStream, createReadStream, createStream, createWriteStream } from './ReplicaStream.js'

export { ReplicaStream, createReadStream, createStream, createWriteStream }

declare module '../Replicated.js' {
  interface Replicated<Op, Json, E> {
    /** A duplex replication stream (Node only; `@hearsay/core/node`); see {@link ReplicaStream}. */
    createStream(options?: StreamOptions): ReplicaStream<Op>
    /** A stream that only sends this replica's history (to a file or a peer), then ends (Node only). */
    createReadStream(options?: Omit<StreamOptions, 'readable' | 'writable'>): ReplicaStream<Op>
    /** A stream that only takes history in (from a file or a peer) (Node only). */
    createWriteStream(options?: Omit<StreamOptions, 'readable' | 'writable'>): ReplicaStream<Op>
  }
}

const proto = Replicated.prototype as Replicated<unknown>
proto.createStream = function (this: Replicated<unknown>, options?: StreamOptions) {
  if (!this.isOpen) throw new HearsayError(ErrorCodes.NOT_OPEN, `${this.typeName} replica ${this.id} is disposed`)
  return createStream(this, options)
}
proto.createReadStream = function (this: Replicated<unknown>, options?: Omit<StreamOptions, 'readable' | 'writable'>) {
  return this.createStream({ tail: false, ...options, readable: true, writable: false })
}
proto.createWriteStream = function (this: Replicated<unknown>, options?: Omit<StreamOptions, 'readable' | 'writable'>) {
  return this.createStream({ ...options, readable: false, writable: true })
}
