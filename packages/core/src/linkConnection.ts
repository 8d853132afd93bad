import type { HearsayError } from './errors.js'
import { ReplicaLink, type StreamOptions, type StreamTarget } from './ReplicaLink.js'
import type { Connection } from './transport.js'

/**
 * Replicates `replica` over one transport {@link Connection} (a WebSocket, TCP, BroadcastChannel
 * link) with the protocol of `createStream()`: frames go out with `send`, frames in go to the
 * {@link ReplicaLink}. A bad frame closes the connection with its {@link HearsayError} (the
 * replica is left as it was before it); the connection closing closes the link. Returns the link.
 */
export function linkConnection<Op>(replica: StreamTarget<Op>, connection: Connection, options: StreamOptions = {}): ReplicaLink<Op> {
  const link = new ReplicaLink<Op>(replica, options, {
    send: (frame) => void connection.send(frame),
    end: () => connection.close(),
    fail: (error) => connection.close(error),
  })
  connection.on('frame', (frame) => {
    try {
      link.receive(frame)
    } catch (err) {
      link.close(err as HearsayError)
      connection.close(err as Error)
    }
  })
  connection.on('close', () => link.close())
  return link
}
