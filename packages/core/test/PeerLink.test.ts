import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { PeerLink, UPDATES_PER_FRAME, VersionVector, toReplicaId, type Range } from '@hearsay/core'

const s = toReplicaId('s')
const t = toReplicaId('t')
/** The range (from, to] of `source` holding every seq. */
const range = (source: typeof s, from: number, to: number): Range<number> => ({
  source,
  from,
  to,
  updates: Array.from({ length: to - from }, (_, i) => ({ source, seq: from + i + 1, time: from + i + 1, op: from + i + 1 })),
})
const tick = () => new Promise<void>((r) => queueMicrotask(r))
const shape = (sent: Array<[string, Range<number>[]]>) => sent.map(([k, chunk]) => [k, chunk.map((r) => `${r.source}(${r.from},${r.to}]:${r.updates.length}`)])

function link() {
  const sent: Array<[string, Range<number>[]]> = []
  return { link: new PeerLink<number>((key, chunk) => sent.push([key, chunk])), sent }
}

describe('PeerLink', () => {
  it('records what the peer sends before applying it, so applying (which emits it again) does not echo it back', async () => {
    const { link: l, sent } = link()
    let origin: unknown
    // A replica that emits what it applies, as Replicated does through 'ranges', straight into push.
    const replica = {
      historySince: () => [],
      applyRanges(ranges: readonly Range<number>[], o?: unknown) {
        origin = o
        l.push('x', ranges)
        return 'applied'
      },
    }
    assert.equal(l.receive('x', replica, [range(s, 0, 3)], 'peer'), 'applied')
    assert.equal(origin, 'peer')
    await tick()
    assert.deepEqual(sent, [])
    assert.deepEqual(l.known('x')?.toJSON(), { s: 3 })
  })

  it('batches the pushes of one tick into one chunk per key, joined per source, keys in first-push order', async () => {
    const { link: l, sent } = link()
    l.push('b', [range(s, 0, 1)])
    l.push('a', [range(s, 0, 2)])
    l.push('b', [range(s, 1, 3), range(t, 0, 1)])
    assert.deepEqual(sent, [], 'nothing before the microtask')
    await tick()
    assert.deepEqual(shape(sent), [
      ['b', ['s(0,3]:3', 't(0,1]:1']],
      ['a', ['s(0,2]:2']],
    ])
    l.push('a', [range(s, 2, 3)])
    await tick()
    assert.equal(sent.length, 3, 'a later tick flushes again')
  })

  it('pushes only what the peer does not hold: learned, sent or pushed before', async () => {
    const { link: l, sent } = link()
    l.learn('x', new VersionVector({ s: 2 }))
    l.learn('x', new VersionVector({ s: 1, t: 1 })) // merges, never lowers
    assert.deepEqual(l.known('x')?.toJSON(), { s: 2, t: 1 })
    const history = l.history('x', { historySince: (since) => [range(s, since.get(s), 4)], applyRanges: () => undefined }, new VersionVector({ s: 2 }))
    assert.equal(history.length, 1)
    l.push('x', [range(s, 0, 4), range(t, 0, 1)])
    l.push('x', [range(s, 3, 5)])
    await tick()
    assert.deepEqual(shape(sent), [['x', ['s(3,5]:2']]])
    l.reset('x', new VersionVector({ s: 1 }))
    l.push('x', [range(s, 1, 2)])
    await tick()
    assert.deepEqual(shape(sent).slice(1), [['x', ['s(1,2]:1']]], 'a reset forgets what was known')
  })

  it(`cuts a flush into chunks of at most ${UPDATES_PER_FRAME} updates`, async () => {
    const { link: l, sent } = link()
    l.push('x', [range(s, 0, UPDATES_PER_FRAME + 1)])
    await tick()
    assert.deepEqual(shape(sent), [['x', [`s(0,${UPDATES_PER_FRAME}]:${UPDATES_PER_FRAME}`]], ['x', [`s(${UPDATES_PER_FRAME},${UPDATES_PER_FRAME + 1}]:1`]]])
  })

  it('flush() sends at once, and the pending microtask then sends nothing', async () => {
    const { link: l, sent } = link()
    l.push('x', [range(s, 0, 1)])
    l.flush()
    assert.equal(sent.length, 1)
    await tick()
    assert.equal(sent.length, 1)
  })
})
