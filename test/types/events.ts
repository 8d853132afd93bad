// Type-level test of the typed event maps: `npm run lint` type-checks this file through tsconfig.test.json (it never runs).
// Every `@ts-expect-error` line must fail to compile; if one compiles, tsc reports the directive
// as unused and lint fails. The lines without the directive must compile.
import { Emitter, LOCAL_ORIGIN, MemoryConnection, type Connection, type HearsayError, type Update } from '@hearsay/core'
import { Doc, LWWMap, PNCounter, type Row } from '@hearsay/model'
import { Text, type Delta } from '@hearsay/seq'
import { Membership, Node, type Member } from '@hearsay/gossip'

const map = new LWWMap<number>({ id: 'a' })
map.on('change', (key, value) => {
  const k: string = key
  const v: number | undefined = value
  void k, v
})
map.on('change:apples', (value) => {
  const v: number | undefined = value
  void v
})
map.on('update', (update, origin) => {
  const u: Update<unknown> = update
  void u, origin
})
map.on('rejected', (err) => {
  const e: HearsayError = err
  void e
})
// @ts-expect-error a misspelled event name does not compile
map.on('chnage', () => {})
// @ts-expect-error a listener with the wrong argument types does not compile
map.on('change', (key: number) => void key)
// @ts-expect-error the value of an LWWMap<number> is not a string
map.on('change', (_key: string, value: string) => void value)
// @ts-expect-error emit checks the arguments too
map.emit('change', 'apples')
map.emit('update', { source: map.id, seq: 1, time: 0, op: { key: 'k', value: 1 } } as never, LOCAL_ORIGIN)

const counter = new PNCounter({ id: 'c' })
counter.once('change', (value) => {
  const n: number = value
  void n
})
// @ts-expect-error PNCounter has no `add` event
counter.on('add', () => {})

const text = new Text({ id: 't' })
text.on('change', (delta) => {
  const d: Delta<string> = delta
  void d
})
// @ts-expect-error a Text delta is not a number
text.on('change', (delta: number) => void delta)

const doc = new Doc({ id: 'd' })
doc.on('row_update', (row, changed) => {
  const r: Row = row
  r.on('removed', () => {})
  // @ts-expect-error a row has no `row_update` event
  r.on('row_update', () => {})
  void changed
})
doc.createSeq('list', 'todo').on('move', (row) => void row.id)
// @ts-expect-error a RowSet (not a Seq) has no `move` event
doc.createSet('list', 'todo').on('move', () => {})

const members = new Membership({ id: 'm' })
members.on('change', (m) => {
  const member: Member = m
  void member
})

declare const node: Node
node.on('peer-connected', (peerId, address) => {
  const s: string = peerId + address
  void s
})
node.on('sync', (_peerId, inSync) => {
  const b: boolean = inSync
  void b
})
// @ts-expect-error misspelled node event
node.on('peer-conected', () => {})
// @ts-expect-error `peer-error` hands a HearsayError first, not a string
node.on('peer-error', (err: string) => void err)

declare const conn: Connection
conn.on('frame', (frame) => {
  const f: Uint8Array = frame
  void f
})
conn.on('drain', () => {})
// @ts-expect-error a connection has no `data` event
conn.on('data', () => {})
// @ts-expect-error a consumer of a Connection cannot emit on it
conn.emit('frame', new Uint8Array())
const [x] = MemoryConnection.pair('a', 'b', { maxFrame: 1, maxSendBuffer: 1 }, { maxFrame: 1, maxSendBuffer: 1 })
x.off('close', () => {})

interface Mine {
  tick: (n: number) => void
}
const mine = new Emitter<Mine>()
mine.on('tick', (n) => void (n + 1))
// @ts-expect-error an event map's names are all there is
mine.listenerCount('tock')
