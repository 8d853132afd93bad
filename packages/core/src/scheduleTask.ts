// A later task, as Node's setImmediate gives one, on any platform. Not a microtask: a frame
// delivered in a microtask would overtake the promise continuations that set up its listener
// (a dial resolves, the session attaches a tick later), so in-memory links deliver one task on.

type Immediate = (fn: () => void) => unknown
interface Port {
  onmessage: (() => void) | null
  postMessage(message: null): void
  /** Node's MessagePort: a referenced port keeps the process alive, as a pending setImmediate does. */
  ref?(): void
  unref?(): void
}
// Typed by hand: the data path is compiled without the DOM library, and Node's types differ.
const immediate = (globalThis as unknown as { setImmediate?: Immediate }).setImmediate
const Channel = (globalThis as unknown as { MessageChannel?: new () => { port1: Port; port2: Port } }).MessageChannel

let queue: Array<() => void> = []
let port: Port | undefined
let receiver: Port | undefined

function viaMessageChannel(fn: () => void): void {
  queue.push(fn)
  if (queue.length > 1) return
  if (port === undefined) {
    const channel = new Channel!()
    const inbox = channel.port1
    inbox.onmessage = () => {
      const run = queue
      queue = []
      for (const f of run) f()
      // Held only while tasks wait: an idle port must not keep a Node process (or worker) alive.
      if (queue.length === 0) inbox.unref?.()
    }
    port = channel.port2
    receiver = inbox
  }
  receiver?.ref?.()
  port.postMessage(null)
}

/**
 * Runs `fn` in a later task, after the current one and its promise continuations: Node's
 * `setImmediate` where there is one, otherwise a `MessageChannel` message (browsers and
 * workers; unlike `setTimeout(fn, 0)` it is not clamped to 4 ms when nested).
 */
export function scheduleTask(fn: () => void): void {
  if (immediate !== undefined) immediate(fn)
  else if (Channel !== undefined) viaMessageChannel(fn)
  else setTimeout(fn, 0)
}
