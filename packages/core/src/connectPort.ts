import { HearsayError, ErrorCodes } from './errors.js'
import { ReplicaLink, type StreamOptions, type StreamTarget } from './ReplicaLink.js'

/**
 * What {@link connectPort} needs of a port: the shape shared by a `MessagePort` (browsers,
 * workers, Node's `worker_threads`) and a `Worker`. Frames travel as `Uint8Array` messages;
 * `null` says this side has finished sending.
 */
export interface FramePort {
  postMessage(message: Uint8Array | null): void
  onmessage: ((event: { data: unknown }) => void) | null
}

/**
 * Replicates `replica` over `port` with the protocol of `createStream()` (a {@link ReplicaLink}),
 * for a page, a worker or a tab with no Node streams: connect the two ends of a
 * `MessageChannel` to two replicas and they converge, then stay in sync while both live.
 *
 * A bad message from the other side (not bytes, or a bad frame) closes the link with a
 * {@link HearsayError} in its `close` event and leaves the replica as it was before it; the
 * port's handler is cleared when the link closes. Returns the link (its `peer`, `synced`,
 * `stats`, `close()`).
 */
export function connectPort<Op>(replica: StreamTarget<Op>, port: FramePort, options: StreamOptions = {}): ReplicaLink<Op> {
  const link: ReplicaLink<Op> = new ReplicaLink<Op>(replica, options, {
    send: (frame) => port.postMessage(frame),
    end: () => port.postMessage(null),
    fail: (error) => link.close(error),
  })
  link.on('close', () => {
    if (port.onmessage === onMessage) port.onmessage = null
  })
  const onMessage = (event: { data: unknown }): void => {
    const data = event.data
    try {
      if (data === null) link.inputEnded()
      // A view from another realm (a frame, a worker) fails instanceof; any byte view will do.
      else if (ArrayBuffer.isView(data) && (data as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT === 1) link.receive(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
      else throw new HearsayError(ErrorCodes.DECODE_ERROR, `a port message is a Uint8Array or null, got ${typeof data}`)
    } catch (err) {
      link.close(err as HearsayError)
    }
  }
  if (!link.closed) port.onmessage = onMessage
  return link
}
