import { isDeepStrictEqual } from 'node:util'
import * as fc from 'fast-check'
import type { Replicated, ReplicatedOptions } from '../Replicated.js'
import type { Range } from '../update.js'
import { ErrorCodes, isHearsayError } from '../errors.js'
import { explainDivergence } from '../explainDivergence.js'
import { ReplicaLink } from '../ReplicaLink.js'
import { testSeed } from './prng.js'

/** Options of {@link checkConvergence}. */
export interface ConvergenceOptions<R, A> {
  /** Applies one generated op to a replica. Omit when the arbitrary yields functions `(replica) => void`. */
  apply?: (replica: R, op: A) => void
  /**
   * Which errors thrown by an op are refusals the type declares (an op that is invalid for the
   * replica's current state), not crashes. A refused op must leave the replica unchanged. Default:
   * a `HearsayError` with code `HEARSAY_INVALID_UPDATE`. Anything else an op throws (a `TypeError`
   * from a bug included) fails the run.
   */
  refuses?: (error: unknown, op: A) => boolean
  /** Largest share of generated ops that may be refused before the generator counts as testing nothing (default 0.5). */
  maxRefusedShare?: number
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

/** One step of a {@link Scenario}: a local op, a delivery, a drop, a partial digest exchange or a clock tick. */
export type Step<A> =
  | { kind: 'op'; replica: number; op: A }
  | { kind: 'deliver'; replica: number; pick: number; duplicate: boolean }
  | { kind: 'drop'; replica: number; pick: number }
  | { kind: 'digest'; from: number; to: number }
  | { kind: 'tick'; ms: number }

/**
 * One run of the law checker: how many replicas, their wall-clock skews (ms), and the steps.
 * A failure prints the shrunk scenario in this form, to paste into {@link runScenario}.
 */
export interface Scenario<A> {
  replicas: number
  skews: number[]
  steps: Step<A>[]
}

/** What one {@link runScenario} did: the checker fails a type whose runs exercise nothing. */
export interface ScenarioStats {
  /** Ops attempted. */
  ops: number
  /** Ops that threw a declared refusal. */
  refused: number
  /** Updates committed by local ops. */
  committed: number
  /** Updates applied from another replica. */
  remote: number
}

/** What {@link runScenario} observed; thrown as a failure message when a law breaks. */
export class ConvergenceFailure extends Error {
  override name = 'ConvergenceFailure'
}

function fail(message: string): never {
  throw new ConvergenceFailure(message)
}

function hex(b: Uint8Array): string {
  let s = ''
  for (let i = 0; i < b.length && i < 100; i++) s += b[i]!.toString(16).padStart(2, '0')
  return b.length > 100 ? `${s}… (${b.length} bytes)` : s
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function serialize(v: unknown): string {
  try {
    return JSON.stringify(v) ?? 'undefined'
  } catch {
    // Not JSON (a bigint, a cycle): deep equality is all that can be compared.
    return ''
  }
}

function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const code = (err as { code?: unknown }).code
  const frame = err.stack?.split('\n').find((l) => l.trimStart().startsWith('at '))?.trim()
  return `${err.name}${typeof code === 'string' ? ` ${code}` : ''}: ${err.message}${frame === undefined ? '' : ` (${frame})`}`
}

function describeRanges(ranges: readonly Range<unknown>[]): string {
  return ranges.map((r) => `${r.source} (${r.from}, ${r.to}]${r.updates.length === r.to - r.from ? '' : ` ${r.updates.length} updates`}`).join(', ') || 'nothing'
}

/** The default refusal: the type's own typed error for an invalid op. */
export function refusesInvalidUpdate(error: unknown): boolean {
  return isHearsayError(error, ErrorCodes.INVALID_UPDATE)
}

interface Message {
  readonly id: number
  readonly bytes: Uint8Array
  readonly what: string
}

/**
 * Runs one scenario: replicas apply ops and exchange encoded ranges over a simulated network that
 * reorders, duplicates and drops; then a digest exchange heals the drops. Checks convergence,
 * idempotence and state round-trips; throws {@link ConvergenceFailure} when a law breaks: an op
 * that throws anything but a declared refusal (`options.refuses`), a refused op that changed the
 * replica, an update one replica wrote that another refused, then the convergence laws.
 * Paste a failing scenario printed by {@link checkConvergence} here to replay it in a test.
 * @param trace when given, receives one line per step (the delivery schedule) as it runs.
 */
export async function runScenario<R extends Replicated<any>, A>(
  factory: (options: ReplicatedOptions) => R,
  scenario: Scenario<A>,
  options: ConvergenceOptions<R, A> = {},
  trace?: string[],
): Promise<ScenarioStats> {
  const apply = options.apply ?? ((r: R, op: A) => (op as unknown as (r: R) => void)(r))
  const value = options.value ?? ((r: R) => r.toJSON())
  const refuses = options.refuses ?? refusesInvalidUpdate
  const stats: ScenarioStats = { ops: 0, refused: 0, committed: 0, remote: 0 }
  const log = trace === undefined ? undefined : (line: string) => trace.push(line)
  let wall = 1_700_000_000_000
  const replicas: R[] = []
  // inbox[i]: encoded messages on their way to replica i, delivered in any order.
  const inbox: Message[][] = []
  const sent: Uint8Array[][] = []
  const rejected: string[] = []
  let nextMessage = 0
  const post = (to: number, bytes: Uint8Array, what: string) => {
    const m = { id: nextMessage++, bytes, what }
    inbox[to]!.push(m)
    return m
  }
  for (let i = 0; i < scenario.replicas; i++) {
    const skew = scenario.skews[i] ?? 0
    const r = factory({ id: `r${i}`, now: () => wall + skew })
    replicas.push(r)
    inbox.push([])
    sent.push([])
    r.on('ranges', (ranges: Range<unknown>[], origin: unknown) => {
      if (origin !== 'local') {
        for (const x of ranges) stats.remote += x.updates.length
        return
      }
      for (const x of ranges) stats.committed += x.updates.length
      const bytes = r.encodeRanges(ranges)
      const ids: number[] = []
      for (let j = 0; j < scenario.replicas; j++) if (j !== i) ids.push(post(j, bytes, `r${i} → r${j}: ${describeRanges(ranges)}`).id)
      log?.(`    r${i} wrote ${describeRanges(ranges)}, sent as ${ids.map((n) => `m${n}`).join(', ')}`)
    })
    // Every replica here is honest: an update one wrote that another refuses is a bug of the type.
    r.on('rejected', (err: Error, u?: { source: string; seq: number }) => {
      rejected.push(`r${i} refused ${u === undefined ? 'a range' : `update ${u.source}:${u.seq}`} written by an honest replica: ${describeError((err as { cause?: unknown }).cause ?? err)}`)
    })
  }
  const receive = (i: number, bytes: Uint8Array) => {
    const r = replicas[i]!
    const res = r.applyRanges(r.decodeRanges(bytes), 'net')
    sent[i]!.push(bytes)
    return res
  }
  const snapshot = (r: R) => ({ clock: JSON.stringify(r.clock.toJSON()), state: r.encodeState(), value: value(r) })
  const check = (where: string) => {
    if (rejected.length > 0) fail(`${rejected[0]} (${where})`)
    if (options.invariant) {
      for (let i = 0; i < replicas.length; i++) {
        try {
          options.invariant(replicas[i]!)
        } catch (err) {
          fail(`the invariant broke on r${i} ${where}: ${describeError(err)}`)
        }
      }
    }
  }
  for (let n = 0; n < scenario.steps.length; n++) {
    const step = scenario.steps[n]!
    const at = `at step ${n}`
    switch (step.kind) {
      case 'op': {
        const i = step.replica % replicas.length
        const r = replicas[i]!
        const before = snapshot(r)
        stats.ops++
        log?.(`${n}: r${i} op ${fc.stringify(step.op)}`)
        try {
          apply(r, step.op)
        } catch (err) {
          if (!refuses(err, step.op)) fail(`op ${fc.stringify(step.op)} crashed on r${i} ${at}: ${describeError(err)} (declare the type's refusals with the \`refuses\` option)`)
          stats.refused++
          log?.(`    refused: ${describeError(err)}`)
          const after = snapshot(r)
          if (after.clock !== before.clock || !sameBytes(after.state, before.state) || !isDeepStrictEqual(after.value, before.value)) {
            fail(`op ${fc.stringify(step.op)} was refused on r${i} ${at} but changed the replica (half-applied): ${describeError(err)}; value ${JSON.stringify(before.value)} → ${JSON.stringify(after.value)}, clock ${before.clock} → ${after.clock}`)
          }
        }
        break
      }
      case 'deliver': {
        const i = step.replica % replicas.length
        const box = inbox[i]!
        if (box.length === 0) break
        const k = step.pick % box.length
        const m = box[k]!
        if (!step.duplicate) box.splice(k, 1)
        const res = receive(i, m.bytes)
        log?.(`${n}: deliver m${m.id} (${m.what})${step.duplicate ? ', a copy stays in flight' : ''}: applied ${res.applied}, duplicates ${res.duplicates}, waiting ${res.waiting}`)
        break
      }
      case 'drop': {
        const i = step.replica % replicas.length
        const box = inbox[i]!
        if (box.length === 0) break
        const [m] = box.splice(step.pick % box.length, 1)
        log?.(`${n}: drop m${m!.id} (${m!.what})`)
        break
      }
      case 'digest': {
        const f = step.from % replicas.length
        const i = step.to % replicas.length
        if (f === i) break
        const from = replicas[f]!
        const ranges = from.historySince(replicas[i]!.clock)
        const m = post(i, from.encodeRanges(ranges), `r${f} → r${i} digest reply: ${describeRanges(ranges)}`)
        log?.(`${n}: r${i} sends its digest ${JSON.stringify(replicas[i]!.clock.toJSON())} to r${f}, which answers m${m.id} (${m.what})`)
        break
      }
      case 'tick':
        wall += step.ms
        log?.(`${n}: wall clock +${step.ms} ms`)
        break
    }
    check(at)
  }
  // Heal: full digest exchange until every clock agrees.
  log?.('heal: full digest exchange')
  for (let round = 0; round < replicas.length + 2; round++) {
    for (let i = 0; i < replicas.length; i++) {
      for (let j = 0; j < replicas.length; j++) {
        if (i === j) continue
        receive(j, replicas[i]!.encodeRanges(replicas[i]!.historySince(replicas[j]!.clock)))
      }
    }
    if (replicas.every((r) => r.clock.compare(replicas[0]!.clock) === 'equal')) break
  }
  check('during the heal')
  const first = replicas[0]!
  const state0 = first.encodeState()
  const why = (i: number) => {
    const report = explainDivergence(first, replicas[i]!)
    return report.lines.length === 0 ? '' : `\nexplainDivergence(r0, r${i}):\n${report.lines.map((l) => `  ${l}`).join('\n')}`
  }
  for (let i = 0; i < replicas.length; i++) {
    const r = replicas[i]!
    if (r.pendingCount !== 0) fail(`replica r${i} still has ${r.pendingCount} updates in its causal buffer after the digest exchange${why(i)}`)
    if (r.clock.compare(first.clock) !== 'equal') fail(`clocks differ after the digest exchange: r0 ${JSON.stringify(first.clock.toJSON())} vs r${i} ${JSON.stringify(r.clock.toJSON())}${why(i)}`)
    if (!isDeepStrictEqual(value(r), value(first))) fail(`values differ: r0 ${JSON.stringify(value(first))} vs r${i} ${JSON.stringify(value(r))}${why(i)}`)
    // Deep equality ignores object key order; a user who serializes the value does not.
    const j0 = serialize(value(first))
    const ji = serialize(value(r))
    if (j0 !== ji) fail(`equal values serialize differently (object key order depends on the replica): r0 ${j0} vs r${i} ${ji}`)
    const s = r.encodeState()
    if (!sameBytes(s, state0)) fail(`encodings of equal states differ: r0 ${hex(state0)} vs r${i} ${hex(s)}${why(i)}`)
  }
  // Idempotence: everything delivered once more changes nothing.
  for (let i = 0; i < replicas.length; i++) {
    for (const bytes of sent[i]!) replicas[i]!.applyRanges(replicas[i]!.decodeRanges(bytes), 'net')
    const again = replicas[i]!.encodeState()
    if (!sameBytes(again, state0)) fail(`re-delivering r${i}'s messages changed its state: ${hex(state0)} → ${hex(again)}`)
  }
  check('after re-delivery')
  // Round trips: encodeState → applyState, and createReadStream → bytes → createWriteStream.
  const loaded = factory({ id: 'loaded', now: () => wall })
  loaded.applyState(state0)
  if (!sameBytes(loaded.encodeState(), state0)) fail('applyState(encodeState()) does not reproduce the state bytes')
  if (!isDeepStrictEqual(value(loaded), value(first)) || serialize(value(loaded)) !== serialize(value(first))) {
    fail(`applyState(encodeState()) does not reproduce the value: ${serialize(value(first))} → ${serialize(value(loaded))}`)
  }
  const streamed = factory({ id: 'streamed', now: () => wall })
  // The stream protocol with no platform stream: a read-only link's frames, written to a file
  // by createReadStream(), fed to a write-only link as createWriteStream() would read them.
  const frames: Uint8Array[] = []
  const noSink = { send() {}, end() {}, fail: (e: Error) => fail(`the write-only link failed: ${e.message}`) }
  new ReplicaLink(first, { readable: true, writable: false, tail: false }, { ...noSink, send: (f) => void frames.push(f) })
  const reader = new ReplicaLink(streamed, { readable: false, writable: true }, noSink)
  for (const f of frames) reader.receive(f)
  reader.inputEnded()
  if (!reader.synced) fail('the stream protocol delivered no sync marker')
  if (!sameBytes(streamed.encodeState(), state0)) fail('createReadStream → createWriteStream does not reproduce the state bytes')
  for (const r of [...replicas, loaded, streamed]) r.dispose()
  return stats
}

/** The scenario with replica indices reduced to the replicas that exist, as the run used them. */
function normalize<A>(s: Scenario<A>): Scenario<A> {
  const n = s.replicas
  const steps = s.steps.map((st): Step<A> => {
    switch (st.kind) {
      case 'op':
        return { kind: 'op', replica: st.replica % n, op: st.op }
      case 'deliver':
      case 'drop':
        return { ...st, replica: st.replica % n }
      case 'digest':
        return { kind: 'digest', from: st.from % n, to: st.to % n }
      default:
        return st
    }
  })
  return { replicas: n, skews: s.skews.slice(0, n), steps }
}

/** Thrown by {@link checkConvergence}: the message holds everything needed to replay the failure. */
export class ConvergenceCheckError extends Error {
  override name = 'ConvergenceCheckError'
  /** The fast-check seed of the run. */
  readonly seed: number
  /** fast-check's replay path of the shrunk counterexample (with `seed`, pass it as `path`). */
  readonly path: string | undefined
  /** The shrunk scenario, replica indices normalised: `runScenario(factory, scenario, options)` replays it. */
  readonly scenario: Scenario<unknown> | undefined
  /** The run number (1-based) that first failed; how long the checker took to find it. */
  readonly failedAtRun: number | undefined

  constructor(message: string, seed: number, path?: string, scenario?: Scenario<unknown>, failedAtRun?: number, cause?: unknown) {
    super(message, { cause })
    this.seed = seed
    this.path = path
    this.scenario = scenario
    this.failedAtRun = failedAtRun
  }
}

/**
 * The law checker. fast-check drives 2..N replicas of a type through random local ops and
 * random delivery of their encoded updates (any order, duplicates, drops, partial digest
 * exchanges, clock skew), then heals with a full digest exchange and asserts: equal values,
 * equal vectors, empty causal buffers, byte-identical encodings; re-delivering everything
 * changes nothing; `encodeState`/`applyState` and `createReadStream`/`createWriteStream`
 * reproduce the state.
 *
 * It cannot be fooled by a type that crashes: an op that throws anything but a refusal the type
 * declares (`options.refuses`, default a `HearsayError` `HEARSAY_INVALID_UPDATE`) fails the run,
 * as does a refused op that changed the replica, and an update one replica wrote that another
 * refused. It also fails when more than half the generated ops were refused (a generator that
 * tests nothing), or when no run committed an update or applied one remotely.
 *
 * A failure throws {@link ConvergenceCheckError}: the broken law, the seed and fast-check's
 * replay path, the shrunk scenario as a literal to paste into {@link runScenario}, and the
 * delivery schedule of that scenario, step by step.
 *
 * @param factory builds a replica from `{ id, now }` (pass both on to your constructor).
 * @param opArbitrary generates ops; with `options.apply` any data, otherwise `(replica) => void` functions.
 * @returns the stats summed over every run.
 * @throws ConvergenceCheckError describing the first broken law, with the seed.
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
): Promise<ScenarioStats & { runs: number }> {
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
    // Replicas often share a wall clock, so concurrent writes often share a hybrid time: ties
    // are where last-writer-wins types without a deterministic tie-break diverge.
    skews: fc.array(fc.oneof({ weight: 2, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -3000, max: 3000 }) }), { minLength: max, maxLength: max }),
    steps: fc.array(step, { minLength: Math.min(8, maxSteps), maxLength: maxSteps, size: 'max' }),
  })
  const seed = options.seed ?? testSeed()
  const numRuns = options.numRuns ?? (Number(process.env['HEARSAY_RUNS']) || 100)
  const params: fc.Parameters<[Scenario<A>]> = { seed, numRuns }
  if (options.path !== undefined) params.path = options.path
  const total = { ops: 0, refused: 0, committed: 0, remote: 0, runs: 0 }
  // Only runs of the generated sequence count: shrinking runs happen after a failure anyway.
  let shrinking = false
  const details = await fc.check(
    fc.asyncProperty(scenario, async (s) => {
      const st = await runScenario(factory, s, options)
      if (!shrinking) {
        total.runs++
        total.ops += st.ops
        total.refused += st.refused
        total.committed += st.committed
        total.remote += st.remote
      }
    }),
    params,
  )
  const header = `checkConvergence failed (seed ${seed}; replay with SEED=${seed})`
  if (details.failed) {
    shrinking = true
    const shrunk = details.counterexample === null ? undefined : normalize(details.counterexample[0])
    const lines = [header, '']
    const cause = details.errorInstance
    lines.push(cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause))
    if (shrunk !== undefined) {
      const trace: string[] = []
      try {
        await runScenario(factory, shrunk, options, trace)
      } catch {
        // The failure above, met again while tracing.
      }
      lines.push(
        '',
        `First failing run: #${details.numRuns} of ${numRuns}; shrunk ${details.numShrinks} times. Replay exactly:`,
        `  checkConvergence(factory, ops, { ...options, seed: ${seed}, path: ${JSON.stringify(details.counterexamplePath)} })`,
        'or paste the shrunk scenario into a regression test:',
        `  await runScenario(factory, ${fc.stringify(shrunk)}, options)`,
        '',
        'Delivery schedule of the shrunk scenario (m<n> = an encoded message in flight):',
        ...trace.map((l) => `  ${l}`),
      )
    }
    lines.push('', fc.defaultReportMessage(details) ?? '')
    throw new ConvergenceCheckError(lines.join('\n'), seed, details.counterexamplePath ?? undefined, shrunk as Scenario<unknown> | undefined, details.numRuns, cause)
  }
  const share = options.maxRefusedShare ?? 0.5
  const hint = 'the generator tests nothing; generate ops that are valid for the replica, or widen `refuses` only for declared refusals'
  if (total.ops > 0 && total.refused > share * total.ops) {
    throw new ConvergenceCheckError(`${header}\n${total.refused} of ${total.ops} generated ops were refused (more than ${Math.round(share * 100)}%): ${hint}`, seed)
  }
  if (total.committed === 0) throw new ConvergenceCheckError(`${header}\nno op committed an update in ${total.runs} runs (${total.ops} ops): ${hint}`, seed)
  if (total.remote === 0) throw new ConvergenceCheckError(`${header}\nno replica applied an update from another in ${total.runs} runs: nothing was tested`, seed)
  return total
}
