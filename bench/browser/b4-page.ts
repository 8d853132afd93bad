// The page of the B4 sync bench (bench/browser-b4.bench.ts bundles it for Chromium).
// ?role=hold replays the trace from /trace.json and serves it (sets globalThis.ready);
// ?role=sync exposes globalThis.run(), one timed sync of an empty Text from the holder.
import { hold, sync, type Patch } from './b4-sync.ts'

const g = globalThis as unknown as { location: { search: string }; ready?: boolean; run?: () => Promise<unknown>; failed?: string }
const role = new URLSearchParams(g.location.search).get('role')
const trace = (await (await fetch('/trace.json')).json()) as { patches: Patch[]; endContent: string }
try {
  if (role === 'hold') {
    await hold('b4', trace.patches, trace.endContent)
    g.ready = true
  } else {
    g.run = () => sync('b4', trace.endContent)
    g.ready = true
  }
} catch (err) {
  g.failed = String(err)
}
