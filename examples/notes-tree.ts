// A tree of notes replicated over three nodes, each with its own LevelDB directory. One node
// goes down and its disk is wiped; the other two keep serving reads and writes; the node comes
// back empty under its own id and recovers the whole tree from its peers. The service never
// goes down.
// Run: npx tsx --conditions=source examples/notes-tree.ts
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Node } from '@hearsay/gossip'
import { Doc } from '@hearsay/model'
import { LevelStore } from '@hearsay/adapters/level'
import { TcpTransport } from '@hearsay/adapters'

const dir = await mkdtemp(join(tmpdir(), 'hearsay-notes-'))
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function start(id: string): Promise<{ node: Node; notes: Doc; url: string }> {
  const node = new Node({ id, networkKey: 'notes', store: new LevelStore(join(dir, id)), transports: [new TcpTransport()], interval: 200 })
  const url = await node.listen('tcp://127.0.0.1:0')
  return { node, notes: await node.open('notes', Doc), url }
}

// Each note is a row { title, parent }; the tree is read from the parent links.
function tree(doc: Doc, parent = 'root', depth = 0): string[] {
  const kids = Object.values(doc.toJSON())
    .filter((r) => r['parent'] === parent)
    .sort((x, y) => String(x['title']).localeCompare(String(y['title'])))
  return kids.flatMap((r) => [`${'  '.repeat(depth)}- ${r['title']}`, ...tree(doc, r.id, depth + 1)])
}
const same = (docs: Doc[]) => docs.every((d) => Buffer.from(d.encodeState()).equals(Buffer.from(docs[0]!.encodeState())))
async function converge(docs: Doc[]): Promise<void> {
  const until = Date.now() + 15_000
  while (!same(docs)) {
    if (Date.now() > until) throw new Error('did not converge')
    await sleep(20)
  }
}

let ok = false
const nodes: Node[] = []
try {
  const berlin = await start('berlin')
  const cairo = await start('cairo')
  const paris = await start('paris')
  nodes.push(berlin.node, cairo.node, paris.node)
  await cairo.node.connect(berlin.url)
  await paris.node.connect(cairo.url)
  await paris.node.connect(berlin.url)

  berlin.notes.set('work', { title: 'Work', parent: 'root' })
  cairo.notes.set('home', { title: 'Home', parent: 'root' })
  paris.notes.set('q3', { title: 'Q3 plan', parent: 'work' })
  berlin.notes.set('hire', { title: 'Hiring', parent: 'work' })
  cairo.notes.set('garden', { title: 'Garden', parent: 'home' })
  paris.notes.set('roses', { title: 'Prune the roses', parent: 'garden' })
  await converge([berlin.notes, cairo.notes, paris.notes])
  console.log('the tree, identical on berlin, cairo and paris:')
  console.log(tree(berlin.notes).join('\n'))

  console.log('\nparis goes down and its disk is wiped')
  await paris.node.close()
  nodes.pop()
  await rm(join(dir, 'paris'), { recursive: true, force: true })

  console.log('berlin and cairo keep working: a new note, a rename, a note moved to another branch')
  berlin.notes.set('budget', { title: 'Budget', parent: 'q3' })
  cairo.notes.get('hire')!.set('title', 'Hiring (2 roles)')
  cairo.notes.get('roses')!.set('parent', 'home')
  await converge([berlin.notes, cairo.notes])

  // The wiped node comes back under its own id. Its update counter is gone with its disk, but
  // every start writes under a fresh incarnation of the id (paris.<n>.<random>), so even a note
  // written before it has synced never repeats a (source, seq) its peers already hold.
  console.log('\nparis comes back empty, under its own id, and writes a note before it syncs')
  const paris2 = await start('paris')
  nodes.push(paris2.node)
  paris2.notes.set('seeds', { title: 'Buy seeds', parent: 'garden' })
  console.log(`paris holds ${paris2.notes.size} note before syncing; it writes as ${paris2.node.source}`)
  await paris2.node.connect(cairo.url)
  await converge([berlin.notes, cairo.notes, paris2.notes])
  const lines = tree(paris2.notes)
  console.log(`paris recovered ${paris2.notes.size} notes:`)
  console.log(lines.join('\n'))
  const alarms = paris2.node.status().historyAlarms
  console.log(`its peers sent back what it wrote in its earlier life (${alarms} of its own sources; status counts them as history alarms)`)
  ok = paris2.notes.size === 8 && alarms > 0 && lines.join('\n') === tree(berlin.notes).join('\n') && same([berlin.notes, cairo.notes, paris2.notes])
  console.log(ok ? '\nall three nodes hold the whole tree (byte-identical); nothing was lost' : '\nMISMATCH')
} finally {
  await Promise.all(nodes.map((n) => n.close()))
  await rm(dir, { recursive: true, force: true })
}
process.exit(ok ? 0 : 1)
