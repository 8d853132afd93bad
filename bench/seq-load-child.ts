// Load (parse) times of encoded documents, measured in a fresh process: run by seq.bench.ts (or
// by hand) as
//   node --expose-gc --min-semi-space-size=16 --conditions=source --import tsx \
//     bench/seq-load-child.ts <rounds> <expected-text-file> <impl>=<state-file> ...
// it loads every implementation's state in interleaved rounds and prints, as JSON, each one's
// wall and CPU times per round ({ times, cpus, failed }).
//
// Why a fresh process: in the bench's own process a load paid (or profited) for what ran before
// it, differently for each implementation. The wasm engines' replays leave major collections
// due, which landed on whichever load came next (the late traces' loads were mostly GC). And the
// replays leave their type feedback in the code an implementation's editing shares with its
// loading: Yjs integrates items the same way in both, so its replays warm its load up, while
// hearsay's editing makes shared code more generic. Measured on sveltecomponent, hearsay and Yjs
// only, three runs each: 2.3-2.6 ms against Yjs's 2.5-2.6 ms after the replays, 2.2-2.3 ms
// against 2.5-2.8 ms here. Here every implementation starts from the same clean heap and does
// nothing but load, as an application opening a document does.
import { readFileSync } from 'node:fs'
import { textImpls } from './seq-peers.ts'

const [roundsArg, textFile, ...pairs] = process.argv.slice(2)
if (roundsArg === undefined || textFile === undefined || pairs.length === 0) {
  console.error('usage: seq-load-child.ts <rounds> <expected-text-file> <impl>=<state-file> ...')
  process.exit(2)
}
const rounds = Number(roundsArg)
const expected = readFileSync(textFile, 'utf8')
const impls = pairs.map((p) => {
  const eq = p.indexOf('=')
  const name = p.slice(0, eq)
  const impl = textImpls.find((f) => f.name === name)
  if (impl === undefined) throw new Error(`no implementation ${name}`)
  return { impl, state: new Uint8Array(readFileSync(p.slice(eq + 1))) }
})
const gc = (globalThis as { gc?: (options?: { type: 'minor' | 'major' }) => void }).gc
const times: Record<string, number[]> = {}
const cpus: Record<string, number[]> = {}
const failed: Record<string, string> = {}
for (const { impl } of impls) {
  times[impl.name] = []
  cpus[impl.name] = []
}
// Each round starts with the next implementation: a collection one load leaves due then lands
// on each in turn, not always on the one that follows it.
for (let r = 0; r < rounds; r++) {
  for (let k = 0; k < impls.length; k++) {
    const { impl, state } = impls[(r + k) % impls.length]!
    if (failed[impl.name] !== undefined) continue
    // A minor GC (scavenge) first, so every load starts with an empty young generation and pays
    // for the collections its own allocation causes. Without it, interleaved loads phase-lock
    // with the scavenges: the same implementation pays a ~3-4 ms scavenge on every round and
    // another never does, which flips from one run to the next. (A full GC instead makes every
    // parser, Yjs too, several times slower on this machine.)
    gc?.({ type: 'minor' })
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    try {
      const doc = impl.load(state)
      if (doc.value() !== expected) throw new Error(`${impl.name} loaded a different text`)
    } catch (err) {
      failed[impl.name] = (err as Error).message
      continue
    }
    times[impl.name]!.push(performance.now() - t0)
    const d = process.cpuUsage(c0)
    cpus[impl.name]!.push((d.user + d.system) / 1000)
  }
}
console.log(JSON.stringify({ times, cpus, failed }))
