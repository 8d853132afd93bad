// A field device gathered readings offline; the link to the camp carries at most 32 KiB each
// time it comes up, and the office is reached only by mail, 16 KiB per message. Each budgeted
// sync (and each budgeted bundle) sends the oldest readings the other side lacks that fit, and
// the next one picks up exactly where the last stopped.
// Run: npx tsx --conditions=source examples/thin-link.ts
import { TcpTransport } from '@hearsay/adapters'
import { Node } from '@hearsay/gossip'
import { LWWMap } from '@hearsay/model'

const networkKey = 'thin-link-example'
const device = new Node({ id: 'device', networkKey, transports: [new TcpTransport()] })
const camp = new Node({ id: 'camp', networkKey, transports: [new TcpTransport()] })
const office = new Node({ id: 'office', networkKey })

const readings = await device.open('readings', LWWMap<string>)
for (let i = 0; i < 2000; i++) readings.set(`t${String(i).padStart(4, '0')}`, `${(20 + Math.sin(i / 50) * 5).toFixed(2)} C, wind ${i % 17} km/h, ok`)

// The link comes up now and then; each time it carries at most 32 KiB of readings.
const url = await camp.listen('tcp://127.0.0.1:0')
for (let link = 1; ; link++) {
  const r = await device.sync(url, { maxBytes: 32 * 1024 })
  console.log(`link ${link}: sent ${r.sentUpdates} readings in ${r.sentBytes} bytes, ${r.stopped}`)
  if (r.complete) break
}
console.log(`the camp holds ${Object.keys(camp.get('readings')!.toJSON() as object).length} readings`)

// The office: bundles of at most 16 KiB, mailed one way; it answers once, at the end.
for (let mail = 1; ; mail++) {
  const b = await camp.exportBundleReport({ for: 'office', maxBytes: 16 * 1024 })
  await office.importBundle(b.bytes)
  console.log(`mail ${mail}: ${b.bytes.length} bytes, ${b.updates} updates${b.complete ? ', the last' : ''}`)
  if (b.complete) break
}
await camp.importBundle(await office.exportBundle({ for: 'camp' }))   // the office acknowledges
console.log(`the office holds ${Object.keys(office.get('readings')!.toJSON() as object).length} readings`)
await Promise.all([device.close(), camp.close(), office.close()])
