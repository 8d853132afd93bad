// Write your own replicated type, prove it with the law checker, and sync two replicas of it.
// Run: npx tsx --conditions=source examples/custom-type.ts
import { once } from 'node:events'
import * as fc from 'fast-check'
import { Replicated, encoding, decoding, readBoundedString, type Update, type ReadonlyVersionVector } from '@hearsay/core'
import { checkConvergence } from '@hearsay/core/testing'

/** A grow-only set of tags. */
export class Tags extends Replicated<string, string[]> {
  static override readonly typeId = 1000 // 1000 and above are yours
  static override readonly typeName = 'Tags'
  readonly #tags = new Map<string, Update<string>>()

  add(tag: string): void {
    if (typeof tag !== 'string') throw new TypeError('tag is a string')
    if (!this.#tags.has(tag)) this.commit(tag)
  }
  protected applyOp(u: Update<string>): boolean {
    const prev = this.#tags.get(u.op)
    // keep one canonical witness per tag so equal states encode equally
    if (prev && (prev.source < u.source || (prev.source === u.source && prev.seq <= u.seq))) return false
    this.#tags.set(u.op, u)
    return !prev
  }
  protected *history(since: ReadonlyVersionVector): Iterable<Update<string>> {
    for (const u of this.#tags.values()) if (u.seq > since.get(u.source)) yield u
  }
  protected writeOp(e: encoding.Encoder, op: string): void {
    encoding.writeVarString(e, op)
  }
  protected readOp(d: decoding.Decoder): string {
    return readBoundedString(d, 1 << 16)
  }
  toJSON(): string[] {
    return [...this.#tags.keys()].sort()
  }
}

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
