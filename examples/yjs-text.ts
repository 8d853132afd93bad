// A Y.Text edited on two nodes through the Yjs bridge: YDocReplica wraps a Y.Doc, so any Yjs
// type (here Y.Text) replicates over hearsay gossip and persists in a hearsay store. Concurrent
// edits merge the Yjs way; formatting travels too.
// Run: npx tsx --conditions=source examples/yjs-text.ts
import { Node } from '@hearsay/gossip'
import { TcpTransport } from '@hearsay/adapters'
import { YDocReplica } from '@hearsay/adapters/yjs'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const ada = new Node({ id: 'ada', networkKey: 'yjs-demo', transports: [new TcpTransport()], interval: 200 })
const linus = new Node({ id: 'linus', networkKey: 'yjs-demo', transports: [new TcpTransport()], interval: 200 })
const a = await ada.open('essay', YDocReplica)
const l = await linus.open('essay', YDocReplica)
const textA = a.doc.getText('body')
const textL = l.doc.getText('body')
const synced = async () => {
  while (textA.toString() !== textL.toString() || !Buffer.from(a.encodeState()).equals(Buffer.from(l.encodeState()))) await sleep(10)
}
textL.observe(() => console.log(`  linus sees: ${JSON.stringify(textL.toString())}`))

console.log('ada writes a first line, then linus connects:')
textA.insert(0, 'Peers converge.')
await linus.connect(await ada.listen('tcp://127.0.0.1:0'))
await synced()

console.log('both edit at the same moment, at both ends of the text:')
textL.insert(0, 'Gossip spreads updates. ')
textA.insert(textA.length, ' No server needed.')
await synced()

console.log('ada makes the first two words bold:')
textA.format(0, 'Gossip spreads'.length, { bold: true })
await synced()

console.log(`\nada:   ${JSON.stringify(textA.toString())}`)
console.log(`linus: ${JSON.stringify(textL.toString())}`)
console.log(`delta: ${JSON.stringify(textL.toDelta())}`)
const ok = textA.toString() === textL.toString() && JSON.stringify(textA.toDelta()) === JSON.stringify(textL.toDelta())
console.log(ok ? 'both Y.Docs hold the same text' : 'MISMATCH')
await Promise.all([ada.close(), linus.close()])
process.exit(ok ? 0 : 1)
