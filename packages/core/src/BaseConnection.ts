import { Emitter } from './Emitter.js'
import { HearsayError, ErrorCodes } from './errors.js'
import { DEFAULT_MAX_FRAME } from './framing.js'
import type { Connection, ConnectionEvents } from './transport.js'

/** Default bound on the bytes one connection holds queued for its peer (8 MiB). */
export const DEFAULT_MAX_SEND_BUFFER = 8 * 1024 * 1024

/** The limits a {@link BaseConnection} checks on every `send`. */
export interface ConnectionLimits {
  /** Largest frame `send` accepts, in bytes (default 16 MiB). */
  maxFrame?: number | undefined
  /** Most bytes `bufferedBytes` may reach before the connection closes with `HEARSAY_BACKPRESSURE` (default 8 MiB). */
  maxSendBuffer?: number | undefined
}

/**
 * The base every transport's connection extends, in abstract-level's style: the public
 * `send` and `close` do the checks every transport needs and then call the transport's
 * protected hooks, {@link sendFrame} and {@link closeLink}. The transport reports back with
 * {@link flushed} (its buffer shrank), {@link closed} (the link is gone: `close` is emitted),
 * {@link ended} (the link is gone, `close` follows later) and emits `frame`.
 *
 * What the base guarantees, for every transport:
 * - `send` after close returns false and sends nothing; a non-Uint8Array is a `TypeError`.
 * - A frame over `maxFrame` is never sent: the connection closes with `HEARSAY_FRAME_TOO_LARGE`.
 * - A send that would take `bufferedBytes` past `maxSendBuffer` closes the connection with
 *   `HEARSAY_BACKPRESSURE` and returns false: a peer that stops reading never grows our memory.
 * - `drain` keeps the contract of {@link ConnectionEvents.drain}: once a `send` left bytes
 *   buffered, it fires when the transport calls {@link flushed} and `bufferedBytes` is 0, once,
 *   and never after close.
 * - `close` calls `closeLink` once; `close` is emitted once, when the transport calls `closed`.
 */
export abstract class BaseConnection extends Emitter<ConnectionEvents> implements Connection {
  readonly remoteAddress: string
  /** Largest frame `send` accepts. */
  readonly maxFrame: number
  /** Bound on `bufferedBytes`. */
  readonly maxSendBuffer: number
  #open = true
  #closeEmitted = false
  #owesDrain = false

  constructor(remoteAddress: string, limits: ConnectionLimits = {}) {
    super()
    this.remoteAddress = remoteAddress
    this.maxFrame = limits.maxFrame ?? DEFAULT_MAX_FRAME
    this.maxSendBuffer = limits.maxSendBuffer ?? DEFAULT_MAX_SEND_BUFFER
  }

  /** True until closed by either side. */
  get isOpen(): boolean {
    return this.#open
  }

  /** Bytes accepted by `send` and not yet handed on (to the operating system, or the peer). */
  abstract get bufferedBytes(): number

  /**
   * Queues one frame. Returns false, having sent nothing, after close and when the frame is
   * over the cap or would overflow the send buffer (the connection then closes itself).
   * @throws TypeError when `frame` is not a Uint8Array.
   */
  send(frame: Uint8Array): boolean {
    if (!this.#open) return false
    if (!(frame instanceof Uint8Array)) throw new TypeError('a frame is a Uint8Array')
    if (frame.length > this.maxFrame) {
      this.close(new HearsayError(ErrorCodes.FRAME_TOO_LARGE, `frame of ${frame.length} bytes exceeds the cap of ${this.maxFrame}`))
      return false
    }
    const buffered = this.bufferedBytes
    if (buffered + frame.length > this.maxSendBuffer) {
      this.close(new HearsayError(ErrorCodes.BACKPRESSURE, `peer ${this.remoteAddress} stopped reading: ${buffered} bytes queued`))
      return false
    }
    if (this.sendFrame(frame) === false) return false
    if (this.bufferedBytes > 0) this.#owesDrain = true
    return true
  }

  /** Closes the link; `close` fires once (see the transport for when queued frames still go out). */
  close(reason?: Error): void {
    if (!this.#open) return
    this.#open = false
    this.#owesDrain = false
    this.closeLink(reason)
  }

  /** Hands one checked frame to the link. Return false when the link turned out to be gone (nothing was sent). */
  protected abstract sendFrame(frame: Uint8Array): boolean | void
  /** Ends the link, gracefully without a reason, at once with one; the transport then calls {@link closed}. */
  protected abstract closeLink(reason: Error | undefined): void

  /** The transport handed buffered bytes on: emits `drain` if a send is owed one and the buffer is empty. */
  protected flushed(): void {
    if (!this.#owesDrain || !this.#open || this.bufferedBytes > 0) return
    this.#owesDrain = false
    this.emit('drain')
  }

  /**
   * The link is gone but `close` is not emitted yet (the transport still delivers frames that
   * arrived before, or the owner is dead and must not hear of it): `send` returns false and
   * `close` does nothing from now on. The transport calls {@link closed} when `close` is due.
   */
  protected ended(): void {
    this.#open = false
    this.#owesDrain = false
  }

  /** The link is gone (closed by either side or failed): marks the connection closed and emits `close` once. */
  protected closed(reason: Error | undefined): void {
    this.ended()
    if (this.#closeEmitted) return
    this.#closeEmitted = true
    this.emit('close', reason)
  }
}
