/** One scheduled entry of an {@link EventQueue}. */
export interface QueuedEvent<T> {
  /** Virtual time (ms) the event fires at. */
  readonly time: number
  /** Insertion counter: breaks ties between events at the same time, first scheduled first. */
  readonly seq: number
  /** What the event carries. */
  readonly value: T
  /** True while the event waits in the queue; false once it was popped or cancelled. */
  active: boolean
}

/**
 * A priority queue of timed events: a binary min-heap ordered by `(time, seq)`, where `seq`
 * counts insertions. Events at the same time therefore come out in the order they were
 * pushed, which makes a simulation that only ever reads this queue fully deterministic.
 *
 * `push` and `pop` are O(log n); `cancel` is O(1) (the event stays in the heap, marked inactive,
 * and is discarded when it reaches the top).
 */
export class EventQueue<T> {
  readonly #heap: QueuedEvent<T>[] = []
  #seq = 0
  #live = 0

  /** Events scheduled and not yet popped or cancelled. */
  get size(): number {
    return this.#live
  }

  /**
   * Schedules `value` at virtual time `time`.
   * @throws RangeError when `time` is not a finite number.
   */
  push(time: number, value: T): QueuedEvent<T> {
    if (!Number.isFinite(time)) throw new RangeError(`event time must be finite, got ${time}`)
    const ev: QueuedEvent<T> = { time, seq: this.#seq++, value, active: true }
    const h = this.#heap
    h.push(ev)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!before(ev, h[p]!)) break
      h[i] = h[p]!
      i = p
    }
    h[i] = ev
    this.#live++
    return ev
  }

  /** Marks an event so it never fires. Cancelling twice, or after it fired, does nothing. */
  cancel(ev: QueuedEvent<T>): void {
    if (!ev.active) return
    ev.active = false
    this.#live--
  }

  /** The earliest live event without removing it, or undefined when none is left. */
  peek(): QueuedEvent<T> | undefined {
    this.#dropCancelled()
    return this.#heap[0]
  }

  /** Removes and returns the earliest live event, or undefined when none is left. */
  pop(): QueuedEvent<T> | undefined {
    this.#dropCancelled()
    const top = this.#removeTop()
    if (top !== undefined) {
      this.#live--
      top.active = false
    }
    return top
  }

  #dropCancelled(): void {
    while (this.#heap.length > 0 && !this.#heap[0]!.active) this.#removeTop()
  }

  #removeTop(): QueuedEvent<T> | undefined {
    const h = this.#heap
    if (h.length === 0) return undefined
    const top = h[0]!
    const last = h.pop()!
    if (h.length > 0) {
      let i = 0
      const n = h.length
      for (;;) {
        const l = 2 * i + 1
        if (l >= n) break
        const r = l + 1
        const c = r < n && before(h[r]!, h[l]!) ? r : l
        if (!before(h[c]!, last)) break
        h[i] = h[c]!
        i = c
      }
      h[i] = last
    }
    return top
  }
}

function before(a: QueuedEvent<unknown>, b: QueuedEvent<unknown>): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq)
}
