import assert from 'node:assert/strict'
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { HearsayError, isHearsayError, type Replicated, type ReplicatedOptions } from '@hearsay/core'
import { prng } from '@hearsay/core/testing'

/** Writes `r` to a real temp file through createReadStream, reads it into a fresh replica through createWriteStream. */
export async function roundTripFile<R extends Replicated<any>>(r: R, factory: (o: ReplicatedOptions) => R): Promise<R> {
  const dir = mkdtempSync(join(tmpdir(), 'hearsay-model-'))
  try {
    const file = join(dir, 'replica.bin')
    await pipeline(r.createReadStream(), createWriteStream(file))
    const copy = factory({ id: 'from-file' })
    const ws = copy.createWriteStream()
    const done = new Promise<void>((resolve, reject) => {
      ws.on('finish', resolve)
      ws.on('error', reject)
    })
    createReadStream(file).pipe(ws)
    await done
    assert.deepEqual(copy.toJSON(), r.toJSON())
    assert.equal(Buffer.compare(copy.encodeState(), r.encodeState()), 0, 'file round trip reproduces the state bytes')
    assert.equal(copy.clock.compare(r.clock), 'equal')
    return copy
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Brings two replicas together with a full digest exchange (encoded, both ways). */
export function syncPair(a: Replicated<any>, b: Replicated<any>): void {
  b.applyRanges(b.decodeRanges(a.encodeRanges(a.historySince(b.clock))))
  a.applyRanges(a.decodeRanges(b.encodeRanges(b.historySince(a.clock))))
}

/**
 * Feeds `target` fuzzed copies of a valid ranges payload and pure random bytes. Every payload
 * either fails to decode with `HEARSAY_DECODE_ERROR` (and the replica is unchanged) or decodes
 * and is applied without throwing (refusals are reported through `rejected`, with a code).
 */
export function fuzzPeerBytes(target: Replicated<any>, valid: Uint8Array, rng: prng.PRNG, rounds = 300): { decodeErrors: number; applied: number } {
  let decodeErrors = 0
  let applied = 0
  const rejected: unknown[] = []
  const onRejected = (err: unknown) => rejected.push(err)
  target.on('rejected', onRejected)
  try {
    for (let i = 0; i < rounds; i++) {
      let bytes: Uint8Array
      if (i % 5 === 0) {
        bytes = new Uint8Array(prng.uint32(rng, 0, 64))
        for (let j = 0; j < bytes.length; j++) bytes[j] = prng.uint32(rng, 0, 255)
      } else {
        bytes = valid.slice()
        const edits = prng.uint32(rng, 1, 4)
        for (let k = 0; k < edits && bytes.length > 0; k++) {
          const at = prng.uint32(rng, 0, bytes.length - 1)
          switch (prng.uint32(rng, 0, 2)) {
            case 0:
              bytes[at] = prng.uint32(rng, 0, 255)
              break
            case 1:
              bytes = bytes.slice(0, at)
              break
            default:
              bytes[at] = bytes[at]! ^ (1 << prng.uint32(rng, 0, 7))
          }
        }
      }
      const before = target.encodeState()
      let ranges
      try {
        ranges = target.decodeRanges(bytes)
      } catch (err) {
        assert.ok(isHearsayError(err, 'HEARSAY_DECODE_ERROR'), `decode failure is a typed error: ${String(err)}`)
        assert.equal(typeof (err as HearsayError).offset, 'number', 'a decode error carries its offset')
        assert.equal(Buffer.compare(target.encodeState(), before), 0, 'a payload that fails to decode changes nothing')
        decodeErrors++
        continue
      }
      target.applyRanges(ranges, 'fuzz')
      applied++
    }
  } finally {
    target.off('rejected', onRejected)
  }
  for (const err of rejected) assert.ok(err instanceof HearsayError, 'refusals are HearsayErrors with a code')
  return { decodeErrors, applied }
}
