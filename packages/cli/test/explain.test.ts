import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCodes, VersionVector, type Replicated } from '@hearsay/core'
import { LWWMap, ORSet } from '@hearsay/model'
import { explainLocal, explainNodes, gatherFacts, type FactSource } from '../src/explain.js'

/** A node as gatherFacts sees it: its objects and what each peer last offered. */
function source(id: string, objects: Record<string, Replicated<any>>, peers: Record<string, Record<string, Record<string, number>>> = {}): FactSource {
  return {
    id,
    status: () => ({
      objects: Object.keys(objects).map((o) => ({ id: o })),
      peers: Object.keys(peers).map((p) => ({ id: p, connected: true, inSync: false, suspected: false, lastSync: Date.UTC(2026, 11, 3, 12) })),
    }),
    load: async (o) => objects[o],
    digestSeen: async (p) => new Map(Object.entries(peers[p] ?? {}).map(([o, v]) => [o, new VersionVector(v)])),
  }
}

test('facts cross JSON whole: equal vectors hiding different content name the dot (a reused seq, as after a restored backup)', async () => {
  const a = new LWWMap({ id: 'alice' })
  const b = new LWWMap({ id: 'bob' })
  a.set('k', 1)
  b.applyRanges(a.historySince(b.clock))
  const restored = new LWWMap({ id: 'alice' }) // alice's store went back: seq 1 written again
  restored.set('k', 2)
  const fa = JSON.parse(JSON.stringify(await gatherFacts(source('alice', { notes: restored }, { bob: { notes: { alice: 1 } } }), { kept: true })))
  const fb = JSON.parse(JSON.stringify(await gatherFacts(source('bob', { notes: b }, { alice: { notes: { alice: 1 } } }), { kept: true })))
  const lines = explainNodes(fa, fb)
  assert.ok(lines.some((l) => /^notes: equal vectors hide different content: .*alice:1 differs$/.test(l)), lines.join('\n'))
})

test('buffered and refused updates, stale offers and a type clash are named', async () => {
  const a = new LWWMap({ id: 'alice' })
  a.set('x', 1)
  a.set('y', 2)
  const b = new LWWMap({ id: 'bob' })
  const [range] = a.historySince(b.clock)
  // bob got alice's second update only: it waits for alice:1.
  b.applyRanges([{ ...range!, from: 1, updates: range!.updates.slice(1) }])
  // and refused carol's, written by a clock ten hours ahead
  const carol = new LWWMap({ id: 'carol', now: () => Date.now() + 10 * 3600_000 })
  carol.set('z', 3)
  b.applyRanges(carol.historySince(b.clock))
  const other = new LWWMap({ id: 'bob' })
  const fa = await gatherFacts(source('alice', { notes: a, list: new LWWMap({ id: 'alice' }) }, { bob: { notes: {} } }))
  const fb = await gatherFacts(source('bob', { notes: b, list: new ORSet({ id: 'bob' }) }, { alice: { notes: { alice: 1 } } }))
  const lines = explainNodes(fa, fb)
  const text = lines.join('\n')
  assert.match(text, /^notes: bob lacks alice \(0, 2\] \(2 seqs\)$/m)
  assert.match(text, /^notes: bob holds alice \(1, 2\] \(1 update\) in its causal buffer, waiting for alice:1 \(alice's earlier updates\); alice has it$/m)
  assert.match(text, new RegExp(`^notes: bob refused carol:1: ${ErrorCodes.CLOCK_DRIFT}`, 'm'))
  assert.match(text, /^notes: bob last heard alice offer \{alice:1\} \(last round 2026-12-03T12:00:00.000Z\); alice has written or received alice \(1, 2\] since/m)
  assert.match(text, /^list: alice holds a LWWMap, bob a ORSet: they can never merge/m)
  // Local view: what we lack of what the peer offered, what it lacked, what waits, what was refused.
  const local = explainLocal(await gatherFacts(source('bob', { notes: b }, { alice: { notes: { alice: 2 } } }))).join('\n')
  assert.match(local, /^notes: we lack alice \(0, 2\]: alice offered it/m)
  assert.match(local, /^notes: alice \(1, 2\] \(1 update\) waits in the causal buffer for alice:1/m)
  assert.match(local, /refused carol:1/)
  other.dispose()
})

test('nothing to explain for converged nodes', async () => {
  const a = new LWWMap({ id: 'alice' })
  a.set('x', 1)
  const b = new LWWMap({ id: 'bob' })
  b.applyRanges(a.historySince(b.clock))
  assert.deepEqual(explainNodes(await gatherFacts(source('alice', { n: a }, { bob: { n: { alice: 1 } } })), await gatherFacts(source('bob', { n: b }, { alice: { n: { alice: 1 } } }))), [])
})
