import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { VersionVector, type Range } from '@hearsay/core'
import { prng, withSeed } from '@hearsay/core/testing'
import { LWWMap, ORSet } from '@hearsay/model'
import { List } from '@hearsay/seq'
import { OldestFirst, SyncBudget, largestFitting } from '@hearsay/gossip'

describe('largestFitting', () => {
  it('finds the largest n that fits, for every threshold and guess', () => {
    for (let max = 0; max <= 40; max++) {
      for (let limit = 0; limit <= max + 2; limit++) {
        for (const guess of [1, 3, 17, 1000]) {
          let calls = 0
          const n = largestFitting(max, (k) => {
            calls++
            assert.ok(k >= 1 && k <= max, `probe ${k} in 1..${max}`)
            return k <= limit
          }, guess)
          assert.equal(n, Math.min(limit, max), `max ${max} limit ${limit} guess ${guess}`)
          assert.ok(calls <= 2 * Math.ceil(Math.log2(max + 2)) + 2, `${calls} calls`)
        }
      }
    }
  })
})

// Three replicas edit concurrently and sync now and then; one's whole history is then cut into
// random prefixes, oldest first, and applied to a fresh replica prefix by prefix: nothing ever
// waits for a dependency (every prefix applies without gaps) and the end state is equal.
function checkPrefixes(rng: prng.PRNG, make: (id: string) => any, edit: (r: any, rng: prng.PRNG) => void): void {
  const rs = ['a', 'b', 'c'].map(make)
  for (let step = 0; step < 120; step++) {
    edit(rs[prng.uint32(rng, 0, 2)], rng)
    if (prng.uint32(rng, 0, 4) === 0) {
      const [x, y] = [rs[prng.uint32(rng, 0, 2)], rs[prng.uint32(rng, 0, 2)]]
      y.applyRanges(x.historySince(y.clock))
    }
  }
  const src = rs[0]!
  for (const r of rs.slice(1)) src.applyRanges(r.historySince(src.clock))
  const start = prng.uint32(rng, 0, 1) === 0 ? new VersionVector() : rs[1]!.clock.clone()
  const dst = make('d')
  if (start.size > 0) dst.applyRanges(rs[1]!.historySince(new VersionVector()))
  const cursor = new OldestFirst(src.historySince(start) as Range<unknown>[], { since: start, depsOf: (u) => src.dependencies(u) })
  let lastTime = -Infinity
  while (!cursor.done) {
    const chunk = cursor.take(prng.uint32(rng, 1, 7))
    const at = dst.clock.clone()
    for (const r of chunk) {
      assert.ok(r.from <= at.get(r.source), `piece of ${r.source} from ${r.from} starts past ${at.get(r.source)}`)
      at.advance(r.source, r.to)
      for (const u of r.updates) lastTime = Math.max(lastTime, u.time)
    }
    dst.applyRanges(chunk)
    assert.equal(dst.pendingCount, 0, 'a prefix left an update waiting')
  }
  assert.equal(dst.clock.compare(src.clock), 'equal')
  assert.deepEqual(dst.toJSON(), src.toJSON())
}

describe('OldestFirst', () => {
  it('cuts an OR-Set history (removes depend on adds) into prefixes that apply without gaps', async () => {
    for (let run = 0; run < 20; run++) {
      await withSeed('oldest-first orset', (rng) =>
        checkPrefixes(rng, (id) => new ORSet<number>({ id }), (r, g) => {
          const v = prng.uint32(g, 0, 9)
          if (prng.bool(g) && r.has(v)) r.delete(v)
          else r.add(v)
        }),
      )
    }
  })

  it('does so for a compacting LWW map (ranges wider than their updates) and a list of runs', async () => {
    for (let run = 0; run < 10; run++) {
      await withSeed('oldest-first lww', (rng) => checkPrefixes(rng, (id) => new LWWMap<number>({ id }), (r, g) => r.set(`k${prng.uint32(g, 0, 5)}`, prng.uint32(g, 0, 99))))
      await withSeed('oldest-first list', (rng) =>
        checkPrefixes(rng, (id) => new List<string>({ id }), (r, g) => {
          if (r.length > 0 && prng.uint32(g, 0, 3) === 0) r.delete(prng.uint32(g, 0, r.length - 1))
          else r.insert(prng.uint32(g, 0, r.length), prng.word(g, 1, 4).split(''))
        }),
      )
    }
  })

  it('takes the oldest update across sources, each source in seq order', () => {
    const u = (source: string, seq: number, time: number) => ({ source: source as any, seq, time, op: null })
    const ranges: Range<null>[] = [
      { source: 'a' as any, from: 0, to: 3, updates: [u('a', 1, 10), u('a', 2, 40), u('a', 3, 41)] },
      { source: 'b' as any, from: 0, to: 9, updates: [u('b', 2, 20), u('b', 5, 30)] },
      { source: 'c' as any, from: 4, to: 7, updates: [] },
    ]
    const c = new OldestFirst(ranges)
    assert.equal(c.remaining, 5)
    assert.deepEqual(c.take(2), [
      { source: 'a', from: 0, to: 1, updates: [ranges[0]!.updates[0]] },
      // b's first kept update is seq 2: the first take moves the peer past seq 1 too.
      { source: 'b', from: 0, to: 1, updates: [] },
      { source: 'b', from: 1, to: 4, updates: [ranges[1]!.updates[0]] },
      { source: 'c', from: 4, to: 7, updates: [] },
    ])
    assert.deepEqual(c.peek(1), [{ source: 'b', from: 4, to: 9, updates: [ranges[1]!.updates[1]] }])
    assert.deepEqual(c.take(1), [{ source: 'b', from: 4, to: 9, updates: [ranges[1]!.updates[1]] }])
    assert.deepEqual(c.take(5), [{ source: 'a', from: 1, to: 3, updates: ranges[0]!.updates.slice(1) }])
    assert.equal(c.done, true)
  })
})

describe('SyncBudget', () => {
  const map = new LWWMap<string>({ id: 'w' })
  for (let i = 0; i < 500; i++) map.set(`key${i}`, 'x'.repeat(100 + (i % 50)))
  const encode = (chunk: readonly Range<any>[]) => map.encodeRanges(chunk)

  it('yields frames that fit the budget, oldest first, and resumes exactly where it stopped', () => {
    let peer = new VersionVector()
    let sessions = 0
    let total = 0
    while (peer.compare(map.clock) !== 'equal') {
      assert.ok(++sessions < 100)
      const b = new SyncBudget(4096)
      const since = b.since('m', peer)
      for (const f of b.frames('m', map.historySince(since), 1500, encode, () => assert.fail('no update is too large'))) {
        assert.ok(f.length <= 1500, `frame of ${f.length}`)
        const got = map.decodeRanges(f)
        for (const r of got) {
          assert.equal(r.from, peer.get(r.source), 'each piece starts where the peer stands')
          peer.set(r.source, r.to)
        }
      }
      assert.ok(b.spent <= 4096, `spent ${b.spent}`)
      if (b.exhausted) assert.ok(b.spent > 4096 - 2 * 200, `a session stopped at ${b.spent} bytes`)
      total += b.spent
    }
    const whole = map.encodeRanges(map.historySince(new VersionVector())).length
    assert.ok(sessions <= Math.ceil(whole / 4096) + 2, `${sessions} sessions for ${whole} bytes`)
    assert.ok(total < whole * 1.05, `${total} bytes sent for ${whole}`)
  })

  it('sends a first update larger than the budget alone, then stops; refuses one over the frame cap', () => {
    const b = new SyncBudget(50)
    const frames = [...b.frames('m', map.historySince(new VersionVector()), 1 << 20, encode, () => assert.fail())]
    assert.equal(frames.length, 1)
    assert.equal(b.updates, 1)
    assert.equal(b.exhausted, true)
    assert.equal(b.overBudget, b.spent - 50)
    assert.ok(b.overBudget > 0)
    // A second object in the same session gets nothing more.
    assert.deepEqual([...b.frames('n', map.historySince(new VersionVector()), 1 << 20, encode, () => assert.fail())], [])
    let tooLarge = 0
    const c = new SyncBudget(1 << 20)
    assert.deepEqual([...c.frames('m', map.historySince(new VersionVector()), 40, encode, (n) => (tooLarge = n))], [])
    assert.ok(tooLarge > 40)
  })

  it('a later round of one session starts past what it queued', () => {
    const b = new SyncBudget(Infinity)
    const peer = new VersionVector()
    const first = [...b.frames('m', map.historySince(b.since('m', peer)), 1 << 20, encode, () => {})]
    assert.ok(first.length >= 1)
    assert.deepEqual(map.historySince(b.since('m', peer)), [])
  })
})
