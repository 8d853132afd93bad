import {
  EventLogTypeId,
  Replicated,
  isNewer,
  type ReplicatedEvents,
  assertValue,
  registerType,
  type ReadonlyVersionVector,
  type ReplicaId,
  type ReplicatedOptions,
  type Update,
  type Value,
} from '@hearsay/core'
import { freezeValue } from './values.js'

/** Options of an {@link EventLog}. */
export type EventLogOptions = ReplicatedOptions

/** One event of an {@link EventLog} with where and when it was appended. */
export interface LoggedEvent<T extends Value = Value> {
  readonly value: T
  readonly source: ReplicaId
  readonly seq: number
  /** Hybrid time of the append. */
  readonly time: number
}

/** What an {@link EventLog} emits, besides the base events. */
export interface EventLogEvents<T extends Value = Value> extends ReplicatedEvents<Value> {
  /** One applied event, local or remote, in the order applied. */
  event: (event: LoggedEvent<T>) => void
}

/**
 * A replicated append-only log of events: the reliable event emitter of `scuttlebutt/events`.
 * Every replica ends up with every event, and lists them in the same order.
 *
 * Order: events sort by `(hybrid time, source, seq)`. The hybrid clock makes this a causal
 * order: an event appended after its replica saw another is timed after it, so a reply never
 * sorts before what it answers; concurrent events are ordered the same way on every replica.
 * Nothing is compacted: history is the whole log.
 *
 * Events: `event` ({@link LoggedEvent}) once per applied event, local or remote, in the order
 * they are applied here (each source's events in order; see {@link events} for the global order).
 *
 * @example
 * ```ts
 * const log = new EventLog<{ type: string }>({ id: 'a' })
 * log.on('event', (e) => console.log(e.source, e.value))
 * log.append({ type: 'joined' })
 * log.since(someClock) // events the holder of someClock has not seen, in order
 * ```
 */
export class EventLog<T extends Value = Value> extends Replicated<Value, Array<LoggedEvent<T>>, EventLogEvents<T>> {
  // Every update, sorted by (time, source, seq).
  readonly #log: Update<Value>[] = []

  /** @throws TypeError on bad options. */
  constructor(options: EventLogOptions = {}) {
    super(options)
  }

  /**
   * Appends an event and returns it as logged.
   * @throws TypeError when `value` is not replicable.
   */
  append(value: T): LoggedEvent<T> {
    assertValue(value)
    const u = this.commit(freezeValue(value))
    return toEvent<T>(u)
  }

  /** Number of events. */
  get length(): number {
    return this.#log.length
  }

  /** Every event in the deterministic causal order. */
  events(): Array<LoggedEvent<T>> {
    return this.#log.map((u) => toEvent<T>(u))
  }

  /** The events a replica whose clock is `since` has not seen, in the deterministic causal order. */
  since(since: ReadonlyVersionVector): Array<LoggedEvent<T>> {
    const out: Array<LoggedEvent<T>> = []
    for (const u of this.#log) if (u.seq > since.get(u.source)) out.push(toEvent<T>(u))
    return out
  }

  /** The event values in order. */
  values(): T[] {
    return this.#log.map((u) => u.op as T)
  }

  /** Every event in order, as plain data. */
  toJSON(): Array<LoggedEvent<T>> {
    return this.events()
  }

  protected applyOp(u: Update<Value>): boolean {
    const log = this.#log
    // Local appends and most remote ones land at the end; others are placed by binary search.
    let i = log.length
    if (i > 0 && isNewer(log[i - 1]!, u)) {
      let lo = 0
      let hi = i - 1
      while (lo < hi) {
        const mid = (lo + hi) >>> 1
        if (isNewer(log[mid]!, u)) hi = mid
        else lo = mid + 1
      }
      i = lo
    }
    if (i === log.length) log.push(u)
    else log.splice(i, 0, u)
    this.emit('event', toEvent<T>(u))
    return true
  }

  protected history(): Iterable<Update<Value>> {
    return this.#log
  }
}

function toEvent<T extends Value>(u: Update<Value>): LoggedEvent<T> {
  return { value: u.op as T, source: u.source, seq: u.seq, time: u.time }
}

registerType(EventLog, { typeId: EventLogTypeId, typeName: 'EventLog' })
