// Loads the B4 editing trace (automerge-paper) from $HEARSAY_TRACE or /work/shared/data.
// The trace is never copied into the repository.
import { existsSync, readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'

/** One edit: at `pos` delete `del` characters, then insert `ins`. */
export type Patch = [pos: number, del: number, ins: string]

export interface Trace {
  startContent: string
  endContent: string
  patches: Patch[]
}

export const TRACE_PATH = process.env['HEARSAY_TRACE'] ?? '/work/shared/data/automerge-paper.json.gz'

/** The trace, or undefined (with a message) when the file is absent. */
export function loadTrace(path = TRACE_PATH): Trace | undefined {
  if (!existsSync(path)) {
    console.log(`B4 trace not found at ${path} (set HEARSAY_TRACE); skipping the B4 benchmarks`)
    return undefined
  }
  const raw = JSON.parse(gunzipSync(readFileSync(path)).toString('utf8')) as {
    startContent: string
    endContent: string
    txns: Array<{ patches: Patch[] }>
  }
  const patches: Patch[] = []
  for (const t of raw.txns) for (const p of t.patches) patches.push(p)
  return { startContent: raw.startContent, endContent: raw.endContent, patches }
}
