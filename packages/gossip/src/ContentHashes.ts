import { sha256 } from '@noble/hashes/sha2.js'
import { encoding } from '@hearsay/core'
import { ROOT_HASH_BYTES } from './messages.js'
import type { HostedObject } from './ObjectHost.js'

/**
 * Content hashes of hosted objects, for the content check of the in-sync exchange: per object
 * SHA-256(`varstring objectId ‖ encodeState()`) cut to 16 bytes, computed when first asked for
 * and kept until the object applies something; the content root is their XOR over the objects
 * with a non-empty vector. Equal states encode to equal bytes, so two nodes whose vectors are
 * equal have equal content roots unless their content differs.
 */
export class ContentHashes {
  readonly #cache = new Map<string, Uint8Array>()
  /** Objects hashed since the node started (each change of an object costs one encodeState at the next check). */
  computed = 0

  /** Forgets an object's hash (it applied something, or was replaced). */
  invalidate(objectId: string): void {
    this.#cache.delete(objectId)
  }

  /** The content hash of an object (16 bytes). */
  of(o: HostedObject): Uint8Array {
    let h = this.#cache.get(o.objectId)
    if (h === undefined) {
      const e = encoding.createEncoder()
      encoding.writeVarString(e, o.objectId)
      h = sha256.create().update(encoding.toUint8Array(e)).update(o.replica.encodeState()).digest().slice(0, ROOT_HASH_BYTES)
      this.#cache.set(o.objectId, h)
      this.computed++
    }
    return h
  }

  /** XOR of the content hashes of the non-empty objects among `objects`. */
  root(objects: Iterable<HostedObject>): Uint8Array {
    const out = new Uint8Array(ROOT_HASH_BYTES)
    for (const o of objects) {
      if (o.clock.size === 0) continue
      const h = this.of(o)
      for (let i = 0; i < ROOT_HASH_BYTES; i++) out[i]! ^= h[i]!
    }
    return out
  }
}
