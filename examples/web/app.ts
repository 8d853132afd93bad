// The notes page: a gossip Node from @hearsay/gossip running in the browser, with an LWWMap of
// notes (id → { text, done }) as its object `notes`. The node keeps its objects, its node id
// and its static key in IndexedDB (IndexedDBStore), runs the Noise handshake in the page, and
// syncs with a `hearsay peer` daemon over the browser's WebSocket (WebSocketTransport) and
// with the other tabs of this origin over BroadcastChannel, with no server. It keeps working
// offline: edits land in IndexedDB and in the other tabs, and merge when the daemon is back.
// Built for the browser by server.ts (esbuild). URL: ?peer=ws://127.0.0.1:7001&db=name, and
// the network key in the fragment (#key=...), which the browser never sends to a server.
import type { HearsayError, Value } from '@hearsay/core'
import { Node } from '@hearsay/gossip'
import { LWWMap } from '@hearsay/model'
import { BroadcastChannelTransport, IndexedDBStore, WebSocketTransport } from '@hearsay/adapters/web'

const params = new URLSearchParams(location.search)
const peerUrl = params.get('peer') ?? `ws://${location.hostname}:${Number(location.port) + 1}`
const networkKey = new URLSearchParams(location.hash.slice(1)).get('key') ?? ''
const OBJECT = 'notes'

type Note = { text: string; done: boolean }
type PeerState = 'offline' | 'connecting' | 'connected' | 'in sync' | 'refused: wrong network key'
const list = document.getElementById('notes')!
const statusLine = document.getElementById('status')!
const input = document.getElementById('new') as HTMLInputElement
const state = { db: '', daemon: 'offline' as PeerState, daemonId: undefined as string | undefined, authErrors: 0, tabs: new Set<string>(), restored: 0 }

/**
 * One IndexedDB database per open tab: a node id must never write from two tabs at once (their
 * updates would reuse sequence numbers), so a tab holds a Web Lock on its database for its
 * lifetime, and a second tab of the same origin takes the next free name (`notes-2`, ...).
 */
async function claimDatabase(base: string): Promise<string> {
  for (let i = 1; i <= 32; i++) {
    const name = i === 1 ? base : `${base}-${i}`
    const got = await new Promise<boolean>((resolve) => {
      void navigator.locks.request(`hearsay-db:${name}`, { ifAvailable: true }, (lock) => {
        resolve(lock !== null)
        // Held until the page goes away.
        return lock === null ? undefined : new Promise<void>(() => {})
      })
    })
    if (got) return name
  }
  throw new Error('more than 32 tabs of this page are open')
}

// 1. The node: its store (objects, node id, static key) is this tab's IndexedDB database.
state.db = await claimDatabase(params.get('db') ?? 'hearsay-notes')
const ws = new WebSocketTransport({ connectTimeout: 3000 })
const tabsTransport = new BroadcastChannelTransport()
const node = new Node({ networkKey, store: new IndexedDBStore(state.db), transports: [ws, tabsTransport], interval: 500, backoff: 250, maxBackoff: 2000 })
const notes = (await node.open(OBJECT, LWWMap)) as LWWMap<Value>
state.restored = notes.size

// 2. The daemon: kept connected (the node redials with backoff while the page lives).
node.on('peer-connected', (peer, address) => {
  // A dialed connection's remote address is the URL dialed.
  if (address === peerUrl) {
    state.daemonId = peer
    state.daemon = 'connected'
  } else if (address.startsWith('bc://')) state.tabs.add(peer)
  render()
})
node.on('peer-disconnected', (peer) => {
  if (peer === state.daemonId) state.daemon = 'connecting'
  state.tabs.delete(peer)
  render()
})
node.on('sync', (peer, inSync) => {
  if (peer === state.daemonId) state.daemon = inSync ? 'in sync' : 'connected'
  render()
})
const authFailed = (e: unknown): boolean => (e as HearsayError | undefined)?.code === 'HEARSAY_AUTH_FAILED'
node.on('peer-error', (e) => {
  if (!authFailed(e)) return
  state.authErrors++
  state.daemon = 'refused: wrong network key'
  render()
})
state.daemon = 'connecting'
node.connect(peerUrl).then(
  () => render(),
  (e: unknown) => {
    if (authFailed(e)) {
      state.authErrors++
      state.daemon = 'refused: wrong network key'
    }
    render()
  },
)

// 3. Other tabs: each listens on bc://hearsay-notes/<node id> and says so on a channel; the
// tab with the smaller id dials. Tabs also learn each other's addresses through the membership.
const myTab = `bc://hearsay-notes/${node.id}`
await node.listen(myTab)
const hello = new BroadcastChannel('hearsay-notes-tabs')
hello.onmessage = (e: MessageEvent) => {
  const m = e.data as { hello?: string; here?: string; bye?: string }
  const other = m.hello ?? m.here
  if (typeof other === 'string' && other !== myTab) {
    if (m.hello !== undefined) hello.postMessage({ here: myTab })
    if (myTab < other) node.connect(other).catch(() => {})
  }
  if (typeof m.bye === 'string') node.disconnect(m.bye)
}
hello.postMessage({ hello: myTab })
addEventListener('pagehide', () => hello.postMessage({ bye: myTab }))

// 4. The page.
notes.on('change', () => render())
document.getElementById('form')!.addEventListener('submit', (e) => {
  e.preventDefault()
  const text = input.value.trim()
  if (text === '') return
  notes.set(`${Date.now().toString(36)}-${node.id}`, { text, done: false })
  input.value = ''
})

function render(): void {
  const s = node.status()
  const on = state.daemon === 'in sync' || state.daemon === 'connected'
  statusLine.innerHTML =
    `node <code>${node.id.slice(0, 12)}…</code> (database <code>${state.db}</code>) · daemon <code>${peerUrl}</code>: <b class="${on ? 'on' : 'off'}">${state.daemon}</b>` +
    ` · other tabs connected: ${state.tabs.size} · updates waiting: ${s.pendingUpdates} in causal order, ${s.pendingStore} for IndexedDB, ${s.pendingSend} bytes to send` +
    ` · restored notes: ${state.restored} · sources: ${notes.clock.size}`
  // A note is { text, done }; any other value (`hearsay put notes k 12`) shows as its JSON.
  const asNote = (v: unknown): Note => (typeof v === 'object' && v !== null && typeof (v as Note).text === 'string' ? (v as Note) : { text: JSON.stringify(v), done: false })
  const items = Object.entries(notes.toJSON() as Record<string, unknown>).map(([k, v]) => [k, asNote(v)] as const).sort(([a], [b]) => (a < b ? -1 : 1))
  list.replaceChildren(
    ...items.map(([key, n]) => {
      const li = document.createElement('li')
      li.className = n.done ? 'done' : ''
      li.dataset['key'] = key
      const box = document.createElement('input')
      box.type = 'checkbox'
      box.checked = n.done
      box.onchange = () => notes.set(key, { text: n.text, done: box.checked })
      const span = document.createElement('span')
      span.textContent = ' ' + n.text
      li.append(box, span)
      return li
    }),
  )
}
setInterval(render, 500)
render()

/** For tests and the console: the node, the notes, the page's view of its peers, and a way to wait for IndexedDB. */
;(globalThis as unknown as { hearsay: unknown }).hearsay = { node, notes, state, saved: () => node.flush() }
