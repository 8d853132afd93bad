// Two replicas of a map on one machine, synced over a stream. Run: npx tsx --conditions=source examples/two-replicas.ts
import { once } from 'node:events'
import { LWWMap } from '@hearsay/model'

const laptop = new LWWMap({ id: 'laptop' })
const phone = new LWWMap({ id: 'phone' })
phone.on('change', (key, value) => console.log(`phone saw ${key} = ${value}`))

laptop.set('milk', 2)                // written while apart...
phone.set('eggs', 12)
const a = laptop.createStream(), b = phone.createStream()
a.pipe(b).pipe(a)                    // ...then connected: any duplex works (TCP, WebSocket, a file)
await Promise.all([once(a, 'sync'), once(b, 'sync')])

laptop.set('milk', 3)                // live edits flow while connected
await phone.nextEvent('change')
console.log(laptop.toJSON(), phone.toJSON())   // { eggs: 12, milk: 3 } twice
