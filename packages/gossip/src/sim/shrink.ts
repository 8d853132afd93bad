import { simulate, type SimFaults, type SimReport, type SimulateOptions } from './simulate.js'

/** Options of {@link shrinkSimulation}. */
export interface ShrinkOptions {
  /** Most runs to try, the first one included (default 60). */
  maxRuns?: number
}

/** What {@link shrinkSimulation} found. */
export interface ShrinkResult {
  /** The smallest options found that still fail the same way (the same seed). */
  readonly options: SimulateOptions
  /** Its report. */
  readonly report: SimReport
  /** The first run's report. */
  readonly original: SimReport
  /** Runs made, the first one included. */
  readonly runs: number
  /** Each accepted step, e.g. `nodes 16 -> 8`. */
  readonly steps: readonly string[]
}

type Failure = 'crash' | 'divergence' | 'error'

function failure(r: SimReport): Failure | null {
  if (r.ok) return null
  if (r.crashedWrites > 0) return 'crash'
  return r.converged ? 'error' : 'divergence'
}

function opCount(o: SimulateOptions): number {
  return typeof o.ops === 'number' ? o.ops : (o.ops?.count ?? 0)
}

function withOps(o: SimulateOptions, count: number): SimulateOptions {
  return { ...o, ops: typeof o.ops === 'object' ? { ...o.ops, count } : count }
}

/** Sizes from `from` to `to` (inclusive), smallest first, growing by about a third: 2 3 4 5 6 8 10 13 17 ... */
function ladder(from: number, to: number): number[] {
  const out: number[] = []
  for (let k = from; k <= to; k = Math.max(k + 1, Math.floor(k * 1.3))) out.push(k)
  return out
}

/** Which faults `faults` holds, by the name of the step that drops them. */
const present = (faults: SimFaults): Record<string, boolean> => ({
  'no partitions': (faults.partitions?.length ?? 0) > 0,
  'no crashes': typeof faults.crashes === 'number' ? faults.crashes > 0 : (faults.crashes?.length ?? 0) > 0,
  'no clock skew': (faults.skew ?? 0) > 0,
  'no link loss, duplication or reordering': (faults.link?.loss ?? 0) + (faults.link?.duplicate ?? 0) + (faults.link?.reorder ?? 0) > 0,
  'no disk latency': (faults.writeLatency ?? 0) > 0,
  'no disk rollbacks': typeof faults.rollbacks === 'number' ? faults.rollbacks > 0 : (faults.rollbacks?.length ?? 0) > 0,
  'no lost log tails': typeof faults.tailLosses === 'number' ? faults.tailLosses > 0 : (faults.tailLosses?.length ?? 0) > 0,
})
/** `faults` without the one a step names. */
const without = (faults: SimFaults, step: string): SimFaults => {
  if (step === 'no partitions') return { ...faults, partitions: [] }
  if (step === 'no crashes') return { ...faults, crashes: 0 }
  if (step === 'no clock skew') return { ...faults, skew: 0 }
  if (step === 'no disk latency') return { ...faults, writeLatency: 0 }
  if (step === 'no disk rollbacks') return { ...faults, rollbacks: 0 }
  if (step === 'no lost log tails') return { ...faults, tailLosses: 0 }
  return { ...faults, link: { ...faults.link, loss: 0, duplicate: 0, reorder: 0 } }
}

/**
 * Shrinks a failing {@link simulate} run to the fewest nodes, writes and faults that still fail
 * the same way (a crashing write, a divergence, or another error), keeping its seed: the
 * fewest nodes that fail (sizes tried smallest first), then the fewest writes, then without
 * partitions, crashes, clock skew, link faults, disk latency, disk rollbacks and lost log tails one at a time, in passes while
 * a pass shrinks something. Each
 * candidate is one full `simulate` run, so the search is bounded by `maxRuns`. Deterministic:
 * the same options give the same result.
 *
 * Returns null when the run does not fail. Paste `result.options` into a regression test.
 * A candidate the options cannot express (a partition naming a node that is gone) is skipped.
 *
 * @example
 * ```ts
 * const shrunk = await shrinkSimulation({ seed: 7, nodes: 16, ops: 400, objects, faults })
 * if (shrunk) console.log(shrunk.steps, shrunk.options.nodes, shrunk.report.divergence)
 * ```
 */
export async function shrinkSimulation(options: SimulateOptions, shrink: ShrinkOptions = {}): Promise<ShrinkResult | null> {
  const maxRuns = shrink.maxRuns ?? 60
  if (!Number.isInteger(maxRuns) || maxRuns < 1) throw new RangeError('maxRuns is a positive integer')
  const original = await simulate(options)
  const kind = failure(original)
  if (kind === null) return null
  let best = options
  let report = original
  let runs = 1
  const steps: string[] = []
  const attempt = async (candidate: SimulateOptions, step: string): Promise<boolean> => {
    if (runs >= maxRuns) return false
    runs++
    let r: SimReport
    try {
      r = await simulate(candidate)
    } catch {
      return false
    }
    if (failure(r) !== kind) return false
    best = candidate
    report = r
    steps.push(step)
    return true
  }
  // Passes of: fewer nodes, fewer writes (sizes on a ladder, smallest first), then without
  // each fault. A smaller run draws another plan from the same
  // seed, so a step that failed may succeed after another one: repeat while a pass shrinks.
  for (let pass = 0; pass < 8 && runs < maxRuns; pass++) {
    const before = steps.length
    // Smallest first: a small run is cheap, and the first size that fails is kept.
    for (const k of ladder(2, best.nodes - 1)) if (await attempt({ ...best, nodes: k }, `nodes ${best.nodes} -> ${k}`)) break
    for (const c of ladder(1, opCount(best) - 1)) if (await attempt(withOps(best, c), `ops ${opCount(best)} -> ${c}`)) break
    // Without each fault in turn (only those present).
    for (const [step, on] of Object.entries(present(best.faults ?? {}))) {
      if (on) await attempt({ ...best, faults: without(best.faults ?? {}, step) }, step)
    }
    if (steps.length === before) break
  }
  return { options: best, report, original, runs, steps }
}
