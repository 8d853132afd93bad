import { isDeepStrictEqual } from 'node:util'
import { PassThrough } from 'node:stream'
import * as fc from 'fast-check'
import type { Replicated, ReplicatedOptions } from '../Replicated.js'
import type { Range } from '../update.js'
import { testSeed } from './prng.js'

/** Options of {@link checkConvergence}. */
export interface ConvergenceOptions<R, A> {
  /** Applies one generated op to a replica. Omit when the arbitrary yields functions `(replica) => void`. */
  apply?: (replica: R, op: A) => void
  /** Smallest and largest number of replicas per run (default 2..4). */
  replicas?: [min: number, max: number]
  /** Most steps (ops and deliveries) per run (default 60). */
  maxSteps?: number
  /** fast-check runs (default `HEARSAY_RUNS` or 100). */
  numRuns?: number
  /** Seed (default `SEED` from the environment, else random). */
  seed?: number
  /** fast-check replay path, printed with a failure. */
  path?: string
  /** The value compared between replicas (default `replica.toJSON()`). */
  value?: (replica: R) => unknown
  /** A test-only invariant checker, run on every replica after every step. */
  invariant?: (replica: R) => void
}

type Step<A> =
  | { kind: 'op'; replica: number; op: A }
  | { kind: 'deliver'; replica: number; pick: number; duplicate: boolean }
  | { kind: 'drop'; replica: number; pick: number }
  | { kind: 'digest'; from: number; to: number }
  | { kind: 'tick'; ms: number }

interface Scenario<A> {
  replicas: number
  skews: number[]
  steps: Step<A>[]
}

/** What {@link runScenario} observed; thrown as a failure message when a law breaks. */
export class ConvergenceFailure extends Error {
  override name = 'ConvergenceFailure'
}

function fail(message: string): never {
  throw new ConvergenceFailure(message)
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex').slice(0, 200)
}

/**
 * Runs one scenario: replicas apply ops and exchange encoded ranges over a simulated network that
 * reorders, duplicates and drops; then a digest exchange heals the drops. Checks convergence,
 * idempotence and state round-trips; throws {@link ConvergenceFailure} when a law breaks.
 */
export async function runScenario<R extends Replicated<any>, A>(
  factory: (options: ReplicatedOptions) => R,
  scenario: Scenario<A>,
  options: ConvergenceOptions<R, A> = {},
): Promise<void> {
  const apply = options.apply ?? ((r: R, op: A) => (op as unknown as (r: R) => void)(r))
  const value = options.value ?? ((r: R) => r.toJSON())
  let wall = 1_700_000_000_000
  const replicas: R[] = []
  // inbox[i]: encoded messages on their way to replica i, delivered in any order.
  const inbox: Uint8Array[][] = []
  const sent: Uint8Array[][] = []
  for (let i = 0; i < scenario.replicas; i++) {
    const skew = scenario.skews[i] ?? 0
    const r = factory({ id: `r${i}`, now: () => wall + skew })
    replicas.push(r)
    inbox.push([])
    sent.push([])
    r.on('ranges', (ranges: Range<unknown>[], origin: unknown) => {
      if (origin !== 'local') return
      const bytes = r.encodeRanges(ranges)
      for (let j = 0; j < scenario.replicas; j++) if (j !== i) inbox[j]!.push(bytes)
    })
  }
  const receive = (i: number, bytes: Uint8Array) => {
    const r = replicas[i]!
    r.applyRanges(r.decodeRanges(bytes), 'net')
    sent[i]!.push(bytes)
  }
  const check = () => {
    if (options.invariant) for (const r of replicas) options.invariant(r)
  }
  for (const step of scenario.steps) {
    switch (step.kind) {
      case 'op': {
        const r = replicas[step.replica % replicas.length]!
        try {
          apply(r, step.op)
        } catch (err) {
          // An op the type refuses for its arguments (a RangeError on an empty list...) is not a law break.
          if (!(err instanceof RangeError || err instanceof TypeError)) throw err
        }
        break
      }
      case 'deliver': {
        const i = step.replica % replicas.length
        const box = inbox[i]!
        if (box.length === 0) break
        const k = step.pick % box.length
        const bytes = box[k]!
        if (!step.duplicate) box.splice(k, 1)
        receive(i, bytes)
        break
      }
      case 'drop': {
        const box = inbox[step.replica % replicas.length]!
        if (box.length > 0) box.splice(step.pick % box.length, 1)
        break
      }
      case 'digest': {
        const from = replicas[step.from % replicas.length]!
        const i = step.to % replicas.length
        if (from === replicas[i]) break
        inbox[i]!.push(from.encodeRanges(from.historySince(replicas[i]!.clock)))
        break
      }
      case 'tick':
        wall += step.ms
        break
    }
    check()
  }
  // Heal: full digest exchange until every clock agrees.
  for (let round = 0; round < replicas.length + 2; round++) {
    for (let i = 0; i < replicas.length; i++) {
      for (let j = 0; j < replicas.length; j++) {
        if (i === j) continue
        receive(j, replicas[i]!.encodeRanges(replicas[i]!.historySince(replicas[j]!.clock)))
      }
    }
    if (replicas.every((r) => r.clock.compare(replicas[0]!.clock) === 'equal')) break
  }
  check()
  const first = replicas[0]!
  const state0 = first.encodeState()
  for (let i = 0; i < replicas.length; i++) {
    const r = replicas[i]!
    if (r.pendingCount !== 0) fail(`replica r${i} still has ${r.pendingCount} updates in its causal buffer after the digest exchange`)
    if (r.clock.compare(first.clock) !== 'equal') fail(`clocks differ after the digest exchange: r0 ${JSON.stringify(first.clock)} vs r${i} ${JSON.stringify(r.clock)}`)
    if (!isDeepStrictEqual(value(r), value(first))) fail(`values differ: r0 ${JSON.stringify(value(first))} vs r${i} ${JSON.stringify(value(r))}`)
    const s = r.encodeState()
    if (Buffer.compare(s, state0) !== 0) fail(`encodings of equal states differ: r0 ${hex(state0)} vs r${i} ${hex(s)}`)
  }
  // Idempotence: everything delivered once more changes nothing.
  for (let i = 0; i < replicas.length; i++) {
    for (const bytes of sent[i]!) replicas[i]!.applyRanges(replicas[i]!.decodeRanges(bytes), 'net')
    const again = replicas[i]!.encodeState()
    if (Buffer.compare(again, state0) !== 0) fail(`re-delivering r${i}'s messages changed its state: ${hex(state0)} → ${hex(again)}`)
  }
  // Round trips: encodeState → applyState, and createReadStream → bytes → createWriteStream.
  const loaded = factory({ id: 'loaded', now: () => wall })
  loaded.applyState(state0)
  if (Buffer.compare(loaded.encodeState(), state0) !== 0) fail('applyState(encodeState()) does not reproduce the state bytes')
  if (!isDeepStrictEqual(value(loaded), value(first))) fail('applyState(encodeState()) does not reproduce the value')
  const streamed = factory({ id: 'streamed', now: () => wall })
  const pipe = new PassThrough()
  const done = new Promise<void>((resolve, reject) => {
    const ws = streamed.createWriteStream()
    ws.on('error', reject)
    ws.on('finish', resolve)
    pipe.pipe(ws)
  })
  first.createReadStream().pipe(pipe)
  await done
  if (Buffer.compare(streamed.encodeState(), state0) !== 0) fail('createReadStream → createWriteStream does not reproduce the state bytes')
  for (const r of [...replicas, loaded, streamed]) r.dispose()
}

/**
 * The law checker. fast-check drives 2..N replicas of a type through random local ops and
 * random delivery of their encoded updates (any order, duplicates, drops, partial digest
 * exchanges, clock skew), then heals with a full digest exchange and asserts: equal values,
 * equal vectors, empty causal buffers, byte-identical encodings; re-delivering everything
 * changes nothing; `encodeState`/`applyState` and `createReadStream`/`createWriteStream`
 * reproduce the state. Seeded (`SEED`), and a failure reports the seed, the replay path and
 * the shrunk scenario.
 *
 * @param factory builds a replica from `{ id, now }` (pass both on to your constructor).
 * @param opArbitrary generates ops; with `options.apply` any data, otherwise `(replica) => void` functions.
 * @throws Error describing the first broken law, with the seed.
 *
 * @example
 * ```ts
 * await checkConvergence((o) => new LWWMap(o), fc.tuple(fc.string(), fc.integer()),
 *   { apply: (m, [k, v]) => m.set(k, v) })
 * ```
 */
export async function checkConvergence<R extends Replicated<any>, A>(
  factory: (options: ReplicatedOptions) => R,
  opArbitrary: fc.Arbitrary<A>,
  options: ConvergenceOptions<R, A> = {},
): Promise<void> {
  const [min, max] = options.replicas ?? [2, 4]
  const maxSteps = options.maxSteps ?? 60
  const idx = fc.nat({ max: 15 })
  const step: fc.Arbitrary<Step<A>> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('op' as const), replica: idx, op: opArbitrary }) },
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('deliver' as const), replica: idx, pick: fc.nat(), duplicate: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const), replica: idx, pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('digest' as const), from: idx, to: idx }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 5000 }) }) },
  )
  const scenario = fc.record({
    replicas: fc.integer({ min, max }),
    skews: fc.array(fc.integer({ min: -3000, max: 3000 }), { minLength: max, maxLength: max }),
    steps: fc.array(step, { minLength: Math.min(8, maxSteps), maxLength: maxSteps, size: 'max' }),
  })
  const seed = options.seed ?? testSeed()
  const numRuns = options.numRuns ?? (Number(process.env['HEARSAY_RUNS']) || 100)
  const params: fc.Parameters<[Scenario<A>]> = { seed, numRuns }
  if (options.path !== undefined) params.path = options.path
  try {
    await fc.assert(fc.asyncProperty(scenario, (s) => runScenario(factory, s, options)), params)
  } catch (err) {
    const e = err as Error
    e.message = `checkConvergence failed (seed ${seed}; replay with SEED=${seed})\n${e.message}`
    throw e
  }
}
