// One size limit on every type's write path: a local write whose update would be larger than
// what the replication path carries in one piece is refused at once with
// HEARSAY_VALUE_TOO_LARGE, and nothing changes (state, clock, events); a write under it is
// taken. The limit counts encoded bytes (UTF-8), not string length.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DEFAULT_MAX_FRAME, DEFAULT_MAX_SEND_BUFFER, DEFAULT_MAX_UPDATE_BYTES, ErrorCodes, isHearsayError, maxUpdateBytesFor, type Replicated } from '@hearsay/core'
import { Doc, EventLog, GSet, LWWMap, LWWRegister, ORSet } from '@hearsay/model'
import { List, Text } from '@hearsay/seq'
import { Node } from '@hearsay/gossip'

const LIMIT = 64 * 1024
const big = 'x'.repeat(LIMIT)
const small = 'x'.repeat(LIMIT / 2)

const cases: Array<{ name: string; make: () => Replicated<any>; write: (r: any, v: string) => void }> = [
  { name: 'LWWMap', make: () => new LWWMap({ id: 'a', maxUpdateBytes: LIMIT }), write: (r, v) => r.set('k', v) },
  { name: 'LWWRegister', make: () => new LWWRegister({ id: 'a', maxUpdateBytes: LIMIT }), write: (r, v) => r.set(v) },
  { name: 'GSet', make: () => new GSet({ id: 'a', maxUpdateBytes: LIMIT }), write: (r, v) => r.add(v) },
  { name: 'ORSet', make: () => new ORSet({ id: 'a', maxUpdateBytes: LIMIT }), write: (r, v) => r.add(v) },
  { name: 'EventLog', make: () => new EventLog({ id: 'a', maxUpdateBytes: LIMIT }), write: (r, v) => r.append(v) },
  { name: 'Doc', make: () => new Doc({ id: 'a', maxUpdateBytes: LIMIT }), write: (r, v) => r.set('row', { text: v }) },
  { name: 'Text', make: () => new Text({ id: 'a', maxUpdateBytes: LIMIT }), write: (r, v) => r.insert(r.length, v) },
  { name: 'List', make: () => new List({ id: 'a', maxUpdateBytes: LIMIT }), write: (r, v) => r.push(v) },
]

for (const c of cases) {
  test(`${c.name}: a write over the update limit throws HEARSAY_VALUE_TOO_LARGE and changes nothing; one under it is taken`, () => {
    const r = c.make()
    c.write(r, 'first')
    const before = { json: JSON.stringify(r.toJSON()), clock: r.clock.toJSON(), state: r.encodeState() }
    let events = 0
    r.on('ranges', () => events++)
    assert.throws(() => c.write(r, big), (e: unknown) => isHearsayError(e, ErrorCodes.VALUE_TOO_LARGE) && /over the 65536-byte limit/.test(e.message))
    assert.equal(JSON.stringify(r.toJSON()), before.json)
    assert.deepEqual(r.clock.toJSON(), before.clock)
    assert.deepEqual(r.encodeState(), before.state)
    assert.equal(events, 0)
    c.write(r, small)
    assert.equal(events, 1)
    assert.ok(JSON.stringify(r.toJSON()).includes(small))
  })
}

test('the limit counts UTF-8 bytes: a string of fewer characters than the limit but more bytes is refused', () => {
  const m = new LWWMap({ id: 'a', maxUpdateBytes: LIMIT })
  // 3 bytes per character in UTF-8: LIMIT/2 characters are 1.5 x LIMIT bytes.
  assert.throws(() => m.set('k', '€'.repeat(LIMIT / 2)), (e: unknown) => isHearsayError(e, ErrorCodes.VALUE_TOO_LARGE))
  const t = new Text({ id: 'a', maxUpdateBytes: LIMIT })
  assert.throws(() => t.insert(0, '€'.repeat(LIMIT / 2)), (e: unknown) => isHearsayError(e, ErrorCodes.VALUE_TOO_LARGE))
  assert.equal(t.length, 0)
  m.set('k', '€'.repeat(LIMIT / 4))
})

test('the default limit is 4 MiB, what one frame and one send buffer carry with room; a node gives its replicas the limit of its links', async () => {
  assert.equal(DEFAULT_MAX_UPDATE_BYTES, 4 * 1024 * 1024)
  assert.ok(DEFAULT_MAX_UPDATE_BYTES < DEFAULT_MAX_FRAME && DEFAULT_MAX_UPDATE_BYTES < (DEFAULT_MAX_SEND_BUFFER * 3) / 4)
  const m = new LWWMap({ id: 'a' })
  assert.throws(() => m.set('k', 'y'.repeat(5 * 1024 * 1024)), (e: unknown) => isHearsayError(e, ErrorCodes.VALUE_TOO_LARGE))
  m.set('k', 'y'.repeat(3 * 1024 * 1024))
  const node = new Node({ networkKey: 'k', maxFrame: 256 * 1024, maxSendBuffer: 128 * 1024 })
  try {
    const hosted = await node.open('m', LWWMap)
    assert.equal(hosted.maxUpdateBytes, maxUpdateBytesFor(256 * 1024, 128 * 1024))
    assert.ok(hosted.maxUpdateBytes <= 96 * 1024)
    assert.throws(() => hosted.set('k', 'z'.repeat(100 * 1024)), (e: unknown) => isHearsayError(e, ErrorCodes.VALUE_TOO_LARGE))
  } finally {
    await node.close()
  }
})
