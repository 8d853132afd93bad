// Two laptops, one shared map. Run one copy on each machine (or two terminals on one):
//   laptop A:  npx tsx --conditions=source examples/peer.ts 7001
//   laptop B:  npx tsx --conditions=source examples/peer.ts 7002 7001            (same machine)
//              npx tsx --conditions=source examples/peer.ts 7002 192.168.1.20:7001   (A's address)
// Then type `key=value` lines on either side: the other prints them as they arrive.
// `key=` deletes a key, an empty line prints the whole map, Ctrl-D (end of input) quits.
// Values are JSON when they parse (`n=42`, `tags=["a","b"]`), plain text otherwise.
// Environment: HEARSAY_KEY (shared secret, default "two-laptops"), LISTEN_HOST (default
// 127.0.0.1; use 0.0.0.0 so the other laptop can reach this one), HEARSAY_DATA (the LevelDB
// directory, default ./.hearsay/peer-<port>; the map survives restarts).
import { createInterface } from 'node:readline'
import { Node } from '@hearsay/gossip'
import { LWWMap } from '@hearsay/model'
import { LevelStore } from '@hearsay/adapters/level'
import { TcpTransport } from '@hearsay/adapters'

const [listenPort, peerAt] = process.argv.slice(2)
if (listenPort === undefined || !/^\d+$/.test(listenPort)) {
  console.error('usage: examples/peer.ts <listen_port> [peer_port | peer_host:peer_port]')
  process.exit(2)
}
const host = process.env.LISTEN_HOST ?? '127.0.0.1'
const node = new Node({
  networkKey: process.env.HEARSAY_KEY ?? 'two-laptops',
  store: new LevelStore(process.env.HEARSAY_DATA ?? `.hearsay/peer-${listenPort}`),
  transports: [new TcpTransport()],
  interval: 500,
})
const map = await node.open('shared', LWWMap)
let local = false
map.on('change', (key: string, value: unknown) => {
  if (local) return // our own edit: already on screen
  console.log(value === undefined ? `< ${key} deleted` : `< ${key} = ${JSON.stringify(value)}`)
})
node.on('peer-connected', (peer: string, address: string) => console.log(`* connected to ${peer} (${address})`))
node.on('peer-disconnected', (peer: string) => console.log(`* ${peer} went away; edits keep working and sync when it is back`))

console.log(`* node ${node.id} listening on ${await node.listen(`tcp://${host}:${listenPort}`)}`)
if (peerAt !== undefined) {
  const url = `tcp://${peerAt.includes(':') ? peerAt : `127.0.0.1:${peerAt}`}`
  console.log(`* connecting to ${url}`)
  node.connect(url).catch((err: Error) => console.log(`* ${url} not reachable yet (${err.message}); retrying`))
}
console.log('* type key=value (key= deletes, empty line shows all, Ctrl-D quits)')

const lines = createInterface({ input: process.stdin })
for await (const line of lines) {
  const text = line.trim()
  if (text === '') {
    console.log(JSON.stringify(map.toJSON()))
    continue
  }
  const eq = text.indexOf('=')
  if (eq <= 0) {
    console.log('! write key=value')
    continue
  }
  const key = text.slice(0, eq).trim()
  const raw = text.slice(eq + 1).trim()
  local = true
  try {
    if (raw === '') map.delete(key)
    else {
      let value: unknown = raw
      try {
        value = JSON.parse(raw)
      } catch {}
      map.set(key, value as never)
    }
    console.log(raw === '' ? `> ${key} deleted` : `> ${key} = ${raw}`)
  } catch (err) {
    console.log(`! ${(err as Error).message}`)
  } finally {
    local = false
  }
}
await node.close() // flushes the store: nothing typed is lost
console.log('* bye')
