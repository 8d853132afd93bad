// Serves the notes page (examples/web) and runs the `hearsay peer` daemon it syncs with:
// `npm run web`. HTTP on 127.0.0.1:PORT (default 8080, or $PORT) serves index.html and app.js
// (app.ts bundled for the browser with esbuild at start-up: the page runs its own gossip Node).
// The daemon is a real `hearsay peer` child process listening on ws://127.0.0.1:PORT+1, with
// its data in examples/web/.data (or $DATA) and the network key $HEARSAY_KEY (default
// `hearsay-notes-demo`). With $PEER=ws://... no daemon is started: the page syncs with that one.
import { createServer, type Server } from 'node:http'
import { readFileSync } from 'node:fs'
import { spawn } from 'node:child_process'
import { build } from 'esbuild'

const here = new URL('.', import.meta.url).pathname
const cliMain = new URL('../../packages/cli/src/main.ts', import.meta.url).pathname

/** A running page server. */
export interface WebServer {
  /** `http://127.0.0.1:<port>/`. */
  readonly url: string
  /** The page's address for a daemon and network key; `db` names the tab's IndexedDB database. */
  pageUrl(options: { peer: string; key: string; db?: string }): string
  close(): Promise<void>
}

/** Bundles the page and serves it on 127.0.0.1; port 0 (the default) picks a free one. */
export async function startWebServer(options: { port?: number } = {}): Promise<WebServer> {
  const bundle = await build({ entryPoints: [here + 'app.ts'], bundle: true, platform: 'browser', format: 'esm', target: 'es2022', conditions: ['source'], write: false, logLevel: 'silent' })
  const app = bundle.outputFiles[0]!.text
  const html = readFileSync(here + 'index.html', 'utf8')
  const http: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (path === '/' || path === '/index.html') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html)
    else if (path === '/app.js') res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(app)
    else res.writeHead(404).end('not found')
  })
  await new Promise<void>((resolve) => http.listen(options.port ?? 0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(http.address() as { port: number }).port}/`
  return {
    url,
    pageUrl: ({ peer, key, db }) => `${url}?peer=${encodeURIComponent(peer)}${db === undefined ? '' : `&db=${encodeURIComponent(db)}`}#key=${encodeURIComponent(key)}`,
    close: () => new Promise<void>((resolve) => http.close(() => resolve())),
  }
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const port = Number(process.env['PORT'] ?? 8080)
  const key = process.env['HEARSAY_KEY'] ?? 'hearsay-notes-demo'
  const data = process.env['DATA'] ?? here + '.data'
  let peer = process.env['PEER']
  let daemon: ReturnType<typeof spawn> | undefined
  if (peer === undefined) {
    peer = `ws://127.0.0.1:${port + 1}`
    // The key goes by environment, not argv, so `ps` does not show it.
    daemon = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', cliMain, 'peer', '--data', data, '--listen', peer, '--status-every', '30s'], { env: { ...process.env, HEARSAY_KEY: key }, stdio: ['ignore', 'pipe', 'pipe'] })
    for (const out of [daemon.stdout!, daemon.stderr!]) out.setEncoding('utf8').on('data', (c: string) => process.stdout.write(c.replace(/^(?=.)/gm, 'daemon: ')))
    daemon.on('close', (code) => {
      console.log(`the daemon exited (${code}); the page keeps working offline`)
      daemon = undefined
    })
  }
  const s = await startWebServer({ port })
  console.log(`hearsay notes: open ${s.pageUrl({ peer, key })} (in two tabs); Ctrl-C stops`)
  if (daemon !== undefined) console.log(`the daemon: hearsay peer --data ${data} --listen ${peer}; try: npx hearsay put --data ${data} notes hello '{"text":"from the daemon","done":false}'`)
  // Ctrl-C or SIGTERM: the daemon stops cleanly (it flushes and closes its store) before we exit.
  const stop = (): void => {
    void s.close()
    if (daemon === undefined) process.exit(0)
    daemon.once('close', () => process.exit(0))
    daemon.kill('SIGTERM')
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}
