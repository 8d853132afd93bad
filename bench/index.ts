// Runs every bench/*.bench.ts (or those whose name contains an argument) and writes
// bench/results/latest.json. Run with `npm run bench`: it adds --expose-gc (heap figures) and
// --min-semi-space-size=16, a young generation of fixed size (V8 otherwise resizes it as it
// goes, which made the load medians of one and the same code flip between runs by 50%, depending
// on whether most loads met a scavenge).
import { readdirSync } from 'node:fs'
import { writeResults } from './harness.ts'

const dir = new URL('.', import.meta.url).pathname
const filters = process.argv.slice(2)
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort()
if (!(globalThis as { gc?: unknown }).gc) console.log('(heap figures need node --expose-gc; npm run bench passes it)')
for (const f of files) {
  console.log(`\n# ${f}`)
  const mod = (await import(`${dir}${f}`)) as { run: () => Promise<void> }
  await mod.run()
}
console.log(`\nresults written to ${writeResults()}`)
