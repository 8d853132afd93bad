import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import {
  ErrorCodes,
  HearsayError,
  decodeWith,
  encodeWith,
  readSafeUint,
  type ReadonlyVersionVector,
  type Store,
  type VersionVector,
} from '@hearsay/core'
import { readDigest, writeDigest, type BundleDigest } from './bundle.js'
import type { VectorEntry } from './messages.js'
import type { Logger } from './options.js'

/** Lazy saves (see {@link SeenDigests.save}) that may pass over a peer with few changes before its digest is written anyway. */
export const LAZY_SAVE_SKIPS = 30

/** Store metadata key prefix of a peer's digest (see PROTOCOL.md). */
export const META_PEER_DIGEST = 'peer-digest/'

/** What this node last learned a peer holds. */
export interface SeenDigest {
  /** The peer's wall time of the last bundle recorded from it (0 when none). */
  time: number
  objects: Map<string, { typeId: number; vector: VersionVector }>
  /** The root at which the peer was last found in sync and this node's vectors recorded. */
  inSyncAt?: { count: number; hash: Uint8Array } | undefined
  /** The node's change count at that record; a record replacing the objects (a bundle) clears it. */
  inSyncVersion?: number | undefined
}

/**
 * The digests seen from peers (through sessions and bundles), persisted in the store's metadata
 * so status lag and the next bundle for a peer start from what it holds, across restarts.
 *
 * After a restart a round may record vectors for only the objects whose buckets differed, and
 * may do so before (or while) the stored digest is read. So the stored digest is read once per
 * peer and merged into whatever is in memory by then, and no save writes an entry before that
 * merge: a partial entry never replaces the stored one.
 */
export class SeenDigests {
  readonly #store: Store
  readonly #log: (level: keyof Logger, message: string, data?: Record<string, unknown>) => void
  readonly #seen = new Map<string, SeenDigest>()
  readonly #dirty = new Set<string>()
  /** Per dirty peer: entries recorded since its last save, and lazy saves that passed it over. */
  readonly #unsaved = new Map<string, { entries: number; skipped: number }>()
  /** Per peer, the one read of its stored digest (merged into `#seen`); dropped when it failed so the next caller retries. */
  readonly #loads = new Map<string, Promise<SeenDigest>>()
  #saving: Promise<void> = Promise.resolve()

  constructor(store: Store, log: (level: keyof Logger, message: string, data?: Record<string, unknown>) => void) {
    this.#store = store
    this.#log = log
  }

  /** True when something was recorded since the last save. */
  get dirty(): boolean {
    return this.#dirty.size > 0
  }

  /** Records vectors a peer sent (it holds at least these). */
  record(peerId: string, entries: readonly VectorEntry[]): void {
    const seen = this.#for(peerId)
    for (const e of entries) seen.objects.set(e.objectId, { typeId: e.typeId, vector: e.vector.clone() })
    this.#dirty.add(peerId)
    const u = this.#unsaved.get(peerId)
    if (u === undefined) this.#unsaved.set(peerId, { entries: entries.length, skipped: 0 })
    else u.entries += entries.length
  }

  /**
   * Records that the peer was found in sync at `root`: equal roots mean it holds exactly our
   * vectors, but no vectors travel in such a round, so ours are recorded as its digest. Only
   * when our root moved since the last record, so rounds in sync write nothing; and then only
   * the objects that changed here since that record (`mine(version)`, with `version` the
   * change count of the last record, or undefined for every object): the others were recorded
   * then with the vectors they still have. `version` is this node's change count now (see
   * `DigestIndex.version`).
   */
  recordInSync(peerId: string, root: { count: number; hash: Uint8Array }, version: number, mine: (since: number | undefined) => VectorEntry[]): void {
    const seen = this.#for(peerId)
    const at = seen.inSyncAt
    if (at !== undefined && at.count === root.count && sameBytes(at.hash, root.hash)) return
    const since = seen.inSyncVersion
    seen.inSyncAt = { count: root.count, hash: root.hash.slice() }
    seen.inSyncVersion = version
    this.record(peerId, mine(since))
  }

  /**
   * Records a digest a peer sent in a bundle made at its wall time `time`, replacing what was
   * known, unless a later bundle was recorded already (files arrive in any order: an older one
   * must not roll back a newer acknowledgement). Saves at once.
   * @returns false when a later bundle was recorded already (nothing changed).
   */
  async acknowledge(peerId: string, time: number, digest: BundleDigest): Promise<boolean> {
    const seen = await this.load(peerId)
    if (time < seen.time) return false
    seen.time = time
    seen.objects.clear()
    // What the last in-sync record held is gone: the next one records every object again.
    seen.inSyncAt = undefined
    seen.inSyncVersion = undefined
    for (const d of digest) seen.objects.set(d.objectId, { typeId: d.typeId, vector: d.vector.clone() })
    this.#dirty.add(peerId)
    await this.save()
    return true
  }

  /** The peer's digest, merged with the stored one (read once per peer). */
  load(peerId: string): Promise<SeenDigest> {
    let p = this.#loads.get(peerId)
    if (p === undefined) {
      const load = this.#read(peerId)
      this.#loads.set(peerId, (p = load))
      load.catch(() => {
        if (this.#loads.get(peerId) === load) this.#loads.delete(peerId)
      })
    }
    return p
  }

  /** The peer's digest as object id → vector. */
  async vectors(peerId: string): Promise<Map<string, ReadonlyVersionVector>> {
    const s = await this.load(peerId)
    return new Map([...s.objects].map(([id, x]) => [id, x.vector]))
  }

  /**
   * Writes the digests recorded since the last save. Saves run one at a time, in call order, and
   * never throw. A `lazy` save (the node's periodic one) passes over a peer whose changes since
   * its last save are fewer than 1/16 of its entries, up to {@link LAZY_SAVE_SKIPS} times in a
   * row: a peer's digest is written whole, so saving it for every heartbeat that moved the root
   * cost O(objects) each time; this way the writes cost amortised O(changes), and a crash loses
   * at most a few recent records (the digest is a lower bound of what the peer holds, so a lost
   * record only makes the next bundle for it larger).
   */
  save(lazy = false): Promise<void> {
    const run = this.#saving.then(() => this.#write(lazy))
    this.#saving = run
    return run
  }

  #for(peerId: string): SeenDigest {
    let s = this.#seen.get(peerId)
    if (s === undefined) this.#seen.set(peerId, (s = { time: 0, objects: new Map() }))
    return s
  }

  async #read(peerId: string): Promise<SeenDigest> {
    const bytes = await this.#store.getMeta(META_PEER_DIGEST + peerId)
    // Taken after the read: a round may have created the entry meanwhile.
    const s = this.#for(peerId)
    if (bytes === undefined) return s
    let time = 0
    let objects: VectorEntry[] = []
    try {
      decodeWith(bytes, (d) => {
        time = readDigestTime(d)
        objects = readDigest(d)
      })
    } catch (err) {
      this.#log('warn', 'stored peer digest unreadable; starting from empty', { peer: peerId, error: String(err) })
      return s
    }
    mergeSeen(s, time, objects)
    return s
  }

  async #write(lazy: boolean): Promise<void> {
    const ids = [...this.#dirty]
    this.#dirty.clear()
    for (const id of ids) {
      const u = this.#unsaved.get(id)
      if (lazy && u !== undefined && u.skipped < LAZY_SAVE_SKIPS && u.entries * 16 < (this.#seen.get(id)?.objects.size ?? 0)) {
        u.skipped++
        this.#dirty.add(id)
        continue
      }
      this.#unsaved.delete(id)
      try {
        // Merge the stored entry in first (a no-op once read): the one in memory may be partial.
        const s = await this.load(id)
        const bytes = encodeWith((e) => {
          writeDigestTime(e, s.time)
          writeDigest(e, [...s.objects].map(([objectId, x]) => ({ objectId, typeId: x.typeId, vector: x.vector })))
        })
        await this.#store.putMeta(META_PEER_DIGEST + id, bytes)
      } catch (err) {
        this.#dirty.add(id)
        this.#log('error', 'saving a peer digest failed', { peer: id, error: String(err) })
      }
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * Merges a stored peer digest into the one in memory: per object the larger vector, source by
 * source (a peer's history only grows, so the larger is the later view, whichever order the two
 * were learned in); an object recorded here with another type keeps the in-memory record (the
 * newer). The vectors in memory are replaced, not changed, since `vectors()` hands them out.
 */
function mergeSeen(s: SeenDigest, time: number, stored: readonly VectorEntry[]): void {
  s.time = Math.max(s.time, time)
  for (const x of stored) {
    const mine = s.objects.get(x.objectId)
    if (mine === undefined) s.objects.set(x.objectId, { typeId: x.typeId, vector: x.vector.clone() })
    else if (mine.typeId === x.typeId) s.objects.set(x.objectId, { typeId: x.typeId, vector: mine.vector.clone().merge(x.vector) })
  }
}

// Stored peer digest: a format number, the digest's time, then the digest (see PROTOCOL.md).
function writeDigestTime(e: encoding.Encoder, time: number): void {
  encoding.writeVarUint(e, 1)
  encoding.writeVarUint(e, Math.max(0, Math.floor(time)))
}

function readDigestTime(d: decoding.Decoder): number {
  const at = d.pos
  const v = readSafeUint(d)
  if (v !== 1) throw new HearsayError(ErrorCodes.PROTOCOL_VERSION, `stored peer digest format ${v}`, { offset: at })
  return readSafeUint(d)
}
