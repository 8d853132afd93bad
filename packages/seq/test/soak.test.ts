// Long random runs: several replicas edit Text and List, exchanging packed histories and live
// updates as bytes at random moments; every so often all sync and must agree byte for byte.
// HEARSAY_RUNS scales the length (default: a few hundred steps, a few seconds).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { prng, withSeed } from '@hearsay/core/testing'
import type { Range } from '@hearsay/core'
import { checkInvariants, List, Text } from '@hearsay/seq'

const steps = Math.max(400, (Number(process.env['HEARSAY_RUNS']) || 0) * 20)

function syncAll<R extends Text | List<number>>(rs: R[]): void {
  for (let round = 0; round < 2; round++)
    for (const a of rs) for (const b of rs) if (a !== b) b.applyRanges(b.decodeRanges((a as Text).encodeRanges((a as Text).historySince(b.clock))) as never)
}

test(`soak: 4 Text replicas, ${steps} random steps, live and packed sync`, async () => {
  await withSeed('text soak', (rng) => {
    const rs = [0, 1, 2, 3].map((i) => new Text({ id: `t${i}` }))
    const inbox: Uint8Array[][] = rs.map(() => [])
    rs.forEach((r, i) =>
      r.on('ranges', (ranges: Range<unknown>[], origin: unknown) => {
        if (origin !== 'local') return
        const bytes = r.encodeRanges(ranges as never)
        rs.forEach((_, j) => j !== i && inbox[j]!.push(bytes))
      }),
    )
    for (let s = 0; s < steps; s++) {
      const i = prng.int32(rng, 0, 3)
      const r = rs[i]!
      const k = prng.int32(rng, 0, 9)
      if (k < 4) {
        // Type a word somewhere, character by character.
        let at = prng.int32(rng, 0, r.length)
        for (const ch of prng.word(rng, 1, 6)) r.insert(at++, ch)
      } else if (k < 6 && r.length > 0) {
        const at = prng.int32(rng, 0, r.length - 1)
        r.delete(at, Math.min(r.length - at, prng.int32(rng, 1, 5)))
      } else if (k < 8 && inbox[i]!.length > 0) {
        // Deliver some live updates, in any order; some get lost.
        const n = prng.int32(rng, 1, inbox[i]!.length)
        for (let m = 0; m < n; m++) {
          const at = prng.int32(rng, 0, inbox[i]!.length - 1)
          const [bytes] = inbox[i]!.splice(at, 1)
          if (prng.int32(rng, 0, 9) > 0) r.applyRanges(r.decodeRanges(bytes!), 'net')
        }
      } else {
        const from = rs[prng.int32(rng, 0, 3)]!
        if (from !== r) r.applyRanges(r.decodeRanges(from.encodeRanges(from.historySince(r.clock))), 'net')
      }
      if (s % 100 === 99) {
        for (const x of rs) checkInvariants(x)
        syncAll(rs)
        const state = rs[0]!.encodeState()
        for (const x of rs) {
          assert.equal(x.toString(), rs[0]!.toString())
          assert.deepEqual(x.encodeState(), state)
          assert.equal(x.pendingCount, 0)
        }
        const fresh = new Text({ id: 'fresh' })
        fresh.applyState(state)
        assert.equal(fresh.toString(), rs[0]!.toString())
      }
    }
  })
})

test(`soak: 3 List replicas with moves, ${steps} random steps`, async () => {
  await withSeed('list soak', (rng) => {
    const rs = [0, 1, 2].map((i) => new List<number>({ id: `l${i}` }))
    let next = 0
    for (let s = 0; s < steps; s++) {
      const r = rs[prng.int32(rng, 0, 2)]!
      const k = prng.int32(rng, 0, 9)
      if (k < 4) r.insert(prng.int32(rng, 0, r.length), next++, next++)
      else if (k < 5 && r.length > 0) r.delete(prng.int32(rng, 0, r.length - 1))
      else if (k < 8 && r.length > 1) r.move(prng.int32(rng, 0, r.length - 1), prng.int32(rng, 0, r.length - 1))
      else {
        const from = rs[prng.int32(rng, 0, 2)]!
        if (from !== r) r.applyRanges(r.decodeRanges(from.encodeRanges(from.historySince(r.clock))), 'net')
      }
      if (s % 100 === 99) {
        syncAll(rs)
        const a = rs[0]!.toArray()
        assert.equal(new Set(a).size, a.length, 'an element is duplicated')
        for (const x of rs) {
          checkInvariants(x)
          assert.deepEqual(x.toArray(), a)
          assert.deepEqual(x.encodeState(), rs[0]!.encodeState())
        }
      }
    }
  })
})
