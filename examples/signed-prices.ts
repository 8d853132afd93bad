// A price list only the camp may write, carried by a relay that holds the network key. Run: npx tsx --conditions=source examples/signed-prices.ts
import { MemoryNetwork, MemoryTransport, isHearsayError } from '@hearsay/core'
import { LWWMap } from '@hearsay/model'
import { Node, createWritePolicy, signedObjectId } from '@hearsay/gossip'

const network = new MemoryNetwork()
const node = () => new Node({ networkKey: 'camp-net', transports: [new MemoryTransport({ network })] })
const [camp, relay, ridge] = [node(), node(), node()]
await relay.listen('mem://relay')
await camp.connect('mem://relay')           // camp and ridge meet only through the relay
await ridge.connect('mem://relay')

const prices = await camp.open('prices', LWWMap, { writers: [camp.id] })   // signed: camp only
prices.set('rice', 12)
prices.set('fuel', 40)
const id = signedObjectId('prices', createWritePolicy([camp.id]))          // prices~w1.<digest>
const atRidge = await ridge.open(id, LWWMap)
while (atRidge.size < 2) await atRidge.nextEvent('change')
console.log('ridge:', atRidge.toJSON())                                    // verified segments
try {
  (await relay.open(id, LWWMap)).set('fuel', 1)                            // not a writer
} catch (err) {
  console.log('relay refused:', isHearsayError(err) && err.code)           // HEARSAY_NOT_PERMITTED
}
await Promise.all([camp, relay, ridge].map((n) => n.close()))
