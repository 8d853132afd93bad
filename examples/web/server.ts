// Serves the notes page (examples/web) and keeps its replica on the server side: `npm run web`.
// HTTP on 127.0.0.1:PORT (default 8080, or $PORT) serves index.html and app.js (app.ts bundled
// for the browser with esbuild at start-up); a WsTransport on PORT+1 at /sync carries the
// stream protocol (a ReplicaLink per connection) to the server's replica, kept in a LevelStore
// under examples/web/.data (or $DATA). Open the page in two tabs: they sync with each other and
// with the server, and keep working (and syncing between tabs) while the server is down.
import { createServer, type Server } from 'node:http'
import { readFileSync } from 'node:fs'
import { build } from 'esbuild'
import { linkConnection, restoreReplica, type Connection, type Listener, type Range, type Store } from '@hearsay/core'
import { LWWMap, type LWWMapOp } from '@hearsay/model'
import { WsTransport } from '@hearsay/adapters'
import { LevelStore } from '@hearsay/adapters/level'

const here = new URL('.', import.meta.url).pathname

/** A running page server: its URLs, the server's replica, and sync that can go down and come back. */
export interface WebServer {
  readonly url: string
  readonly syncUrl: string
  readonly notes: LWWMap
  /** Closes the WebSocket listener and every link: the page goes offline. */
  stopSync(): Promise<void>
  /** Listens again on the same port. */
  startSync(): Promise<void>
  close(): Promise<void>
}

/** Starts the server; port 0 picks free ports (HTTP on one, sync on any other). */
export async function startWebServer(options: { port?: number; store?: Store } = {}): Promise<WebServer> {
  const bundle = await build({ entryPoints: [here + 'app.ts'], bundle: true, platform: 'browser', format: 'esm', target: 'es2022', conditions: ['source'], write: false, logLevel: 'silent' })
  const app = bundle.outputFiles[0]!.text
  const html = readFileSync(here + 'index.html', 'utf8')
  const store = options.store ?? new LevelStore(process.env['DATA'] ?? here + '.data')
  await store.open()
  const notes = new LWWMap()
  await restoreReplica(store, 'notes', notes)
  notes.on('ranges', (ranges: Range<LWWMapOp>[], origin: unknown) => {
    if (origin !== 'store') void store.append([{ objectId: 'notes', typeId: notes.typeId, data: notes.encodeRanges(ranges) }])
  })

  const http: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (path === '/' || path === '/index.html') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html)
    else if (path === '/app.js') res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(app)
    else res.writeHead(404).end('not found')
  })
  await new Promise<void>((resolve) => http.listen(options.port ?? 0, '127.0.0.1', resolve))
  const httpPort = (http.address() as { port: number }).port

  const ws = new WsTransport()
  const links = new Set<Connection>()
  let listener: Listener | undefined
  let syncPort = options.port ? options.port + 1 : 0
  const accept = (conn: Connection) => {
    links.add(conn)
    linkConnection(notes, conn)
    conn.on('close', () => links.delete(conn))
  }
  const startSync = async () => {
    listener = await ws.listen(`ws://127.0.0.1:${syncPort}/sync`, accept)
    syncPort = Number(new URL(listener.url).port)
  }
  await startSync()
  const stopSync = async () => {
    await listener?.close()
    listener = undefined
  }
  return {
    url: `http://127.0.0.1:${httpPort}/?server=${encodeURIComponent(`ws://127.0.0.1:${syncPort}/sync`)}`,
    syncUrl: `ws://127.0.0.1:${syncPort}/sync`,
    notes,
    stopSync,
    startSync,
    async close() {
      await stopSync()
      await new Promise((r) => http.close(r))
      notes.dispose()
      await store.close()
    },
  }
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const port = Number(process.env['PORT'] ?? 8080)
  const s = await startWebServer({ port })
  console.log(`hearsay notes: open ${s.url} (in two tabs); the server's replica syncs at ${s.syncUrl}; Ctrl-C stops`)
  process.on('SIGINT', () => void s.close().then(() => process.exit(0)))
}
