import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { FrameDecoder, encodeFrame } from '@hearsay/core'

/** The faults a {@link FaultProxy} injects on every frame it carries. */
export interface FaultOptions {
  /** Probability that a frame is lost, in [0, 1). */
  loss: number
  /** One-way delay added to every frame, in ms. */
  latency: number
  /** Uniform random extra delay in [0, jitter) ms; frames of one direction stay in order. */
  jitter: number
  /**
   * What a lost frame does to its connection. `drop` loses the frame and keeps the connection,
   * like a datagram link; `reset` loses it and cuts the connection, like a link that breaks
   * mid-transfer (the nodes reconnect and resume from their digests).
   */
  lossMode: 'drop' | 'reset'
}

/** Counters of a {@link FaultProxy}. */
export interface FaultStats {
  connections: number
  frames: number
  bytes: number
  lostFrames: number
  resets: number
  refused: number
}

/** A seeded random source in [0, 1). */
export type Random = () => number

/** mulberry32: a small seeded PRNG, so a lab run's faults replay from its seed. */
export function createRandom(seed: number): Random {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * A TCP proxy on loopback that sits between two nodes and injects faults into the frames they
 * exchange: loss, latency with jitter, and partitions (while {@link FaultProxy.cut} is true the
 * proxy cuts open connections and refuses new ones). It understands the var-uint
 * length-prefixed framing of hearsay's TCP transport, so it loses and delays whole frames,
 * never half of one.
 */
export class FaultProxy {
  readonly target: { host: string; port: number }
  readonly faults: FaultOptions
  readonly stats: FaultStats = { connections: 0, frames: 0, bytes: 0, lostFrames: 0, resets: 0, refused: 0 }
  readonly #random: Random
  #server: Server | undefined
  #port = 0
  #cut = false
  readonly #pairs = new Set<[Socket, Socket]>()

  constructor(target: { host: string; port: number }, faults: FaultOptions, random: Random) {
    this.target = target
    this.faults = faults
    this.#random = random
  }

  /** The port the proxy listens on (127.0.0.1). */
  get port(): number {
    return this.#port
  }

  /** True while the link is partitioned. */
  get cut(): boolean {
    return this.#cut
  }

  /** Partitions (true) or heals (false) the link. Partitioning cuts every open connection. */
  set cut(value: boolean) {
    this.#cut = value
    if (value) for (const [a, b] of this.#pairs) this.#destroy(a, b)
  }

  /** Starts listening on 127.0.0.1 (port 0 picks a free one). */
  async listen(port = 0): Promise<number> {
    const server = createServer((client) => this.#accept(client))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => resolve())
    })
    this.#server = server
    this.#port = (server.address() as { port: number }).port
    return this.#port
  }

  #accept(client: Socket): void {
    client.on('error', () => {})
    if (this.#cut) {
      this.stats.refused++
      client.destroy()
      return
    }
    this.stats.connections++
    const upstream = createConnection(this.target)
    upstream.on('error', () => {})
    const pair: [Socket, Socket] = [client, upstream]
    this.#pairs.add(pair)
    const done = (): void => {
      this.#pairs.delete(pair)
      this.#destroy(client, upstream)
    }
    client.on('close', done)
    upstream.on('close', done)
    this.#pipe(client, upstream, pair)
    this.#pipe(upstream, client, pair)
  }

  #destroy(a: Socket, b: Socket): void {
    a.destroy()
    b.destroy()
  }

  #pipe(from: Socket, to: Socket, pair: [Socket, Socket]): void {
    const decoder = new FrameDecoder()
    // Frames of one direction leave in order: one queue, drained by one timer at a time, each
    // frame due no earlier than the one before it.
    const queue: Array<{ due: number; bytes: Uint8Array }> = []
    let lastDue = 0
    let timer: NodeJS.Timeout | undefined
    const pump = (): void => {
      timer = undefined
      const now = performance.now()
      while (queue.length > 0 && queue[0]!.due <= now + 0.5) {
        const { bytes } = queue.shift()!
        if (this.#cut || to.destroyed) continue
        this.stats.frames++
        this.stats.bytes += bytes.length
        to.write(bytes)
      }
      if (queue.length > 0) {
        timer = setTimeout(pump, Math.max(1, queue[0]!.due - now))
        timer.unref()
      }
    }
    from.on('close', () => {
      if (timer !== undefined) clearTimeout(timer)
      queue.length = 0
    })
    from.on('data', (chunk: Buffer) => {
      let frames: Uint8Array[]
      try {
        frames = decoder.push(chunk)
      } catch {
        this.#destroy(from, to)
        return
      }
      for (const frame of frames) {
        if (this.#cut) return
        if (this.faults.loss > 0 && this.#random() < this.faults.loss) {
          this.stats.lostFrames++
          if (this.faults.lossMode === 'reset') {
            this.stats.resets++
            this.#pairs.delete(pair)
            this.#destroy(from, to)
            return
          }
          continue
        }
        const delay = this.faults.latency + (this.faults.jitter > 0 ? this.#random() * this.faults.jitter : 0)
        lastDue = Math.max(performance.now() + delay, lastDue)
        queue.push({ due: lastDue, bytes: encodeFrame(frame) })
      }
      if (queue.length > 0 && timer === undefined) pump()
    })
  }

  /** Cuts every connection and stops listening. */
  async close(): Promise<void> {
    for (const [a, b] of this.#pairs) this.#destroy(a, b)
    this.#pairs.clear()
    const server = this.#server
    this.#server = undefined
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
