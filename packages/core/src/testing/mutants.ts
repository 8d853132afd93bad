// Broken replicated types: each breaks one law the checker must catch (mutation testing of the
// tester). Each is the smallest type that shows its bug; the comment names the bug.
import * as fc from 'fast-check'
import { ErrorCodes, HearsayError } from '../errors.js'
import { Replicated, type ReplicatedOptions } from '../Replicated.js'
import { lastWriterWins } from '../WinnerPerKey.js'
import type { Update } from '../update.js'
import type { Dot } from '../VersionVector.js'
import { checkConvergence } from './checkConvergence.js'

let nextId = 9100
const id = () => nextId++

/** Counter whose op is the source's running total; applyOp adds it instead of replacing, so an update re-counts what earlier ones counted. */
class DoubleCountingCounter extends Replicated<number, number> {
  static override readonly typeId = id()
  static override readonly typeName = 'DoubleCountingCounter'
  readonly #latest = new Map<string, Update<number>>()
  #sum = 0
  inc(n: number): void {
    this.commit((this.#latest.get(this.id)?.op ?? 0) + n)
  }
  protected applyOp(u: Update<number>): boolean {
    this.#latest.set(u.source, u)
    this.#sum += u.op // bug: should be += u.op - previous total of u.source
    return true
  }
  protected history(): Iterable<Update<number>> {
    return this.#latest.values()
  }
  toJSON(): number {
    return this.#sum
  }
}

/** LWW register that breaks time ties by arrival: the first of two writes with equal time stays. */
class TieByArrivalRegister extends Replicated<number, number | null> {
  static override readonly typeId = id()
  static override readonly typeName = 'TieByArrivalRegister'
  #w: Update<number> | undefined
  set(v: number): void {
    this.commit(v)
  }
  protected applyOp(u: Update<number>): boolean {
    if (this.#w !== undefined && u.time <= this.#w.time) return false // bug: no (source, seq) tie-break
    this.#w = u
    return true
  }
  protected *history(): Iterable<Update<number>> {
    if (this.#w) yield this.#w
  }
  toJSON(): number | null {
    return this.#w?.op ?? null
  }
}

type SetOp = { add: string } | { remove: string }

/** Add/remove set whose remove deletes the element whatever adds it has not seen: remove and a concurrent add do not commute. */
class RemoveDoesNotCommute extends Replicated<SetOp, string[]> {
  static override readonly typeId = id()
  static override readonly typeName = 'RemoveDoesNotCommute'
  readonly #log: Update<SetOp>[] = []
  readonly #items = new Set<string>()
  add(x: string): void {
    this.commit({ add: x })
  }
  remove(x: string): void {
    if (this.#items.has(x)) this.commit({ remove: x })
  }
  protected applyOp(u: Update<SetOp>): boolean {
    this.#log.push(u)
    if ('add' in u.op) this.#items.add(u.op.add)
    else this.#items.delete(u.op.remove) // bug: also deletes adds it never observed
    return true
  }
  protected history(): Iterable<Update<SetOp>> {
    return this.#log
  }
  toJSON(): string[] {
    return [...this.#items].sort()
  }
}

/** Grow-only set keeping the first add it received of each element: equal values, but the history (so the encoding) depends on arrival order. */
class ArrivalOrderEncoding extends Replicated<string, string[]> {
  static override readonly typeId = id()
  static override readonly typeName = 'ArrivalOrderEncoding'
  readonly #items = new Map<string, Update<string>>()
  add(x: string): void {
    this.commit(x) // adds even when present, so concurrent adds of one element happen
  }
  protected applyOp(u: Update<string>): boolean {
    if (this.#items.has(u.op)) return false // bug: keeps the first to arrive, not a canonical witness
    this.#items.set(u.op, u)
    return true
  }
  protected history(): Iterable<Update<string>> {
    return this.#items.values()
  }
  toJSON(): string[] {
    return [...this.#items.keys()].sort()
  }
}

/** Counter of increments whose history keeps only each source's latest increment, as if increments overwrote each other. */
class HistoryOmitsNeeded extends Replicated<number, number> {
  static override readonly typeId = id()
  static override readonly typeName = 'HistoryOmitsNeeded'
  readonly #latest = new Map<string, Update<number>>()
  #sum = 0
  inc(n: number): void {
    this.commit(n)
  }
  protected applyOp(u: Update<number>): boolean {
    this.#latest.set(u.source, u)
    this.#sum += u.op
    return true
  }
  protected history(): Iterable<Update<number>> {
    return this.#latest.values() // bug: the earlier increments are still needed by a replica that lacks them
  }
  toJSON(): number {
    return this.#sum
  }
}

/** Grow-only set whose add() crashes (a TypeError a bug would throw) on two-letter strings. */
class CrashesOnSomeInput extends Replicated<string, string[]> {
  static override readonly typeId = id()
  static override readonly typeName = 'CrashesOnSomeInput'
  readonly #items = new Map<string, Update<string>>()
  readonly #first: Record<string, { n: number }> = { a: { n: 1 } }
  add(x: string): void {
    if (x.length === 2) void (this.#first[x[1]!] as { n: number }).n // bug: reads a property of undefined
    if (!this.#items.has(x)) this.commit(x)
  }
  protected applyOp(u: Update<string>): boolean {
    const prev = this.#items.get(u.op)
    if (prev && !lastWriterWins(prev, u)) return false
    this.#items.set(u.op, u)
    return prev === undefined
  }
  protected history(): Iterable<Update<string>> {
    return this.#items.values()
  }
  toJSON(): string[] {
    return [...this.#items.keys()].sort()
  }
}

/** Counter whose applyOp adds before it validates, then throws its typed refusal: the refused op half-applied. */
class HalfAppliesThenThrows extends Replicated<number, number> {
  static override readonly typeId = id()
  static override readonly typeName = 'HalfAppliesThenThrows'
  readonly #log: Update<number>[] = []
  #sum = 0
  inc(n: number): void {
    this.commit(n)
  }
  protected applyOp(u: Update<number>): boolean {
    this.#sum += u.op // bug: mutates before the check below
    if (u.op > 90) throw new HearsayError(ErrorCodes.INVALID_UPDATE, `increment ${u.op} is above 90`)
    this.#log.push(u)
    return true
  }
  protected history(): Iterable<Update<number>> {
    return this.#log
  }
  toJSON(): number {
    return this.#sum
  }
}

// Dot spelled as a type literal: an interface has no index signature, so it is not a Value.
type TagOp = { add: string } | { remove: string; tags: Array<{ source: Dot['source']; seq: number }> }

/** Observed-remove set whose remove names the adds it saw but does not declare them as deps, so it may run before them. */
class IgnoresDeps extends Replicated<TagOp, string[]> {
  static override readonly typeId = id()
  static override readonly typeName = 'IgnoresDeps'
  readonly #log: Update<TagOp>[] = []
  readonly #tags = new Map<string, Map<string, Dot>>()
  add(x: string): void {
    this.commit({ add: x })
  }
  remove(x: string): void {
    const tags = this.#tags.get(x)
    if (tags === undefined) return
    this.commit({ remove: x, tags: [...tags.values()] }) // bug: should pass { deps: tags }
  }
  protected applyOp(u: Update<TagOp>): boolean {
    this.#log.push(u)
    const op = u.op
    if ('add' in op) {
      let tags = this.#tags.get(op.add)
      if (tags === undefined) this.#tags.set(op.add, (tags = new Map()))
      tags.set(`${u.source}:${u.seq}`, { source: u.source, seq: u.seq })
      return true
    }
    const tags = this.#tags.get(op.remove)
    for (const d of op.tags) tags?.delete(`${d.source}:${d.seq}`)
    if (tags?.size === 0) this.#tags.delete(op.remove)
    return true
  }
  protected history(): Iterable<Update<TagOp>> {
    return this.#log
  }
  toJSON(): string[] {
    return [...this.#tags.keys()].sort()
  }
}

/** LWW map whose toJSON lists keys in the order this replica first saw them. */
class ArrivalOrderJson extends Replicated<[string, number], Record<string, number>> {
  static override readonly typeId = id()
  static override readonly typeName = 'ArrivalOrderJson'
  readonly #entries = new Map<string, Update<[string, number]>>()
  set(k: string, v: number): void {
    this.commit([k, v])
  }
  protected applyOp(u: Update<[string, number]>): boolean {
    const cur = this.#entries.get(u.op[0])
    if (cur !== undefined && !lastWriterWins(u, cur)) return false
    this.#entries.set(u.op[0], u)
    return true
  }
  protected history(): Iterable<Update<[string, number]>> {
    return this.#entries.values()
  }
  toJSON(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const [k, u] of this.#entries) out[k] = u.op[1] // bug: key order is arrival order
    return out
  }
}

type InsertOp = [index: number, char: string]

/** Sequence that inserts a remote character at the index its writer saw: concurrent runs interleave differently on each replica. */
class InterleavingSequence extends Replicated<InsertOp, string> {
  static override readonly typeId = id()
  static override readonly typeName = 'InterleavingSequence'
  readonly #log: Update<InsertOp>[] = []
  #text: string[] = []
  insert(index: number, char: string): void {
    this.commit([Math.min(index, this.#text.length), char])
  }
  protected applyOp(u: Update<InsertOp>): boolean {
    this.#log.push(u)
    const [i, c] = u.op
    this.#text.splice(Math.min(i, this.#text.length), 0, c) // bug: an index is not a stable position
    return true
  }
  protected history(): Iterable<Update<InsertOp>> {
    return this.#log
  }
  toJSON(): string {
    return this.#text.join('')
  }
}

/** One broken type, how to drive it, and the law it breaks. */
export interface Mutant {
  /** What is wrong with the type. */
  readonly name: string
  /** What the checker reports when it catches it. */
  readonly breaks: string
  /** Runs {@link checkConvergence} on it: rejects with a `ConvergenceCheckError` when caught. */
  readonly run: (options: { seed: number; numRuns?: number }) => Promise<unknown>
}

function mutant<R extends Replicated<any>, A>(
  name: string,
  breaks: string,
  factory: (o: ReplicatedOptions) => R,
  ops: fc.Arbitrary<A>,
  apply: (r: R, op: A) => void,
): Mutant {
  return { name, breaks, run: (o) => checkConvergence(factory, ops, { apply, ...o }) }
}

const small = fc.constantFrom('a', 'b', 'c')

/**
 * The mutant corpus: broken replicated types, at least one per law, that
 * {@link checkConvergence} must catch (mutation testing of the tester; core's tests run every
 * one, and `bench/mutants.ts` measures how soon each is caught). Type ids 9100 and up.
 */
export const mutants: readonly Mutant[] = [
  mutant('counter that double-counts', 'values differ', (o) => new DoubleCountingCounter(o), fc.integer({ min: 1, max: 9 }), (c, n) => c.inc(n)),
  mutant('LWW without a deterministic tie-break', 'values differ', (o) => new TieByArrivalRegister(o), fc.nat({ max: 99 }), (r, v) => r.set(v)),
  mutant('remove that does not commute with a concurrent add', 'values differ', (o) => new RemoveDoesNotCommute(o), fc.tuple(fc.boolean(), small), (s, [add, x]) => (add ? s.add(x) : s.remove(x))),
  mutant('encoding that depends on arrival order', 'encodings differ', (o) => new ArrivalOrderEncoding(o), small, (s, x) => s.add(x)),
  mutant('history that omits updates another replica needs', 'values differ / state round trip', (o) => new HistoryOmitsNeeded(o), fc.integer({ min: 1, max: 9 }), (c, n) => c.inc(n)),
  mutant('op that crashes on some input', 'op crashed', (o) => new CrashesOnSomeInput(o), fc.string({ maxLength: 3 }), (s, x) => s.add(x)),
  mutant('applyOp that half-applies before throwing', 'refused op changed the replica', (o) => new HalfAppliesThenThrows(o), fc.integer({ min: 1, max: 99 }), (c, n) => c.inc(n)),
  mutant('type that ignores deps', 'values differ', (o) => new IgnoresDeps(o), fc.tuple(fc.boolean(), small), (s, [add, x]) => (add ? s.add(x) : s.remove(x))),
  mutant('non-deterministic toJSON key order', 'values serialize differently', (o) => new ArrivalOrderJson(o), fc.tuple(small, fc.nat({ max: 9 })), (m, [k, v]) => m.set(k, v)),
  mutant('sequence that interleaves concurrent runs', 'values differ', (o) => new InterleavingSequence(o), fc.tuple(fc.nat({ max: 8 }), small), (s, [i, c]) => s.insert(i, c)),
]

