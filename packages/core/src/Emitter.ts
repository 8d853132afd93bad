/** The listener a map gives event `K`. Event maps are interfaces of `name: (args) => void`. */
export type ListenerOf<E, K extends keyof E> = E[K] extends (...args: infer A) => void ? (...args: A) => void : never
/** The arguments event `K` of map `E` is emitted with. */
export type EventArgs<E, K extends keyof E> = E[K] extends (...args: infer A) => void ? A : never

/** The listening side of a typed emitter: what a consumer of events needs. */
export interface Events<E> {
  /** Adds `listener` at the end of `name`'s listeners. */
  on<K extends keyof E>(name: K, listener: ListenerOf<E, K>): this
  /** Adds a listener that is removed before it first runs. */
  once<K extends keyof E>(name: K, listener: ListenerOf<E, K>): this
  /** Removes the most recently added instance of `listener` (or of a `once` wrapping it). */
  off<K extends keyof E>(name: K, listener: ListenerOf<E, K>): this
  /** How many listeners `name` has. */
  listenerCount(name: keyof E): number
  /**
   * Resolves with the arguments of the next `name` event: a typed `events.once`. It never
   * rejects; race it with the emitter's error or close event when one can end the wait.
   */
  nextEvent<K extends keyof E>(name: K): Promise<EventArgs<E, K>>
}

type Fn = ((...args: unknown[]) => void) & { listener?: unknown }

/**
 * A small platform-neutral event emitter typed by an event map, in place of `node:events`: a
 * misspelled event name or a listener of the wrong shape does not compile.
 *
 * Semantics kept from Node's emitter: listeners run synchronously in the order they were added,
 * with `this` the emitter; one added or removed while an event is being emitted takes effect
 * from the next emit (the running emit works on the list it started with); a listener's throw
 * propagates out of `emit`; emitting `error` with no listener throws the error. Adding the same
 * function twice adds it twice. There is no listener limit and no `newListener` event: a
 * subclass that must know overrides {@link listenerAdded}.
 *
 * @example
 * ```ts
 * interface Events { change: (key: string, value: number) => void }
 * const e = new Emitter<Events>()
 * e.on('change', (key, value) => console.log(key, value + 1))
 * e.emit('change', 'apples', 3)
 * ```
 */
export class Emitter<E> implements Events<E> {
  // Copy-on-write lists: emit iterates without copying, and changes made meanwhile build a new list.
  // Keyed by PropertyKey, not keyof E: a private field typed by E would make an emitter of a
  // wider map (LWWMap's) unassignable to one of the base map (Replicated<any>'s).
  readonly #listeners = new Map<PropertyKey, readonly Fn[]>()

  on<K extends keyof E>(name: K, listener: ListenerOf<E, K>): this {
    if (typeof listener !== 'function') throw new TypeError('a listener is a function')
    const list = this.#listeners.get(name)
    this.#listeners.set(name, list === undefined ? [listener as Fn] : [...list, listener as Fn])
    this.listenerAdded(name)
    return this
  }

  once<K extends keyof E>(name: K, listener: ListenerOf<E, K>): this {
    if (typeof listener !== 'function') throw new TypeError('a listener is a function')
    let fired = false
    const wrapper: Fn = (...args) => {
      if (fired) return
      fired = true
      this.off(name, wrapper as ListenerOf<E, K>)
      Reflect.apply(listener, this, args)
    }
    wrapper.listener = listener
    return this.on(name, wrapper as ListenerOf<E, K>)
  }

  off<K extends keyof E>(name: K, listener: ListenerOf<E, K>): this {
    const list = this.#listeners.get(name)
    if (list === undefined) return this
    let i = list.length - 1
    while (i >= 0 && list[i] !== listener && list[i]!.listener !== listener) i--
    if (i < 0) return this
    if (list.length === 1) this.#listeners.delete(name)
    else this.#listeners.set(name, [...list.slice(0, i), ...list.slice(i + 1)])
    return this
  }

  /** The same as {@link on}, for code written against Node's emitter (`events.once` uses it). */
  addListener<K extends keyof E>(name: K, listener: ListenerOf<E, K>): this {
    return this.on(name, listener)
  }

  /** The same as {@link off}, for code written against Node's emitter (`events.once` uses it). */
  removeListener<K extends keyof E>(name: K, listener: ListenerOf<E, K>): this {
    return this.off(name, listener)
  }

  /** Removes every listener of `name`, or of every event when no name is given. */
  removeAllListeners(name?: keyof E): this {
    if (name === undefined) this.#listeners.clear()
    else this.#listeners.delete(name)
    return this
  }

  listenerCount(name: keyof E): number {
    return this.#listeners.get(name)?.length ?? 0
  }

  nextEvent<K extends keyof E>(name: K): Promise<EventArgs<E, K>> {
    return new Promise((resolve) => this.once(name, ((...args: EventArgs<E, K>) => resolve(args)) as ListenerOf<E, K>))
  }

  /**
   * Calls `name`'s listeners with `args`, in order; returns whether there were any.
   * @throws the error itself when `name` is `error` and nobody listens.
   */
  emit<K extends keyof E>(name: K, ...args: EventArgs<E, K>): boolean {
    const list = this.#listeners.get(name)
    if (list === undefined) {
      if (name === 'error') throw args[0] instanceof Error ? args[0] : new Error(`unhandled error event: ${String(args[0])}`)
      return false
    }
    for (const f of list) Reflect.apply(f, this, args)
    return true
  }

  /** Called after every listener is added (by `on` or `once`); does nothing unless overridden. */
  protected listenerAdded(_name: keyof E): void {}
}

