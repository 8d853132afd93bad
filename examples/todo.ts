// A shared todo list: a Doc with two live, ordered queries (`todo` and `done`), replicated
// between two nodes over TCP on loopback. Ticking an item off moves its row from one list to
// the other; reordering and concurrent moves converge to the same lists on both nodes.
// Run: npx tsx --conditions=source examples/todo.ts
import { Node } from '@hearsay/gossip'
import { Doc, type Row, type Seq } from '@hearsay/model'
import { TcpTransport } from '@hearsay/adapters'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const inSync = async (a: Doc, b: Doc) => {
  while (!Buffer.from(a.encodeState()).equals(Buffer.from(b.encodeState()))) await sleep(10)
}

// Two nodes; in a real app each runs in its own process or device (see examples/peer.ts).
const alice = new Node({ id: 'alice', networkKey: 'todo-demo', transports: [new TcpTransport()], interval: 200 })
const bob = new Node({ id: 'bob', networkKey: 'todo-demo', transports: [new TcpTransport()], interval: 200 })
await bob.connect(await alice.listen('tcp://127.0.0.1:0'))

function lists(doc: Doc): { todo: Seq; done: Seq } {
  // A row belongs to the list named by its `list` field; setting the field moves it.
  return { todo: doc.createSeq('list', 'todo'), done: doc.createSeq('list', 'done') }
}
const show = (who: string, l: { todo: Seq; done: Seq }) =>
  console.log(`${who.padEnd(5)} todo: ${l.todo.asArray().map((r: Row) => r.get('text')).join(', ') || '-'}  |  done: ${l.done.asArray().map((r: Row) => r.get('text')).join(', ') || '-'}`)

const a = lists(await alice.open('groceries', Doc))
const b = lists(await bob.open('groceries', Doc))
const aDoc = alice.get('groceries') as Doc
const bDoc = bob.get('groceries') as Doc

console.log('alice writes the list:')
a.todo.push({ id: 'milk', text: 'buy milk' })
a.todo.push({ id: 'report', text: 'write the report' })
a.todo.push({ id: 'bank', text: 'call the bank' })
await inSync(aDoc, bDoc)
show('alice', a)
show('bob', b)

console.log('\nat the same moment: bob moves "call the bank" to the top and ticks off "buy milk";')
console.log('alice ticks off "buy milk" too and adds "book the train" after "write the report":')
b.todo.unshift('bank')
b.done.push('milk')
a.done.push('milk')
a.todo.after({ id: 'train', text: 'book the train' }, 'report')
await inSync(aDoc, bDoc)
show('alice', a)
show('bob', b)

console.log('\nbob puts "write the report" back above "call the bank"; alice ticks off "book the train":')
b.todo.before('report', 'bank')
a.done.push('train')
await inSync(aDoc, bDoc)
show('alice', a)
show('bob', b)

const same = JSON.stringify([a.todo.toJSON(), a.done.toJSON()]) === JSON.stringify([b.todo.toJSON(), b.done.toJSON()])
console.log(same ? '\nboth nodes show the same lists (and hold byte-identical documents)' : '\nMISMATCH')
await Promise.all([alice.close(), bob.close()])
process.exit(same ? 0 : 1)
