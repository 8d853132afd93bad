// Field devices work offline all day: they count inventory and write survey notes. Now and then
// one comes within radio range of the camp and syncs over a slow link (latency plus a small
// bandwidth), then leaves again. Devices never meet each other; the camp relays what one
// brought to the others. In the end every device holds everyone's edits.
// Run: npx tsx --conditions=source examples/field-camp.ts
import { BaseConnection, HearsayError, ErrorCodes, type Connection, type Listener, type Transport } from '@hearsay/core'
import { Node } from '@hearsay/gossip'
import { Doc, LWWMap } from '@hearsay/model'
import { TcpTransport } from '@hearsay/adapters'

// A slow radio link: every frame waits `latency` ms plus its size over `bytesPerSecond`, in
// order, both ways. Out of range, connecting fails and open connections drop. Each direction is
// a FIFO drained by one timer at a time: timers of different delays may fire out of order, and
// a link that reorders frames is not a TCP link (the secure channel would rightly refuse it).
class SlowLane {
  #due = 0
  #queued = 0
  readonly #items: Array<{ at: number; bytes: number; fn: () => void }> = []
  #timer: ReturnType<typeof setTimeout> | undefined
  constructor(readonly latency: number, readonly bytesPerSecond: number) {}
  get queued() { return this.#queued }
  push(bytes: number, fn: () => void): void {
    const now = performance.now()
    this.#due = Math.max(this.#due, now) + (bytes / this.bytesPerSecond) * 1000
    this.#queued += bytes
    this.#items.push({ at: this.#due + this.latency, bytes, fn })
    this.#arm()
  }
  #arm(): void {
    const next = this.#items[0]
    if (this.#timer !== undefined || next === undefined) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      const now = performance.now()
      while (this.#items[0] !== undefined && this.#items[0].at <= now + 1) {
        const item = this.#items.shift()!
        this.#queued -= item.bytes
        item.fn()
      }
      this.#arm()
    }, Math.max(0, next.at - performance.now()))
  }
}

// A connection of one's own extends BaseConnection: it does the checks of send and close and
// keeps the drain promise; this one says when its lane and the link under it have emptied.
class SlowConnection extends BaseConnection {
  readonly #in: SlowLane
  readonly #out: SlowLane
  constructor(readonly inner: Connection, latency: number, bytesPerSecond: number) {
    super(inner.remoteAddress)
    this.#in = new SlowLane(latency, bytesPerSecond)
    this.#out = new SlowLane(latency, bytesPerSecond)
    inner.on('frame', (f: Uint8Array) => this.#in.push(f.length, () => { if (this.inner.isOpen) this.emit('frame', f) }))
    inner.on('drain', () => this.flushed())
    inner.on('close', (reason?: Error) => this.closed(reason))
  }
  get bufferedBytes() { return this.#out.queued + this.inner.bufferedBytes }
  protected sendFrame(frame: Uint8Array): void {
    this.#out.push(frame.length, () => {
      if (this.inner.isOpen) this.inner.send(frame)
      this.flushed()
    })
  }
  protected closeLink(reason: Error | undefined): void { this.inner.close(reason) }
}

class RadioLink implements Transport {
  readonly scheme = 'tcp'
  readonly capabilities = { ordered: true, remote: true }
  inRange = false
  readonly #tcp = new TcpTransport()
  readonly #open = new Set<Connection>()
  listen(): Promise<Listener> { throw new HearsayError(ErrorCodes.NOT_SUPPORTED, 'devices do not listen') }
  async connect(url: string): Promise<Connection> {
    if (!this.inRange) throw new HearsayError(ErrorCodes.TRANSPORT_ERROR, 'camp out of range')
    const c = new SlowConnection(await this.#tcp.connect(url), 60, 64_000)
    this.#open.add(c)
    c.once('close', () => this.#open.delete(c))
    return c
  }
  leave(): void {
    this.inRange = false
    for (const c of this.#open) c.close()
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const same = (a: Node, b: Node) => ['inventory', 'survey'].every((id) => Buffer.from(a.get(id)!.encodeState()).equals(Buffer.from(b.get(id)!.encodeState())))

const camp = new Node({ id: 'camp', networkKey: 'field', transports: [new TcpTransport()], interval: 200 })
const campUrl = await camp.listen('tcp://127.0.0.1:0')
await camp.open('inventory', LWWMap)
await camp.open('survey', Doc)

interface Device { name: string; node: Node; link: RadioLink; inventory: LWWMap<number>; survey: Doc }
const devices: Device[] = []
for (const name of ['ranger-1', 'ranger-2', 'ranger-3']) {
  const link = new RadioLink()
  const node = new Node({ id: name, networkKey: 'field', transports: [link], interval: 200 })
  devices.push({ name, node, link, inventory: await node.open('inventory', LWWMap<number>), survey: await node.open('survey', Doc) })
}
const [r1, r2, r3] = devices as [Device, Device, Device]

async function meetCamp(d: Device): Promise<void> {
  const t0 = performance.now()
  const before = d.node.status()
  d.link.inRange = true
  await d.node.connect(campUrl)
  while (!same(d.node, camp)) await sleep(20)
  d.node.disconnect(campUrl)
  d.link.leave()
  const after = d.node.status()
  console.log(`  ${d.name} meets the camp: ${after.bytesOut - before.bytesOut} B up, ${after.bytesIn - before.bytesIn} B down over the slow link, in sync after ${Math.round(performance.now() - t0)} ms`)
}

let ok = false
try {
  console.log('morning, everyone offline:')
  r1.inventory.set('water (l)', 40)
  r1.survey.set('n1', { site: 'ridge', note: 'two nests on the north face', by: 'ranger-1' })
  r2.inventory.set('rope (m)', 120)
  r2.survey.set('n2', { site: 'creek', note: 'water level low', by: 'ranger-2' })
  r3.inventory.set('water (l)', 35) // a later count of the same stock: last writer wins
  r3.survey.set('n3', { site: 'meadow', note: 'fox tracks', by: 'ranger-3' })
  console.log('  three devices, three sets of edits, no connection anywhere')

  console.log('noon:')
  await meetCamp(r1)
  await meetCamp(r2)
  r1.survey.set('n4', { site: 'ridge', note: 'nests: one more found', by: 'ranger-1' })
  r2.survey.get('n2')!.set('note', 'water level low; creek crossing safe')
  r2.inventory.set('batteries', 16)

  console.log('evening:')
  await meetCamp(r3)
  await meetCamp(r2)
  await meetCamp(r1) // the last visit of the day: ranger-1 now holds everything
  console.log('night, a last pass:')
  await meetCamp(r2)
  await meetCamp(r3) // ranger-3 gets what ranger-1 and ranger-2 brought after its evening visit

  const views = devices.map((d) => JSON.stringify([d.inventory.toJSON(), d.survey.toJSON()]))
  ok = views.every((v) => v === views[0]) && devices.every((d) => same(d.node, camp))
  console.log(`\ninventory on every device: ${JSON.stringify(r3.inventory.toJSON())}`)
  console.log('survey notes on ranger-3 (which never met ranger-1 or ranger-2):')
  for (const row of Object.values(r3.survey.toJSON())) console.log(`  [${row['site']}] ${row['note']} (${row['by']})`)
  console.log(ok ? '\nall devices and the camp converged; the camp relayed between devices that never met' : '\nMISMATCH')
} finally {
  await Promise.all([camp.close(), ...devices.map((d) => d.node.close())])
}
process.exit(ok ? 0 : 1)
