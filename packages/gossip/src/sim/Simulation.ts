import * as prng from 'lib0/prng'
import { EventQueue, type QueuedEvent } from './EventQueue.js'

/** The timer functions a simulated node uses instead of the global ones. */
export interface SimTimers {
  /** Calls `fn` once after `ms` virtual milliseconds; returns a handle for {@link clearTimeout}. */
  setTimeout(fn: () => void, ms?: number): SimTimerHandle
  /** Cancels a pending timer; unknown or fired handles are ignored. */
  clearTimeout(handle: unknown): void
}

/** An opaque handle returned by {@link SimTimers.setTimeout}. */
export interface SimTimerHandle {
  /** Unique id of the timer within its simulation. */
  readonly id: number
}

/** Options of {@link Simulation}. */
export interface SimulationOptions {
  /** Seed of the one PRNG every random choice of the run derives from. */
  seed: number
  /** Wall-clock time (ms since the epoch) that virtual time 0 maps to; default 1 700 000 000 000. */
  epoch?: number
}

/** Options of {@link Simulation.run}. */
export interface RunOptions {
  /** Stop before the first event later than this virtual time (the clock is then set to it). */
  until?: number
  /** Checked after every event (once its microtasks settled); the run stops when it returns true. */
  stopWhen?: () => boolean
  /** Stop after this many events (a guard against runaway schedules); default unlimited. */
  maxEvents?: number
}

/** A scope of timers that can be cancelled together, e.g. everything a crashed node scheduled. */
export class TimerScope implements SimTimers {
  readonly #sim: Simulation
  readonly #pending = new Map<number, QueuedEvent<() => void>>()
  #dead = false

  /** @internal use {@link Simulation.createTimers}. */
  constructor(sim: Simulation) {
    this.#sim = sim
  }

  /** Timers scheduled in this scope and not yet fired or cleared. */
  get pending(): number {
    return this.#pending.size
  }

  /** False after {@link kill}. */
  get alive(): boolean {
    return !this.#dead
  }

  setTimeout(fn: () => void, ms = 0): SimTimerHandle {
    if (typeof fn !== 'function') throw new TypeError('setTimeout needs a function')
    const id = this.#sim.nextTimerId()
    const handle: SimTimerHandle = { id }
    // A dead scope's timers never fire: the process that asked for them is gone.
    if (this.#dead) return handle
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0
    const ev = this.#sim.schedule(delay, () => {
      this.#pending.delete(id)
      fn()
    })
    this.#pending.set(id, ev)
    return handle
  }

  clearTimeout(handle: unknown): void {
    if (handle === null || typeof handle !== 'object') return
    const id = (handle as Partial<SimTimerHandle>).id
    if (typeof id !== 'number') return
    const ev = this.#pending.get(id)
    if (ev === undefined) return
    this.#pending.delete(id)
    this.#sim.cancel(ev)
  }

  /** Cancels every pending timer of the scope and ignores any scheduled later. Idempotent. */
  kill(): void {
    this.#dead = true
    for (const ev of this.#pending.values()) this.#sim.cancel(ev)
    this.#pending.clear()
  }
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/**
 * Virtual time, an event queue and one seeded PRNG: the deterministic heart of the simulator.
 *
 * Nothing here reads the real clock. Events run in `(time, insertion order)`; after each one the
 * run loop lets every promise continuation it caused settle before the next event, so async
 * code (stores, `await connect()`) behaves as if it completed instantly at the event's time.
 * The same seed and the same schedule therefore replay exactly, event for event.
 *
 * @example
 * ```ts
 * const sim = new Simulation({ seed: 42 })
 * const timers = sim.createTimers()
 * timers.setTimeout(() => console.log('at', sim.time), 1000)
 * await sim.run({ until: 5000 })
 * ```
 */
export class Simulation {
  /** The seed the run was created with. */
  readonly seed: number
  /** Wall-clock ms that virtual time 0 maps to. */
  readonly epoch: number
  readonly #queue = new EventQueue<() => void>()
  readonly #rng: prng.PRNG
  #time = 0
  #timerId = 0
  #events = 0
  #running = false
  readonly #errors: unknown[] = []

  /** @throws RangeError when `seed` is not a safe integer. */
  constructor(options: SimulationOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError('options is an object such as { seed }')
    if (!Number.isSafeInteger(options.seed)) throw new RangeError(`seed must be a safe integer, got ${options.seed}`)
    this.seed = options.seed
    this.epoch = options.epoch ?? 1_700_000_000_000
    this.#rng = prng.create(options.seed)
  }

  /** Virtual milliseconds since the start of the run. */
  get time(): number {
    return this.#time
  }

  /** Events run so far. */
  get eventCount(): number {
    return this.#events
  }

  /** Events waiting in the queue. */
  get queued(): number {
    return this.#queue.size
  }

  /** Errors thrown by event callbacks (they are caught so one bad callback cannot stop the run). */
  get errors(): readonly unknown[] {
    return this.#errors
  }

  /** Wall-clock milliseconds at the current virtual time: `epoch + time`. */
  now(): number {
    return this.epoch + this.#time
  }

  /** A float in [0, 1) from the run's PRNG. */
  random(): number {
    return this.#rng.next()
  }

  /** An integer in [min, max] from the run's PRNG. */
  int(min: number, max: number): number {
    return prng.int53(this.#rng, min, max)
  }

  /** True with probability `p`. Draws from the PRNG only when 0 < p < 1, so a disabled fault consumes no randomness. */
  chance(p: number): boolean {
    if (p <= 0) return false
    if (p >= 1) return true
    return this.#rng.next() < p
  }

  /** One element of a non-empty array, chosen by the PRNG. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('cannot pick from an empty list')
    return items[prng.int53(this.#rng, 0, items.length - 1)]!
  }

  /**
   * A new independent generator seeded from the run's PRNG, e.g. for one node's `random`.
   * Deriving it consumes one draw, so create them in a fixed order.
   */
  fork(): () => number {
    const child = prng.create(prng.int53(this.#rng, 0, 0x7fffffff))
    return () => child.next()
  }

  /**
   * Runs `fn` after `delay` virtual ms (0 = at the current time, after every event already
   * scheduled for it).
   * @throws RangeError for a negative or non-finite delay.
   */
  schedule(delay: number, fn: () => void): QueuedEvent<() => void> {
    if (!(delay >= 0) || !Number.isFinite(delay)) throw new RangeError(`delay must be a finite number >= 0, got ${delay}`)
    return this.#queue.push(this.#time + delay, fn)
  }

  /** Runs `fn` at absolute virtual time `time` (not before now). */
  scheduleAt(time: number, fn: () => void): QueuedEvent<() => void> {
    return this.schedule(Math.max(0, time - this.#time), fn)
  }

  /** Cancels a scheduled event. */
  cancel(ev: QueuedEvent<() => void>): void {
    this.#queue.cancel(ev)
  }

  /** A fresh scope of timers (`setTimeout`/`clearTimeout` in virtual time) for one node incarnation. */
  createTimers(): TimerScope {
    return new TimerScope(this)
  }

  /** @internal */
  nextTimerId(): number {
    return ++this.#timerId
  }

  /**
   * Runs events as they are scheduled, in the background, without waiting for anything: virtual
   * time jumps from event to event while ordinary async code (a test awaiting a frame, the
   * transport conformance suite) runs alongside. Use it to drive sim transports from code that
   * does not call {@link run} itself. Determinism then depends on that outside code.
   * @returns a function that stops the driver (resolves once it stopped).
   * @throws Error when a run is already in progress.
   */
  drive(): () => Promise<void> {
    if (this.#running) throw new Error('Simulation.run is already running')
    let stopped = false
    const loop = (async () => {
      while (!stopped) {
        const why = await this.run({ maxEvents: 256, stopWhen: () => stopped })
        // Idle: wait a real moment for outside code to schedule more.
        if (why === 'idle') await new Promise((r) => setTimeout(r, 0))
      }
    })()
    return async () => {
      stopped = true
      await loop
    }
  }

  /**
   * Runs events in order until the queue is empty, `until` is reached, `stopWhen` returns true
   * or `maxEvents` ran. Between events it waits for pending promise continuations to settle.
   * @returns why it stopped.
   * @throws Error when called while another `run` is in progress.
   */
  async run(options: RunOptions = {}): Promise<'idle' | 'until' | 'stopped' | 'maxEvents'> {
    if (this.#running) throw new Error('Simulation.run is already running')
    this.#running = true
    try {
      const until = options.until ?? Infinity
      const maxEvents = options.maxEvents ?? Infinity
      let ran = 0
      await settle()
      if (options.stopWhen?.()) return 'stopped'
      for (;;) {
        const next = this.#queue.peek()
        if (next === undefined) {
          if (until !== Infinity) this.#time = Math.max(this.#time, until)
          return 'idle'
        }
        if (next.time > until) {
          this.#time = Math.max(this.#time, until)
          return 'until'
        }
        if (ran >= maxEvents) return 'maxEvents'
        this.#queue.pop()
        this.#time = next.time
        this.#events++
        ran++
        try {
          next.value()
        } catch (err) {
          this.#errors.push(err)
        }
        await settle()
        if (options.stopWhen?.()) return 'stopped'
      }
    } finally {
      this.#running = false
    }
  }
}
