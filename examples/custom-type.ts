// Write your own replicated type, prove it with the law checker, and sync two replicas of it.
// Run: npx tsx --conditions=source examples/custom-type.ts
import { once } from 'node:events'
import * as fc from 'fast-check'
import { Replicated, lastWriterWins, registerType, type Update } from '@hearsay/core'
import { checkConvergence } from '@hearsay/core/testing'
import { shrinkSimulation, simulate } from '@hearsay/gossip/sim'

/** A grow-only set of tags. */
export class Tags extends Replicated<string, string[]> {
  readonly #tags = new Map<string, Update<string>>()

  add(tag: string): void {
    if (typeof tag !== 'string') throw new TypeError('tag is a string')
    if (!this.#tags.has(tag)) this.commit(tag)
  }
  protected applyOp(u: Update<string>): boolean {
    if (typeof u.op !== 'string') throw new TypeError('a tag is a string') // a peer's op: refused whole
    const prev = this.#tags.get(u.op)
    if (prev && !lastWriterWins(prev, u)) return false // keep the earliest add: equal states, equal bytes
    this.#tags.set(u.op, u)
    return !prev
  }
  protected history(): Iterable<Update<string>> {
    return this.#tags.values()
  }
  toJSON(): string[] {
    return [...this.#tags.keys()].sort()
  }
}
registerType(Tags, { typeId: 1000, typeName: 'Tags' })

await checkConvergence((o) => new Tags(o), fc.string({ maxLength: 4 }), { apply: (t, s) => t.add(s), numRuns: 50 })
console.log('Tags passes the law checker')

const a = new Tags({ id: 'laptop' })
const b = new Tags({ id: 'phone' })
a.add('urgent')
b.add('home')
const sa = a.createStream()
const sb = b.createStream()
sa.pipe(sb).pipe(sa)
await Promise.all([once(sa, 'sync'), once(sb, 'sync')])
console.log('laptop:', a.toJSON(), 'phone:', b.toJSON())

// The same type in a simulated network of gossip nodes: lossy, reordering links, a partition
// and a crash, all on virtual time. On a failing seed, shrinkSimulation would give the smallest
// run that still fails, to paste into a regression test.
const options = {
  seed: 7,
  nodes: 8,
  ops: 60,
  objects: [{ id: 'tags', type: Tags, write: (t: Tags, r: { word(n: number): string }) => t.add(r.word(2)) }],
  faults: { link: { loss: 0.2, reorder: 0.1, jitter: 10 }, partitions: [{ at: 2000 }], crashes: 1 },
}
const report = await simulate(options)
if (!report.ok) console.log(await shrinkSimulation(options))
console.log(`8 simulated nodes: ${report.ok ? 'converged' : 'FAILED'} ${Math.round(report.timeToConverge ?? -1)} ms after the heal, ${report.bytesPerUpdate?.toFixed(0)} bytes per update`)
