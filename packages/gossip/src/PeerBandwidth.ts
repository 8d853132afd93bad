import { ErrorCodes, HearsayError, type Connection } from '@hearsay/core'
import { PeerQuota, type Rate } from './PeerQuota.js'

/** Timer functions (the node's, so simulations run on virtual time). */
interface Timers {
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: any): void
}

/** What a {@link PeerBandwidth} has done so far, for status. */
export interface BandwidthStats {
  /** Times a connection stopped reading because its peer was over its bytes per second. */
  pauses: number
  /** Milliseconds connections spent paused for that, summed. */
  pausedMs: number
  /** Connections closed because their peer stayed over its rate on a link that cannot pause. */
  cut: number
}

/**
 * Holds every authenticated peer (by node id, across its connections) to a rate of bytes it
 * sends this node: `burst` at once, then `perSecond`. Bytes are counted as they arrive on the
 * wire (sealed, the transport's frames). A peer over its rate is not cut off: its connections
 * stop reading (`Connection.pause`) until the bucket is out of debt, so its sends wait on its
 * own side (TCP and WebSocket push back) and nothing is lost. On a link that cannot pause, a
 * peer that runs a whole burst into debt is disconnected with `HEARSAY_LIMIT_EXCEEDED`.
 */
export class PeerBandwidth {
  readonly #quota: PeerQuota
  readonly #timers: Timers
  readonly stats: BandwidthStats = { pauses: 0, pausedMs: 0, cut: 0 }

  /** @throws RangeError on a rate that is not two positive numbers. */
  constructor(rate: Rate, now: () => number, timers: Timers) {
    this.#quota = new PeerQuota(rate, now)
    this.#timers = timers
  }

  /**
   * Counts what `peerId` sends on `conn` from now on.
   * @returns a function that stops counting (and reading is resumed); call it when the session ends.
   */
  watch(peerId: string, conn: Connection): () => void {
    let timer: unknown
    let done = false
    const rate = this.#quota.rate
    const onFrame = (frame: Uint8Array): void => {
      const wait = this.#quota.spend(peerId, frame.length)
      if (wait === 0 || timer !== undefined || done) return
      if (conn.pause === undefined || conn.resume === undefined) {
        // Cannot push back: a peer more than one burst over is cut.
        if (wait > (rate.burst / rate.perSecond) * 1000) {
          this.stats.cut++
          conn.close(new HearsayError(ErrorCodes.LIMIT_EXCEEDED, `peer ${peerId} sent more than ${rate.perSecond} bytes a second (burst ${rate.burst}) on a link that cannot pause`))
        }
        return
      }
      conn.pause()
      this.stats.pauses++
      this.stats.pausedMs += wait
      timer = this.#timers.setTimeout(() => {
        timer = undefined
        if (!done) conn.resume!()
      }, wait)
    }
    conn.on('frame', onFrame)
    return () => {
      if (done) return
      done = true
      conn.off('frame', onFrame)
      if (timer !== undefined) {
        this.#timers.clearTimeout(timer)
        timer = undefined
        if (conn.isOpen) conn.resume?.()
      }
    }
  }
}
