// Bundle size of a browser app: the bytes a page downloads to replicate a map and a text over
// WebSocket. Each app is bundled with esbuild (platform browser, minified, no polyfills) and
// gzipped (level 9); `bytes` is the minified size, `gzip` the compressed one, `time` the build.
// hearsay: LWWMap + Text + WebSocketTransport (@hearsay/adapters/web) + linkConnection.
// Yjs: Y.Doc + Y.Map + Y.Text + y-websocket's WebsocketProvider + y-indexeddb's persistence
// The first hearsay app persists nothing; the second keeps the map in IndexedDBStore, as the
// Yjs app does with y-indexeddb (browser-level brings abstract-level and the buffer and events
// packages with it).
// Run: node --conditions=source --import tsx bench/index.ts bundle
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import { group } from './harness.ts'

const root = new URL('..', import.meta.url).pathname

const apps: Array<[string, string]> = [
  [
    'hearsay',
    `import { LWWMap } from '@hearsay/model'
import { Text } from '@hearsay/seq'
import { linkConnection } from '@hearsay/core'
import { WebSocketTransport } from '@hearsay/adapters/web'
const map = new LWWMap(), text = new Text()
map.set('title', 'notes'); text.insert(0, 'hello')
const conn = await new WebSocketTransport().connect('ws://127.0.0.1:7001')
linkConnection(map, conn)
console.log(map.toJSON(), text.toString())`,
  ],
  [
    'hearsay + IndexedDBStore',
    `import { LWWMap } from '@hearsay/model'
import { Text } from '@hearsay/seq'
import { linkConnection } from '@hearsay/core'
import { WebSocketTransport, IndexedDBStore } from '@hearsay/adapters/web'
const map = new LWWMap(), text = new Text()
map.set('title', 'notes'); text.insert(0, 'hello')
const store = new IndexedDBStore('notes')
await store.open()
await store.append([{ objectId: 'map', typeId: map.typeId, data: map.encodeState() }])
const conn = await new WebSocketTransport().connect('ws://127.0.0.1:7001')
linkConnection(map, conn)
console.log(map.toJSON(), text.toString())`,
  ],
  [
    'yjs',
    `import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { IndexeddbPersistence } from 'y-indexeddb'
const doc = new Y.Doc()
const map = doc.getMap('map'), text = doc.getText('text')
map.set('title', 'notes'); text.insert(0, 'hello')
new IndexeddbPersistence('notes', doc)
new WebsocketProvider('ws://127.0.0.1:7001', 'notes', doc)
console.log(map.toJSON(), text.toString())`,
  ],
]

export async function run(): Promise<void> {
  const g = group('browser bundle: a map and a text over WebSocket (esbuild, minified)')
  for (const [impl, contents] of apps) {
    await g.add(
      impl,
      async () => {
        const r = await build({
          stdin: { contents, resolveDir: root, loader: 'js' },
          bundle: true,
          platform: 'browser',
          conditions: ['source'],
          format: 'esm',
          target: 'es2022',
          minify: true,
          write: false,
          logLevel: 'silent',
        })
        const code = r.outputFiles[0]!.contents
        return { bytes: code.length, extra: { gzip: gzipSync(code, { level: 9 }).length } }
      },
      1,
    )
  }
  g.print()
}
