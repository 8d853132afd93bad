// How fast the law checker catches each broken type of its corpus (packages/core/src/testing/mutants.ts, exported by @hearsay/core/testing),
// over many seeds: the run that caught it (1 = the first of the default 100) and the time to a
// shrunk failure. Run: node --conditions=source --import tsx bench/mutants.ts [seeds=20] [first seed=1]
import { ConvergenceCheckError } from '@hearsay/core/testing'
import { mutants } from '@hearsay/core/testing'

const seeds = Number(process.argv[2] ?? 20)
const first = Number(process.argv[3] ?? 1)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN
console.log(`${seeds} seeds from ${first}, 100 runs each (the default)`)
console.log(`${'mutant'.padEnd(52)} caught  run# median/max  ms median/max`)
for (const m of mutants) {
  const runs: number[] = []
  const times: number[] = []
  let missed = 0
  for (let seed = first; seed < first + seeds; seed++) {
    const t0 = performance.now()
    try {
      await m.run({ seed, numRuns: 100 })
      missed++
    } catch (err) {
      if (!(err instanceof ConvergenceCheckError)) throw err
      runs.push(err.failedAtRun ?? NaN)
      times.push(performance.now() - t0)
    }
  }
  const caught = `${seeds - missed}/${seeds}`
  console.log(`${m.name.padEnd(52)} ${caught.padEnd(7)} ${`${median(runs)}/${Math.max(...runs)}`.padEnd(13)} ${median(times).toFixed(0)}/${Math.max(...times).toFixed(0)}`)
}
