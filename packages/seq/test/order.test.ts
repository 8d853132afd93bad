// The engine's document order against a plain reference of the ordering rule in PROTOCOL.md
// (YjsMod / FugueMax, one character at a time, positions found by searching an array). The
// engine places whole runs and compares left origins by the blocks its scan passed instead of
// by positions; this checks that it still lands every character, tombstones included, where the
// rule says, for random concurrent histories over several replicas.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Range } from '@hearsay/core'
import { prng, withSeed } from '@hearsay/core/testing'
import { Text, type SeqOp } from '@hearsay/seq'
import { INSERT, engineOf, type Leaf } from '../src/internal.ts'

type Id = string // "<source>:<seq>"
interface Char {
  id: Id
  source: string
  left: Id | null
  right: Id | null
}

// The rule of PROTOCOL.md, "Ordering", applied to one character.
function integrate(doc: Char[], c: Char): void {
  const pos = (id: Id | null, none: number) => (id === null ? none : doc.findIndex((x) => x.id === id))
  const left = pos(c.left, -1)
  const right = pos(c.right, doc.length)
  let dest = left + 1
  let scanning = false
  for (let i = left + 1; ; i++) {
    if (!scanning) dest = i
    if (i === doc.length || i === right) break
    const o = doc[i]!
    const oLeft = pos(o.left, -1)
    if (oLeft < left) break
    if (oLeft > left) continue
    const oRight = pos(o.right, doc.length)
    if (oRight < right) scanning = true
    else if (oRight === right) {
      if (c.source < o.source) break
      scanning = false
    } else scanning = false
  }
  doc.splice(dest, 0, c)
}

// Every character the engine holds with its origins (a run's later characters have the previous
// one as left origin and the run's right origin), and the engine's order of them.
function engineChars(t: Text): { chars: Char[]; order: Id[] } {
  const e = engineOf(t)
  const id = (a: number, s: number): Id | null => (a < 0 ? null : `${e.agents[a]!.name}:${s}`)
  const chars: Char[] = []
  for (const a of e.agents) {
    for (const r of a.runs) {
      if (typeof r === 'number' || r.kind !== INSERT) continue
      for (let k = 0; k < r.rlen; k++) {
        chars.push({ id: `${a.name}:${r.seq + k}`, source: a.name, left: k === 0 ? id(r.olA, r.olS) : `${a.name}:${r.seq + k - 1}`, right: id(r.orA, r.orS) })
      }
    }
  }
  const order: Id[] = []
  for (let l: Leaf<string> | null = e.tree.first; l !== null; l = l.next) {
    for (const b of l.blocks) for (let k = 0; k < b.len; k++) order.push(`${e.agents[b.agent]!.name}:${b.seq + k}`)
  }
  return { chars, order }
}

const ROUNDS = Number(process.env['HEARSAY_RUNS']) || 300

test('the engine orders every character as the reference rule does, under random concurrent edits', async () => {
  await withSeed('seq order', (rng) => {
    for (let round = 0; round < ROUNDS; round++) {
      const n = prng.int32(rng, 2, 4)
      const replicas = Array.from({ length: n }, (_, i) => new Text({ id: `r${i}` }))
      const steps = prng.int32(rng, 5, 40)
      for (let s = 0; s < steps; s++) {
        const t = replicas[prng.int32(rng, 0, n - 1)]!
        const roll = prng.int32(rng, 0, 9)
        if (roll < 6 || t.length === 0) t.insert(prng.int32(rng, 0, t.length), prng.word(rng, 1, 4))
        else if (roll < 8) {
          const at = prng.int32(rng, 0, t.length - 1)
          t.delete(at, Math.min(prng.int32(rng, 1, 3), t.length - at))
        } else {
          // One replica catches up with another (concurrency stays in the rest).
          const from = replicas[prng.int32(rng, 0, n - 1)]!
          if (from !== t) t.applyRanges(from.historySince(t.clock) as Range<SeqOp<string>>[])
        }
      }
      for (const a of replicas) for (const b of replicas) if (a !== b) b.applyRanges(a.historySince(b.clock) as Range<SeqOp<string>>[])
      const first = replicas[0]!
      for (const r of replicas) assert.equal(r.toString(), first.toString())
      const { chars, order } = engineChars(first)
      // Integrate the characters in an order where both origins are already placed.
      const ref: Char[] = []
      const placed = new Set<Id>()
      let pending = chars
      while (pending.length > 0) {
        const next: Char[] = []
        for (const c of pending) {
          if ((c.left === null || placed.has(c.left)) && (c.right === null || placed.has(c.right))) {
            integrate(ref, c)
            placed.add(c.id)
          } else next.push(c)
        }
        assert.ok(next.length < pending.length, 'origins form no cycle')
        pending = next
      }
      assert.deepEqual(order, ref.map((c) => c.id), `round ${round}: engine order differs from the reference`)
    }
  })
})
