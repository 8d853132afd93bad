import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { ErrorCodes, HearsayError, decodeWith, encodeWith, readSafeUint, VersionVector, type ReadonlyVersionVector, type Store } from '@hearsay/core'
import { readDigest, writeDigest } from './bundle.js'
import type { Logger } from './options.js'

/** Store metadata key prefix of what was exported for a peer since its last acknowledgement (see PROTOCOL.md). */
export const META_PEER_SENT = 'peer-sent/'

/**
 * What this node put in bundles for each peer since that peer last acknowledged one (a bundle
 * back, whose digest says what it holds). A budgeted export starts past it, so that bundles
 * carried one way pick up where the previous one stopped without waiting for an answer; each
 * acknowledgement clears it, so a bundle that was lost is carried again by the next export
 * after it (the acknowledged digest lacks its updates). Persisted in the store's metadata.
 */
export class SentBundles {
  readonly #store: Store
  readonly #log: (level: keyof Logger, message: string, data?: Record<string, unknown>) => void
  readonly #sent = new Map<string, Promise<Map<string, { typeId: number; vector: VersionVector }>>>()

  constructor(store: Store, log: (level: keyof Logger, message: string, data?: Record<string, unknown>) => void) {
    this.#store = store
    this.#log = log
  }

  /** Per object, the vector exported for `peerId` since its last acknowledgement. */
  load(peerId: string): Promise<Map<string, { typeId: number; vector: VersionVector }>> {
    let p = this.#sent.get(peerId)
    if (p === undefined) {
      p = this.#read(peerId)
      this.#sent.set(peerId, p)
      p.catch(() => this.#sent.delete(peerId))
    }
    return p
  }

  /** Records that a bundle for `peerId` carried each object up to its vector, and saves. */
  async record(peerId: string, entries: ReadonlyArray<{ objectId: string; typeId: number; vector: ReadonlyVersionVector }>): Promise<void> {
    if (entries.length === 0) return
    const sent = await this.load(peerId)
    for (const x of entries) {
      const mine = sent.get(x.objectId)
      if (mine === undefined || mine.typeId !== x.typeId) sent.set(x.objectId, { typeId: x.typeId, vector: x.vector.clone() })
      else mine.vector.merge(x.vector)
    }
    await this.#write(peerId, sent)
  }

  /** The peer acknowledged a bundle: what it holds is known again, so nothing sent before counts. */
  async clear(peerId: string): Promise<void> {
    const sent = await this.load(peerId)
    if (sent.size === 0) return
    sent.clear()
    await this.#write(peerId, sent)
  }

  async #read(peerId: string): Promise<Map<string, { typeId: number; vector: VersionVector }>> {
    const out = new Map<string, { typeId: number; vector: VersionVector }>()
    const bytes = await this.#store.getMeta(META_PEER_SENT + peerId)
    if (bytes === undefined || bytes.length === 0) return out
    try {
      decodeWith(bytes, (d) => {
        readFormat(d)
        for (const x of readDigest(d)) out.set(x.objectId, { typeId: x.typeId, vector: x.vector })
      })
    } catch (err) {
      // Forgetting it only makes the next bundle for the peer larger (it starts from the acknowledged digest).
      this.#log('warn', 'stored record of bundles sent unreadable; starting from the acknowledged digest', { peer: peerId, error: String(err) })
      out.clear()
    }
    return out
  }

  async #write(peerId: string, sent: Map<string, { typeId: number; vector: VersionVector }>): Promise<void> {
    const bytes = encodeWith((e) => {
      encoding.writeVarUint(e, 1)
      writeDigest(e, [...sent].map(([objectId, x]) => ({ objectId, typeId: x.typeId, vector: x.vector })))
    })
    await this.#store.putMeta(META_PEER_SENT + peerId, bytes)
  }
}

function readFormat(d: decoding.Decoder): void {
  const at = d.pos
  const v = readSafeUint(d)
  if (v !== 1) throw new HearsayError(ErrorCodes.PROTOCOL_VERSION, `stored record of bundles sent, format ${v}`, { offset: at })
}
