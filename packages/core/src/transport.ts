import type { Events } from './Emitter.js'

/** What a {@link Connection} emits. */
export interface ConnectionEvents {
  /** One whole frame from the peer. */
  frame: (frame: Uint8Array) => void
  /** The link closed, by either side; `reason` is set when it closed on an error. Fires once. */
  close: (reason?: Error) => void
  /**
   * The send buffer emptied. Precisely: once a `send` returned true and left `bufferedBytes`
   * above 0, `drain` fires once when `bufferedBytes` is 0 again while the connection is open
   * (at once where the platform reports its writes, within a bounded poll where it does not:
   * the browser WebSocket); sends made meanwhile are covered by the same `drain`, a send that
   * leaves nothing buffered is owed none, and none fires after close. So while bytes are
   * buffered a `drain` or a `close` is coming, and a writer that stops on a full buffer waits
   * for it instead of polling. Every transport emits it; one with no send buffer
   * (`bufferedBytes` always 0: BroadcastChannel) is never owed one.
   */
  drain: () => void
}

/**
 * One open link to a peer, carrying whole frames (the transport does the framing).
 * Events: see {@link ConnectionEvents}. Transports implement it by extending
 * `BaseConnection`, which does the checks of `send` and `close` and keeps the `drain` promise.
 */
export interface Connection extends Events<ConnectionEvents> {
  /** The other end's address, for logs and status. */
  readonly remoteAddress: string
  /** True until closed by either side. */
  readonly isOpen: boolean
  /** Bytes accepted by `send` and not yet handed on (to the operating system, or the peer); see the `drain` event. */
  readonly bufferedBytes: number
  /**
   * Queues one frame. When the bounded send buffer would overflow the connection closes itself
   * with `HEARSAY_BACKPRESSURE` and this returns false; a slow peer never grows our memory.
   */
  send(frame: Uint8Array): boolean
  /** Closes the link; `close` fires once on both ends. */
  close(reason?: Error): void
  /**
   * Caps the frames accepted from now on, checked before a frame is buffered where the
   * transport can (TCP reads the length prefix first). A secure channel lowers it until the
   * peer has authenticated. Optional: a transport without it still has its own cap.
   */
  limitFrames?(maxFrame: number): void
  /**
   * Stops reading from the peer until {@link resume}: frames already read may still arrive,
   * then none, and what the peer sends waits on its side, filling its send buffer (TCP and
   * WebSocket push back through the kernel). A node uses it to hold a peer to its bytes per
   * second. Optional: a link that cannot push back (a browser WebSocket, BroadcastChannel)
   * leaves it out.
   */
  pause?(): void
  /** Reads again after {@link pause}. */
  resume?(): void
}

/** A listening endpoint. */
export interface Listener {
  /** The address peers can connect to (with the real port when 0 was asked for). */
  readonly url: string
  close(): Promise<void>
}

/** What a transport can do. */
export interface TransportCapabilities {
  /** Frames arrive in order and without loss while the connection is open. */
  readonly ordered: boolean
  /** Reaches other processes or machines. */
  readonly remote: boolean
}

/** A way to reach peers, registered for one URL scheme (`mem:`, `tcp:`, `ws:`). */
export interface Transport {
  readonly scheme: string
  readonly capabilities: TransportCapabilities
  listen(url: string, onConnection: (connection: Connection) => void): Promise<Listener>
  connect(url: string): Promise<Connection>
}
