// The B4 sync bench's shared part, run both in headless Chromium (bundled by
// bench/browser-b4.bench.ts) and in Node: a holder replays the B4 trace into a Text and listens
// on a BroadcastChannel; a fresh, empty Text connects and is timed from connect() until its
// link reports `sync` (every range of the holder applied), then checked against the trace's
// end content.
import { linkConnection, type Connection } from '@hearsay/core'
import { Text } from '@hearsay/seq'
import { BroadcastChannelTransport } from '@hearsay/adapters/web'

/** One edit: at `pos` delete `del` characters, then insert `ins`. */
export type Patch = [pos: number, del: number, ins: string]

/** What one timed sync reports. */
export interface SyncResult {
  ms: number
  /** Bytes of frames the empty replica received. */
  bytes: number
  ok: boolean
}

/** Replays the trace into a Text and serves it on `bc://<name>`; returns a closer. */
export async function hold(name: string, patches: readonly Patch[], endContent: string): Promise<() => Promise<void>> {
  const text = new Text()
  for (const [pos, del, ins] of patches) {
    if (del > 0) text.delete(pos, del)
    if (ins !== '') text.insert(pos, ins)
  }
  if (text.toString() !== endContent) throw new Error('the replayed trace does not give its end content')
  const transport = new BroadcastChannelTransport()
  const conns: Connection[] = []
  const listener = await transport.listen(`bc://${name}`, (conn) => {
    conns.push(conn)
    linkConnection(text, conn)
  })
  return async () => {
    await listener.close()
    for (const c of conns) c.close()
  }
}

/** Connects an empty Text to `bc://<name>` and times it until synced. */
export async function sync(name: string, endContent: string, timeoutMs = 60_000): Promise<SyncResult> {
  const transport = new BroadcastChannelTransport({ connectTimeout: 10_000 })
  const text = new Text()
  const t0 = performance.now()
  const conn = await transport.connect(`bc://${name}`)
  let bytes = 0
  conn.on('frame', (f) => (bytes += f.length))
  const link = linkConnection(text, conn)
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not synced within ${timeoutMs} ms`)), timeoutMs)
    link.on('sync', () => {
      clearTimeout(timer)
      resolve()
    })
  })
  const ms = performance.now() - t0
  const ok = text.toString() === endContent
  conn.close()
  return { ms, bytes, ok }
}
