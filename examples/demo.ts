// The hearsay demo (`npm start`): three peers, each a gossip Node with its own LevelDB directory,
// talk over real TCP and WebSocket connections on loopback. They all write at once, converge
// with no leader, and one of them restarts from disk. Exits 0 once every peer holds
// byte-identical state, 1 if that has not happened within 20 s.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Node } from '@hearsay/gossip'
import { LWWMap, Doc, type Row } from '@hearsay/model'
import { LevelStore } from '@hearsay/adapters/level'
import { TcpTransport, WsTransport } from '@hearsay/adapters'

const started = performance.now()
const NAMES = ['lisbon', 'oslo', 'quito'] as const
type Name = (typeof NAMES)[number]
const color = process.stdout.isTTY ? (c: number, s: string) => `\x1b[${c}m${s}\x1b[0m` : (_: number, s: string) => s
const tag: Record<Name, string> = { lisbon: color(36, '[lisbon]'), oslo: color(35, '[oslo]  '), quito: color(33, '[quito] ') }
const say = (who: Name | 'demo', line: string) => console.log(`${(((performance.now() - started) / 1000).toFixed(2) + 's').padStart(6)} ${who === 'demo' ? color(1, '[demo]  ') : tag[who]} ${line}`)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const timeout = setTimeout(() => {
  console.error('demo: the peers did not converge within 20 s')
  process.exit(1)
}, 20_000)
timeout.unref()

const root = await mkdtemp(join(tmpdir(), 'hearsay-demo-'))
interface Peer {
  name: Name
  node: Node
  inventory: LWWMap
  todo: Doc
}

async function startPeer(name: Name, listen: string): Promise<Peer> {
  const node = new Node({
    id: name,
    networkKey: 'demo-network-key',
    store: new LevelStore(join(root, name)), // the embedded LevelDB default: one directory per node
    transports: [new TcpTransport(), new WsTransport()],
    interval: 200,
  })
  node.on('peer-connected', (peer: string, address: string) => say(name, `connected to ${peer} (${address})`))
  const at = await node.listen(listen)
  const inventory = await node.open('inventory', LWWMap)
  const todo = await node.open('todo', Doc)
  inventory.on('change', (key: string, value: unknown) => say(name, value === undefined ? `inventory.${key} deleted` : `inventory.${key} = ${JSON.stringify(value)}`))
  say(name, `up: LevelDB in ${join(root, name)}, listening on ${at}`)
  return { name, node, inventory, todo }
}

const lists = (doc: Doc) => ({
  todo: doc.createSeq('list', 'todo'),
  done: doc.createSeq('list', 'done'),
})
const texts = (rows: Row[]) => rows.map((r) => r.get('text')).join(', ') || '-'

async function converged(peers: Peer[]): Promise<boolean> {
  for (const id of ['inventory', 'todo']) {
    const states = peers.map((p) => Buffer.from(p.node.get(id)!.encodeState()))
    if (!states.every((s) => s.equals(states[0]!))) return false
  }
  return true
}

async function waitConverged(peers: Peer[], what: string): Promise<void> {
  const t0 = performance.now()
  while (!(await converged(peers))) await sleep(20)
  say('demo', color(32, `${what}: all ${peers.length} peers hold byte-identical state (${Math.round(performance.now() - t0)} ms)`))
}

let exitCode = 1
const peers: Peer[] = []
try {
  console.log(color(1, 'hearsay demo: three peers, no server, no leader; each keeps its data in LevelDB\n'))
  const lisbon = await startPeer('lisbon', 'tcp://127.0.0.1:0')
  const oslo = await startPeer('oslo', 'ws://127.0.0.1:0')
  const quito = await startPeer('quito', 'tcp://127.0.0.1:0')
  peers.push(lisbon, oslo, quito)

  say('demo', 'step 1: everyone writes before they are connected (offline edits)')
  lisbon.inventory.set('apples', 12)
  oslo.inventory.set('pears', 7)
  quito.inventory.set('apples', 10) // a conflict with lisbon: the last writer wins everywhere
  const l = lists(lisbon.todo)
  l.todo.push({ text: 'water the plants' })
  l.todo.push({ text: 'fix the bike' })
  lists(quito.todo).todo.push({ text: 'call grandma' })

  say('demo', 'step 2: oslo dials lisbon over TCP, quito dials oslo over WebSocket; oslo relays between the other two')
  await oslo.node.connect(lisbon.node.addresses[0]!)
  await quito.node.connect(oslo.node.addresses[0]!)
  await waitConverged(peers, 'converged')
  say('demo', `apples: lisbon wrote 12, quito wrote 10; every peer now says ${lisbon.inventory.get('apples')} (same winner everywhere)`)

  say('demo', 'step 3: live edits while connected; oslo ticks a todo off (it moves from the todo list to done)')
  const o = lists(oslo.todo)
  const bike = o.todo.asArray().find((r) => r.get('text') === 'fix the bike')!
  o.done.push(bike)
  quito.inventory.set('plums', 3)
  lisbon.inventory.delete('pears')
  await waitConverged(peers, 'converged again')
  for (const p of peers) {
    const x = lists(p.todo)
    say(p.name, `todo: ${texts(x.todo.asArray())}   done: ${texts(x.done.asArray())}`)
  }

  say('demo', 'step 4: quito shuts down, lisbon writes meanwhile, quito restarts from its LevelDB directory')
  await quito.node.close()
  peers.pop()
  lisbon.inventory.set('figs', 20)
  const quito2 = await startPeer('quito', 'tcp://127.0.0.1:0')
  say('quito', `restored from disk: ${JSON.stringify(quito2.inventory.toJSON())}`)
  peers.push(quito2)
  await quito2.node.connect(lisbon.node.addresses[0]!)
  await waitConverged(peers, 'converged after the restart')

  console.log('\n' + color(1, 'summary'))
  for (const p of peers) {
    const s = p.node.status()
    const inv = s.objects.find((x) => x.id === 'inventory')!
    console.log(`  ${p.name.padEnd(7)} inventory ${JSON.stringify(p.inventory.toJSON())}  vector ${JSON.stringify(inv.vector)}  in ${s.bytesIn} B  out ${s.bytesOut} B`)
  }
  const expected = { apples: lisbon.inventory.get('apples'), figs: 20, plums: 3 }
  const ok = (await converged(peers)) && peers.every((p) => JSON.stringify(p.inventory.toJSON()) === JSON.stringify(Object.fromEntries(Object.entries(expected).sort())))
  if (!ok) throw new Error('the peers disagree')
  console.log(color(32, `\nall ${peers.length} peers converged (equal encoded states) in ${((performance.now() - started) / 1000).toFixed(1)} s. Next: README.md, examples/, npx hearsay --help`))
  exitCode = 0
} catch (err) {
  console.error('demo failed:', err)
} finally {
  await Promise.all(peers.map((p) => p.node.close().catch(() => {})))
  await rm(root, { recursive: true, force: true })
}
process.exit(exitCode)
