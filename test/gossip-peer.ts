// One gossip node in its own process, for test/gossip-processes.test.ts.
// Usage: gossip-peer.ts <id> <key> <listen url | -> [<listen url> ...] [--seed <url>] [--write]
// Prints JSON lines on stdout: {event:'listening', urls}, {event:'state', ...} whenever its view
// changes, {event:'refused', code} when the seed refuses it. Reads 'exit' on stdin.
import { createHash } from 'node:crypto'
import { createInterface } from 'node:readline'
import { isHearsayError } from '@hearsay/core'
import { Node } from '@hearsay/gossip'
import { LWWMap } from '@hearsay/model'
import { TcpTransport, WsTransport } from '@hearsay/adapters'

const args = process.argv.slice(2)
const [id, key] = args
const seedAt = args.indexOf('--seed')
const seed = seedAt >= 0 ? args[seedAt + 1] : undefined
const listenUrls = args.slice(2).filter((a, i, all) => a.includes('://') && all[i - 1] !== '--seed' && a !== seed)
const write = args.includes('--write')
const print = (o: object) => process.stdout.write(JSON.stringify({ id, ...o }) + '\n')

const node = new Node({ id, networkKey: key!, interval: 100, fanout: 2, transports: [new TcpTransport(), new WsTransport({ heartbeatInterval: 2000 })], heartbeatInterval: 200 })
node.on('peer-error', (e: Error & { code?: string }) => {
  if (e.code === 'HEARSAY_AUTH_FAILED') print({ event: 'auth-error', code: e.code })
})
const urls: string[] = []
for (const u of listenUrls) urls.push(await node.listen(u))
print({ event: 'listening', urls })
const map = await node.open('shared', LWWMap)
if (seed !== undefined) {
  try {
    await node.connect(seed)
  } catch (err) {
    if (isHearsayError(err)) print({ event: 'refused', code: err.code })
    else throw err
  }
}
if (write) map.set(`from-${id}`, id!)
let last = ''
const report = () => {
  const s = node.status()
  const line = JSON.stringify({
    keys: Object.keys(map.toJSON()).sort(),
    members: node.membership.members().length,
    connected: s.peers.filter((p) => p.connected).length,
    digest: createHash('sha256').update(map.encodeState()).digest('hex').slice(0, 16),
  })
  if (line !== last) {
    last = line
    print({ event: 'state', ...JSON.parse(line) })
  }
}
const timer = setInterval(report, 50)
report()
createInterface({ input: process.stdin }).on('line', async (line) => {
  if (line.trim() === 'exit') {
    clearInterval(timer)
    await node.close()
    process.exit(0)
  }
})
