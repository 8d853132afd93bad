import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { PeerTable, type PeerTableOptions } from '@hearsay/gossip'

function table(options: Partial<PeerTableOptions> = {}) {
  const clock = { t: 1000 }
  const events: string[] = []
  let r = 0
  const peers = new PeerTable({
    interval: 100,
    heartbeatInterval: undefined,
    suspectAfter: undefined,
    now: () => clock.t,
    // A fixed cycle of "random" numbers: enough to tell a shuffle from the identity.
    random: () => [0.9, 0.1, 0.5, 0.3][r++ % 4]!,
    log: () => {},
    suspected: (id) => events.push(`suspected ${id}`),
    recovered: (id) => events.push(`recovered ${id}`),
    ...options,
  })
  return { peers, clock, events }
}

describe('PeerTable', () => {
  it('beats every 5 intervals up to 25 members, then scales with members / 5', () => {
    const { peers } = table()
    assert.equal(peers.heartbeatInterval, 500)
    for (let i = 0; i < 29; i++) peers.member(`p${i}`)
    assert.equal(peers.heartbeatInterval, 600) // 30 members
    assert.equal(peers.suspectAfter, 2400)
    assert.equal(table({ heartbeatInterval: 70, suspectAfter: 90 }).peers.suspectAfter, 90)
  })

  it('jitters the next beat to 0.5..1.5 heartbeat intervals', () => {
    const { peers, clock } = table({ random: () => 0.9 })
    assert.equal(peers.beatDue, true)
    peers.beaten()
    clock.t += 500 * 1.4 - 1
    assert.equal(peers.beatDue, false)
    clock.t += 1
    assert.equal(peers.beatDue, true)
  })

  it('reads the heartbeat interval when the beat is due: members learned after a beat delay the next', () => {
    const { peers, clock } = table({ random: () => 0.5 })
    peers.beaten()
    // Beaten knowing no one: due after 500 ms. Then 99 members arrive: 100 members beat every 2 s.
    for (let i = 0; i < 99; i++) peers.member(`p${i}`)
    clock.t += 1999
    assert.equal(peers.beatDue, false)
    clock.t += 1
    assert.equal(peers.beatDue, true)
  })

  it('samples k distinct elements with k random draws', () => {
    let draws = 0
    const seq = [0.9, 0.1, 0.5, 0.3]
    const { peers } = table({ random: () => seq[draws++ % 4]! })
    const all = Array.from({ length: 1000 }, (_, i) => i)
    const a = [...all]
    peers.sample(a, 3)
    assert.equal(a.length, 3)
    assert.equal(draws, 3)
    assert.equal(new Set(a).size, 3)
    for (const x of a) assert.ok(all.includes(x))
    // k >= length: every element, shuffled.
    const b = [1, 2, 3]
    peers.sample(b, 5)
    assert.deepEqual([...b].sort(), [1, 2, 3])
    // Every element can be picked: over many seeded draws, all of a small array show up first.
    let x = 12345
    const lcg = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    const seen = new Set<number>()
    const t = table({ random: lcg }).peers
    for (let i = 0; i < 200; i++) {
      const c = [0, 1, 2, 3, 4, 5, 6, 7]
      t.sample(c, 1)
      seen.add(c[0]!)
    }
    assert.equal(seen.size, 8)
  })

  it('suspects a silent peer that is not connected, and lets it recover when heard', () => {
    const { peers, clock, events } = table({ suspectAfter: 300 })
    peers.member('a')
    peers.member('b')
    clock.t += 301
    peers.suspect(new Map([['b', {}]]))
    assert.deepEqual(events, ['suspected a'])
    assert.equal(peers.peers.get('a')!.suspected, true)
    assert.equal(peers.peers.get('b')!.suspected, false)
    peers.suspect(new Map())
    assert.deepEqual(events, ['suspected a', 'suspected b'], 'each peer is suspected once')
    // Heard long ago: still suspected.
    peers.heard('a', clock.t - 400)
    assert.equal(peers.peers.get('a')!.suspected, true)
    peers.heard('a', clock.t)
    assert.equal(peers.peers.get('a')!.suspected, false)
    peers.member('b')
    assert.deepEqual(events, ['suspected a', 'suspected b', 'recovered a', 'recovered b'])
  })

  it('records syncs, and never moves lastHeard back', () => {
    const { peers, clock } = table()
    peers.synced('a', 900, 950)
    assert.deepEqual(peers.peers.get('a'), { lastHeard: 1000, suspected: false, lastSync: 900 })
    clock.t = 2000
    peers.heard('a', 1500)
    assert.equal(peers.peers.get('a')!.lastHeard, 1500)
  })

  it('offers peers not synced for an interval first, and leaves out suspected ones, itself and, when full, the unconnected', () => {
    const { peers, clock } = table({ suspectAfter: 300, random: () => 0 })
    for (const id of ['me', 'stale1', 'stale2', 'fresh', 'gone']) peers.member(id)
    clock.t += 301
    peers.suspect(new Map([['stale1', {}], ['stale2', {}], ['fresh', {}], ['me', {}]]))
    assert.equal(peers.peers.get('gone')!.suspected, true)
    peers.synced('stale1', clock.t - 100, clock.t)
    peers.synced('fresh', clock.t - 99, clock.t)
    const connected = new Map([['stale1', {}], ['fresh', {}], ['other', {}]])
    const all = peers.candidates(connected, false, 'me')
    assert.deepEqual(new Set(all.slice(0, 3)), new Set(['stale1', 'stale2', 'other']))
    assert.deepEqual(all.slice(3), ['fresh'])
    assert.ok(!all.includes('gone') && !all.includes('me'))
    assert.deepEqual(new Set(peers.candidates(connected, true, 'me')), new Set(['stale1', 'other', 'fresh']))
  })

  it('shuffles with the injected randomness (Fisher-Yates)', () => {
    const { peers } = table({ random: () => 0 })
    const a = [1, 2, 3, 4]
    peers.shuffle(a)
    // j = 0 at every step: each element in turn is swapped with the first.
    assert.deepEqual(a, [2, 3, 4, 1])
  })
})
