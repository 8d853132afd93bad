// Profiles parsing the encoded B4 document, cold as the first load in a process is. The state
// is cached in $TMPDIR so the profile holds only the load:
//   node --cpu-prof --conditions=source --import tsx bench/seq-load-profile.ts
// HEARSAY_TRACE=<file.json.gz> profiles another trace (cached under its own name).
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Text } from '@hearsay/seq'
import { loadTrace, TRACE_PATH } from './seq-trace.ts'

const cache = join(tmpdir(), TRACE_PATH.endsWith('automerge-paper.json.gz') ? 'hearsay-b4.state' : `hearsay-${TRACE_PATH.replace(/.*\//, '').replace(/\.json\.gz$/, '')}.state`)
let state: Uint8Array | undefined = existsSync(cache) ? readFileSync(cache) : undefined
if (state === undefined) {
  const trace = loadTrace()
  if (trace !== undefined) {
    const doc = new Text({ id: 'author' })
    for (const [pos, del, ins] of trace.patches) {
      if (del > 0) doc.delete(pos, del)
      if (ins.length > 0) doc.insert(pos, ins)
    }
    state = doc.encodeState()
    writeFileSync(cache, state)
    console.log(`state cached in ${cache}; run again to profile the load alone`)
  }
}
if (state !== undefined) {
  for (let i = 0; i < (Number(process.env['ROUNDS']) || 5); i++) {
    const t0 = performance.now()
    const c0 = process.cpuUsage()
    const loaded = new Text({ id: 'reader' })
    loaded.applyState(state)
    console.log(`load ${(performance.now() - t0).toFixed(1)} ms (cpu ${(process.cpuUsage(c0).user / 1000).toFixed(1)} ms)`)
  }
}
