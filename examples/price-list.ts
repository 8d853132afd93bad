// The camp publishes a price list that field devices relay but cannot change. The list is a
// signed object: its id certifies a write policy naming only the camp's key, and every batch
// of the camp's writes travels as a segment the camp signed, passed on byte for byte. A relay
// device holds the network key and carries everything; a field device that writes its own
// price, or forges one in the camp's name, is refused by every node.
//
// The segments travel here as plain bytes between SegmentLogs, the building blocks a Node uses
// (examples/signed-prices.ts does the same through real nodes; see SECURITY.md).
// Run: npx tsx --conditions=source examples/price-list.ts
import { decodeWith, encodeWith, isHearsayError } from '@hearsay/core'
import { LWWMap } from '@hearsay/model'
import { SegmentLog, createWritePolicy, generateIdentity, identityPublicKey, nodeIdFromPublicKey, readSegment, signSegment, signedObjectId, writeSegment, type NodeIdentity, type Segment } from '@hearsay/gossip'

const idOf = (k: NodeIdentity) => nodeIdFromPublicKey(identityPublicKey(k))
const toBytes = (s: Segment) => encodeWith((e) => writeSegment(e, s))
const fromBytes = (b: Uint8Array) => decodeWith(b, readSegment)

const camp = generateIdentity()
const policy = createWritePolicy([idOf(camp)])
const listId = signedObjectId('prices', policy)
console.log(`price list ${listId.slice(0, 24)}…: writable by the camp only`)

const open = (k: NodeIdentity) => new SegmentLog(listId, new LWWMap({ id: `${idOf(k)}.1.AAAAAAAA` }), policy)
const devices = { relay: generateIdentity(), ridge: generateIdentity() }
const campList = open(camp)
const relayList = open(devices.relay)
const ridgeList = open(devices.ridge)
const prices = (log: SegmentLog<LWWMap>) => JSON.stringify(log.replica.toJSON())

// The camp sets today's prices: one signed segment for the batch.
const list = campList.replica
list.set('rice', 12)
list.set('fuel', 40)
list.set('water', 2)
const today = toBytes(campList.seal(camp)!)
console.log(`camp signed ${today.length} bytes for 3 prices`)

// The relay device carries it to the ridge; it could not change a byte unnoticed.
relayList.receive(fromBytes(today))
for (const s of relayList.since(ridgeList.clock)) ridgeList.receive(fromBytes(toBytes(s)))
console.log(`ridge: ${prices(ridgeList)}`)

// The ridge device writes a lower fuel price under its own key: not a writer.
const ridge = ridgeList.replica
ridge.set('fuel', 1)
const own = signSegment(devices.ridge, { objectId: listId, typeId: ridge.typeId, source: ridge.id, from: 0, to: 1, ranges: ridge.encodeRanges(ridge.historySince()) })
// ...then one in the camp's name, signed with its own key.
const forged: Segment = { ...own, source: list.id, signature: own.signature }
// ...and a relay flips one bit of the camp's real segment in transit.
const flipped = today.slice()
flipped[flipped.length - 70]! ^= 1
for (const [what, bytes] of [['its own write', toBytes(own)], ['a forgery in the camp\'s name', toBytes(forged)], ['a flipped bit', flipped]] as const) {
  for (const [name, log] of [['relay', relayList], ['camp', campList]] as const) {
    try {
      log.receive(fromBytes(bytes))
      console.log(`${name} ACCEPTED ${what}`)
      process.exitCode = 1
    } catch (err) {
      if (!isHearsayError(err)) throw err
      console.log(`${name} refused ${what}: ${err.code}`)
    }
  }
}
console.log(`relay: ${prices(relayList)} refusals ${JSON.stringify(relayList.refusals)}`)
if (prices(relayList) === prices(campList) && JSON.parse(prices(campList)).fuel === 40) console.log('every node holds the camp\'s prices, unchanged')
