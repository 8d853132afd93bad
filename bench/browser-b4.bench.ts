// Sync time of the B4 text (the automerge-paper trace, 260k edits) from one replica to a fresh
// one, in headless Chromium (two pages of one origin, over BroadcastChannelTransport) and in
// Node (two replicas in one process, over Node's own BroadcastChannel), with the same code
// (bench/browser/b4-sync.ts). Time runs from connect() until the fresh replica's link reports
// `sync`; building the holder's document is not timed. `bytes` is what the fresh replica received.
// Needs the trace (/work/shared/data or $HEARSAY_TRACE) and Debian's chromium; says so and skips
// what it cannot run.
// Run: node --conditions=source --import tsx bench/index.ts browser-b4
import { createServer } from 'node:http'
import { build } from 'esbuild'
import { group } from './harness.ts'
import { loadTrace } from './seq-trace.ts'
import { hold, sync } from './browser/b4-sync.ts'
import { chromiumPath, launchChromium } from '../test/chromium.ts'

const root = new URL('..', import.meta.url).pathname

export async function run(): Promise<void> {
  const trace = loadTrace()
  if (trace === undefined) return
  if (trace.startContent !== '') throw new Error('the B4 bench expects a trace that starts empty')
  const g = group('B4 text: sync to a fresh replica over BroadcastChannel (Chromium pages vs Node)', 'hearsay, Chromium')
  if (chromiumPath === undefined) console.log('no Chromium installed (apt-get install chromium): the Chromium row is skipped')
  else await chromiumRow(g, trace.patches, trace.endContent)
  const close = await hold('b4-node', trace.patches, trace.endContent)
  await g.add('hearsay, Node', async () => {
    const r = await sync('b4-node', trace.endContent)
    if (!r.ok) throw new Error('the Node replica did not end with the trace content')
    return { bytes: r.bytes }
  })
  await close()
  g.print()
}

async function chromiumRow(g: ReturnType<typeof group>, patches: unknown, endContent: string): Promise<void> {
  const bundle = await build({
    entryPoints: [root + 'bench/browser/b4-page.ts'],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    conditions: ['source'],
    minify: true,
    write: false,
    logLevel: 'silent',
    absWorkingDir: root,
  })
  const js = bundle.outputFiles[0]!.text
  const traceJson = JSON.stringify({ patches, endContent })
  const http = createServer((req, res) => {
    const url = req.url ?? ''
    if (url.startsWith('/page.js')) res.writeHead(200, { 'content-type': 'text/javascript' }).end(js)
    else if (url.startsWith('/trace.json')) res.writeHead(200, { 'content-type': 'application/json' }).end(traceJson)
    else res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script type="module" src="/page.js"></script>')
  })
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r))
  const base = `http://127.0.0.1:${(http.address() as { port: number }).port}/`
  const chromium = await launchChromium()
  try {
    const [holder, fresh] = [await chromium.context.newPage(), await chromium.context.newPage()]
    for (const [page, role] of [[holder, 'hold'], [fresh, 'sync']] as const) {
      await page.goto(`${base}?role=${role}`)
      await page.waitForFunction(() => 'ready' in globalThis || 'failed' in globalThis, undefined, { timeout: 60_000 })
      const failed = await page.evaluate(() => (globalThis as { failed?: string }).failed)
      if (failed !== undefined) throw new Error(`the ${role} page failed: ${failed}`)
    }
    await g.add('hearsay, Chromium', async () => {
      const t0 = performance.now()
      const r = (await fresh.evaluate(() => (globalThis as unknown as { run(): Promise<unknown> }).run())) as { ms: number; bytes: number; ok: boolean }
      const wall = performance.now() - t0
      if (!r.ok) throw new Error('the Chromium page did not end with the trace content')
      // The time measured in the page; the evaluate round trip is left out.
      return { bytes: r.bytes, untimedMs: wall - r.ms }
    })
  } finally {
    await chromium.close()
    http.close()
  }
}
