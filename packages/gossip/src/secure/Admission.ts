/**
 * Bounds the connections a node holds before their peers authenticated: at most `perListener`
 * on one listener and `perAddress` from one remote host. A connection over either bound is
 * closed as soon as it is accepted, before anything of it is read, so a flood of handshakes
 * costs a bounded amount of memory and never crowds out authenticated peers (they are not
 * counted).
 */
export class Admission {
  readonly perListener: number
  readonly perAddress: number
  readonly #byListener = new Map<string, number>()
  readonly #byAddress = new Map<string, number>()
  /** Connections refused so far (for status). */
  refused = 0

  constructor(perListener: number, perAddress: number) {
    this.perListener = perListener
    this.perAddress = perAddress
  }

  /** Connections waiting for authentication right now. */
  get pending(): number {
    let n = 0
    for (const v of this.#byListener.values()) n += v
    return n
  }

  /**
   * Admits one unauthenticated connection, or refuses it.
   * @returns a release function to call once (when the peer authenticated or the link closed), or `undefined` when refused.
   */
  admit(listener: string, remoteAddress: string): (() => void) | undefined {
    const host = remoteHost(remoteAddress)
    const l = this.#byListener.get(listener) ?? 0
    const a = this.#byAddress.get(host) ?? 0
    if (l >= this.perListener || a >= this.perAddress) {
      this.refused++
      return undefined
    }
    this.#byListener.set(listener, l + 1)
    this.#byAddress.set(host, a + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      dec(this.#byListener, listener)
      dec(this.#byAddress, host)
    }
  }
}

function dec(m: Map<string, number>, k: string): void {
  const n = (m.get(k) ?? 1) - 1
  if (n <= 0) m.delete(k)
  else m.set(k, n)
}

/** The host part of a remote address (`tcp://127.0.0.1:4000` → `127.0.0.1`); the whole string when it does not parse. */
export function remoteHost(remoteAddress: string): string {
  try {
    const h = new URL(remoteAddress).hostname
    return h === '' ? remoteAddress : h
  } catch {
    return remoteAddress
  }
}
