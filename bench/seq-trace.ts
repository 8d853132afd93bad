// Loads an editing trace in the josephg/editing-traces format: by default the B4 trace
// (automerge-paper) from $HEARSAY_TRACE or /work/shared/data. Traces are never copied into the
// repository.
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

/**
 * The trace with positions and delete counts in UTF-16 code units (the files count unicode code
 * points; they differ only when the text holds characters outside the BMP), or undefined (with a
 * message) when the file is absent.
 */
export function loadTrace(path = TRACE_PATH): Trace | undefined {
  if (!existsSync(path)) {
    if (path === TRACE_PATH) console.log(`B4 trace not found at ${path} (set HEARSAY_TRACE); skipping the B4 benchmarks`)
    else console.log(`trace not found at ${path}; skipped`)
    return undefined
  }
  const raw = JSON.parse(gunzipSync(readFileSync(path)).toString('utf8')) as {
    startContent: string
    endContent: string
    txns: Array<{ patches: Patch[] }>
  }
  const patches: Patch[] = []
  for (const t of raw.txns) for (const p of t.patches) patches.push(p)
  const astral = /[\uD800-\uDFFF]/
  if (astral.test(raw.startContent) || patches.some((p) => astral.test(p[2]))) toUtf16(raw.startContent, patches)
  return { startContent: raw.startContent, endContent: raw.endContent, patches }
}

// Rewrites code point positions and counts as UTF-16 ones by replaying the trace on an array of
// code points (slow, but only for traces with characters outside the BMP).
function toUtf16(start: string, patches: Patch[]): void {
  const doc = Array.from(start)
  for (const p of patches) {
    const [pos, del, ins] = p
    let at = 0
    for (let i = 0; i < pos; i++) at += doc[i]!.length
    let n = 0
    for (let i = pos; i < pos + del; i++) n += doc[i]!.length
    doc.splice(pos, del, ...Array.from(ins))
    p[0] = at
    p[1] = n
  }
}
