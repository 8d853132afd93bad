// The notes page: an LWWMap of notes (id → { text, done }) that persists in IndexedDB, syncs
// with the server over WebSocket (the stream protocol of createStream(), as a ReplicaLink), and
// with other tabs of this origin over a BroadcastChannel, with no server. It keeps working
// offline: edits land in IndexedDB and in the other tabs, and merge when the server is back.
// Built for the browser by server.ts (esbuild); URL parameters: ?server=ws://...&db=name.
import { linkConnection, restoreReplica, type ReplicaLink, type Connection, type Range, type Value } from '@hearsay/core'
import { LWWMap, type LWWMapOp } from '@hearsay/model'
import { IndexedDBStore, WebSocketTransport } from '@hearsay/adapters/web'

const params = new URLSearchParams(location.search)
const serverUrl = params.get('server') ?? `ws://${location.hostname}:${Number(location.port) + 1}/sync`
const OBJECT = 'notes'

type Note = { text: string; done: boolean }
const list = document.getElementById('notes')!
const statusLine = document.getElementById('status')!
const input = document.getElementById('new') as HTMLInputElement
const notes = new LWWMap<Value>()
const store = new IndexedDBStore(params.get('db') ?? 'hearsay-notes')
const state = { server: 'offline' as 'offline' | 'connecting' | 'syncing' | 'in sync', tabs: new Set<string>(), stored: 0, restored: 0 }

// 1. Restore what this page kept in IndexedDB, then keep every change there.
await store.open()
await restoreReplica(store, OBJECT, notes)
state.restored = notes.size
let saving = Promise.resolve()
notes.on('ranges', (ranges: Range<LWWMapOp>[], origin: unknown) => {
  if (origin === 'store') return
  const data = notes.encodeRanges(ranges)
  saving = saving.then(() => store.append([{ objectId: OBJECT, typeId: notes.typeId, data }])).then(() => void state.stored++)
  if (origin !== 'tab') tabs.postMessage({ from: notes.id, ranges: data })
  render()
})

// 2. Other tabs: every change is broadcast; a new tab asks for the others' state.
const tabs = new BroadcastChannel('hearsay-notes')
tabs.onmessage = (e: MessageEvent) => {
  const m = e.data as { from: string; ranges?: Uint8Array; state?: Uint8Array; hello?: boolean }
  state.tabs.add(m.from)
  if (m.hello) tabs.postMessage({ from: notes.id, state: notes.encodeState() })
  // A state applies with origin 'state': what it brought is saved and passed on like a local change.
  if (m.state) notes.applyState(m.state)
  if (m.ranges) notes.applyRanges(notes.decodeRanges(m.ranges), 'tab')
  render()
}
tabs.postMessage({ from: notes.id, hello: true })

// 3. The server: one link per connection; reconnect while the page lives.
const ws = new WebSocketTransport({ connectTimeout: 3000 })
let link: ReplicaLink<LWWMapOp> | undefined
async function connect(): Promise<void> {
  state.server = 'connecting'
  render()
  let conn: Connection
  try {
    conn = await ws.connect(serverUrl)
  } catch {
    state.server = 'offline'
    render()
    setTimeout(connect, 500)
    return
  }
  state.server = 'syncing'
  const l = linkConnection(notes, conn)
  link = l
  l.on('sync', () => {
    state.server = 'in sync'
    render()
  })
  conn.on('close', () => {
    link = undefined
    state.server = 'offline'
    render()
    setTimeout(connect, 500)
  })
  render()
}
void connect()

// 4. The page.
document.getElementById('form')!.addEventListener('submit', (e) => {
  e.preventDefault()
  const text = input.value.trim()
  if (text === '') return
  notes.set(`${Date.now().toString(36)}-${notes.id}`, { text, done: false })
  input.value = ''
})

function render(): void {
  const on = state.server === 'in sync'
  statusLine.innerHTML =
    `replica <code>${notes.id}</code> · server: <b class="${on ? 'on' : 'off'}">${state.server}</b>` +
    ` · other tabs seen: ${state.tabs.size} · waiting updates: ${notes.pendingCount}` +
    ` · saved batches: ${state.stored} · restored notes: ${state.restored} · sources: ${notes.clock.size}`
  const items = Object.entries(notes.toJSON() as Record<string, Note>).sort(([a], [b]) => (a < b ? -1 : 1))
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
render()

/** For tests and the console: the replica, the link state and a way to wait for saves. */
;(globalThis as unknown as { hearsay: unknown }).hearsay = { notes, state, saved: () => saving, linked: () => link?.synced === true }
