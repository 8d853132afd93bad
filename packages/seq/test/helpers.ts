// Re-exports for unit tests of the package's internals, and what several tests share.
import { prng } from '@hearsay/core/testing'
import type { SeqOp } from '@hearsay/seq'
import { engineOf, type SequenceBase } from '../src/internal.ts'

export { decodeWith, encodeWith, encoding, decoding, readBoundedString } from '@hearsay/core'
export { testSeed } from '@hearsay/core/testing'

// A random op of one source (what a state holds for a replica's own edits), built from parts:
// inserts next to random characters of the op (siblings with different right origins, right
// origins before left ones, so a load's scan has to compare positions), with deleted segments,
// and deletes of visible and deleted characters, in any order.
export function randomSeqOp<C>(rng: prng.PRNG, content: (n: number) => C): SeqOp<C> {
  const parts: SeqOp<C>['parts'][number][] = []
  // Seqs of the op's characters, by insert part: [first seq, length].
  const inserts: Array<[number, number]> = []
  let ps = 1
  const anyChar = (): number | null => {
    if (inserts.length === 0 || prng.int32(rng, 0, 5) === 0) return null
    const [first, n] = inserts[prng.int32(rng, 0, inserts.length - 1)]!
    return first + prng.int32(rng, 0, n - 1)
  }
  const ref = (s: number | null): number | null => (s === null ? null : ps - s)
  for (let i = prng.int32(rng, 1, 30); i > 0; i--) {
    if (inserts.length > 0 && prng.int32(rng, 0, 3) === 0) {
      const [first, n] = inserts[prng.int32(rng, 0, inserts.length - 1)]!
      const lo = first + prng.int32(rng, 0, n - 1)
      const len = prng.int32(rng, 1, first + n - lo)
      const dir = prng.bool(rng) ? 1 : -1
      parts.push({ kind: 1, len, ranges: [{ start: ps - (dir === 1 ? lo : lo + len - 1), len, dir }] })
      ps += len
      continue
    }
    const segs: Array<C | number> = []
    let len = 0
    for (let k = prng.int32(rng, 1, 3); k > 0; k--) {
      const n = prng.int32(rng, 1, 4)
      segs.push(prng.int32(rng, 0, 2) === 0 ? n : content(n))
      len += n
    }
    parts.push({ kind: 0, len, left: ref(anyChar()), right: ref(anyChar()), segs })
    inserts.push([ps, len])
    ps += len
  }
  return { parts }
}

/** A sequence's blocks in document order, each as [source index, first seq, length, state]. */
export function blocksOf<C>(t: SequenceBase<C, unknown>): number[][] {
  return [...engineOf(t).tree.blocks()].map((b) => [b.agent, b.seq, b.len, b.state])
}
