// One client process of bench/peers.bench.ts: many gossip Nodes (each its own identity and
// in-memory store), each connected over TCP to the one hub daemon, each from its own 127.0.0.x
// loopback address (as if from many hosts). Driven by lines on stdin, reports JSON lines on stdout.
// Usage: peers-child.ts <json: { hub, key, first, count, writers, interval }>
//   stdin `add <n>`     : start the next n nodes (connect them to the hub)
//   stdin `write <w>`   : each writer node writes key `w<node>-<w>` = node index (acknowledged locally)
//   stdin `target <h>`  : from now on report how many nodes' map content hashes to h
//   stdin `exit`        : close every node and exit
// Prints {event:'added', started, connected, failed} after `add`, {event:'wrote', n} after
// `write`, and {event:'state', connected, matching, cpuMs, rssMb} every 250 ms.
import { createHash } from 'node:crypto'
import { createInterface } from 'node:readline'
import { Node } from '@hearsay/gossip'
import { LWWMap } from '@hearsay/model'
import { TcpTransport } from '@hearsay/adapters'

interface Config {
  hub: string
  key: string
  /** Index of this process's first node (global, for ids and addresses). */
  first: number
  count: number
  /** Local indexes (0-based in this process) of the nodes that write. */
  writers: number[]
  interval: number
}

const config = JSON.parse(process.argv[2]!) as Config
const print = (o: object): void => {
  process.stdout.write(JSON.stringify(o) + '\n')
}

interface Peer {
  node: Node
  map: LWWMap | undefined
  connected: boolean
}
const peers: Peer[] = []
let target: string | undefined

/** Canonical content of a map: its entries sorted by key, hashed. */
export function contentHash(json: Record<string, unknown>): string {
  const keys = Object.keys(json).sort()
  return createHash('sha256')
    .update(JSON.stringify(keys.map((k) => [k, json[k]])))
    .digest('hex')
}

async function startOne(i: number): Promise<boolean> {
  const g = config.first + i
  // 127.0.0.2 .. 127.0.0.254, then round again: a few peers per loopback address.
  const local = `127.0.${1 + Math.floor(g / 253)}.${2 + (g % 253)}`
  const node = new Node({ networkKey: config.key, interval: config.interval, transports: [new TcpTransport({ localAddress: local })] })
  const p: Peer = { node, map: undefined, connected: false }
  peers.push(p)
  node.on('peer-connected', () => (p.connected = true))
  node.on('peer-disconnected', () => (p.connected = false))
  await node.start()
  p.map = await node.open('shared', LWWMap)
  try {
    await node.connect(config.hub)
    return true
  } catch {
    // The node keeps redialing in the background; counted as failed on the first try.
    return false
  }
}

async function add(n: number): Promise<void> {
  const from = peers.length
  const to = Math.min(config.count, from + n)
  const results: boolean[] = []
  // A few dials at a time, as real peers would start: not all in one tick.
  const BATCH = 25
  for (let i = from; i < to; i += BATCH) {
    const batch = []
    for (let j = i; j < Math.min(to, i + BATCH); j++) batch.push(startOne(j))
    results.push(...(await Promise.all(batch)))
  }
  print({ event: 'added', started: peers.length, failed: results.filter((x) => !x).length, connected: peers.filter((p) => p.connected).length })
}

function write(w: number): void {
  let n = 0
  for (const i of config.writers) {
    const p = peers[i]
    if (p?.map === undefined) continue
    p.map.set(`w${config.first + i}-${w}`, config.first + i)
    n++
  }
  print({ event: 'wrote', n })
}

function report(): void {
  let matching = 0
  if (target !== undefined) for (const p of peers) if (p.map !== undefined && contentHash(p.map.toJSON() as Record<string, unknown>) === target) matching++
  const cpu = process.cpuUsage()
  print({ event: 'state', started: peers.length, connected: peers.filter((p) => p.connected).length, matching, cpuMs: Math.round((cpu.user + cpu.system) / 1000), rssMb: Math.round(process.memoryUsage().rss / 2 ** 20) })
}

const timer = setInterval(report, 250)
createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, arg] = line.trim().split(' ')
  if (cmd === 'add') void add(Number(arg))
  else if (cmd === 'write') write(Number(arg))
  else if (cmd === 'target') target = arg
  else if (cmd === 'exit') {
    clearInterval(timer)
    void Promise.all(peers.map((p) => p.node.close().catch(() => {}))).then(() => process.exit(0))
  }
})
// The parent died: do not linger.
process.stdin.on('end', () => process.exit(0))
