import { test } from 'node:test'
import assert from 'node:assert/strict'
import { prng, withSeed } from '@hearsay/core/testing'
import { EventQueue, Simulation } from '@hearsay/gossip/sim'

test('EventQueue pops in (time, insertion) order, matching a stable sort', async () => {
  await withSeed('event queue order', (rng) => {
    for (let run = 0; run < 50; run++) {
      const q = new EventQueue<number>()
      const pushed: Array<{ time: number; id: number }> = []
      const cancelled = new Set<number>()
      const handles = []
      const n = prng.int53(rng, 0, 300)
      for (let id = 0; id < n; id++) {
        // Few distinct times, so ties are common.
        const time = prng.int53(rng, 0, 20)
        pushed.push({ time, id })
        handles.push(q.push(time, id))
      }
      for (let id = 0; id < n; id++) {
        if (prng.bool(rng) && prng.bool(rng)) {
          q.cancel(handles[id]!)
          q.cancel(handles[id]!)
          cancelled.add(id)
        }
      }
      const expected = pushed.filter((p) => !cancelled.has(p.id)).sort((a, b) => a.time - b.time || a.id - b.id).map((p) => p.id)
      assert.equal(q.size, expected.length)
      const got: number[] = []
      for (let ev = q.pop(); ev !== undefined; ev = q.pop()) {
        assert.equal(ev.active, false)
        got.push(ev.value)
      }
      assert.deepEqual(got, expected)
      assert.equal(q.size, 0)
      assert.equal(q.peek(), undefined)
    }
  })
})

test('EventQueue interleaves pushes and pops correctly', async () => {
  await withSeed('event queue interleave', (rng) => {
    const q = new EventQueue<number>()
    const model: Array<{ time: number; seq: number }> = []
    let seq = 0
    let now = 0
    for (let step = 0; step < 5000; step++) {
      if (prng.int53(rng, 0, 2) > 0) {
        const time = now + prng.int53(rng, 0, 50)
        q.push(time, seq)
        model.push({ time, seq })
        seq++
      } else {
        model.sort((a, b) => a.time - b.time || a.seq - b.seq)
        const want = model.shift()
        const ev = q.pop()
        assert.equal(ev?.value, want?.seq)
        if (ev) now = ev.time
      }
    }
  })
})

test('cancelling a fired event does not change the size', () => {
  const q = new EventQueue<string>()
  const a = q.push(1, 'a')
  q.push(2, 'b')
  assert.equal(q.pop(), a)
  q.cancel(a)
  assert.equal(q.size, 1)
  assert.throws(() => q.push(Number.NaN, 'x'), RangeError)
})

test('Simulation runs events in virtual time and timers can be cleared or killed', async () => {
  const sim = new Simulation({ seed: 1 })
  const log: string[] = []
  const t = sim.createTimers()
  t.setTimeout(() => log.push(`a@${sim.time}`), 100)
  const h = t.setTimeout(() => log.push(`b@${sim.time}`), 50)
  t.clearTimeout(h)
  t.setTimeout(() => {
    log.push(`c@${sim.time}`)
    t.setTimeout(() => log.push(`d@${sim.time}`), 0)
  }, 100)
  const other = sim.createTimers()
  other.setTimeout(() => log.push('never'), 10)
  other.kill()
  other.setTimeout(() => log.push('never either'), 10)
  assert.equal(await sim.run({ until: 1000 }), 'idle')
  assert.deepEqual(log, ['a@100', 'c@100', 'd@100'])
  assert.equal(sim.time, 1000)
  assert.equal(sim.now(), sim.epoch + 1000)
  assert.equal(t.pending, 0)
})

test('Simulation settles promise continuations between events', async () => {
  const sim = new Simulation({ seed: 2 })
  const log: string[] = []
  sim.schedule(10, () => {
    void (async () => {
      await Promise.resolve()
      await new Promise<void>((r) => queueMicrotask(r))
      log.push(`continuation@${sim.time}`)
    })()
  })
  sim.schedule(10, () => log.push(`next@${sim.time}`))
  await sim.run()
  assert.deepEqual(log, ['continuation@10', 'next@10'])
})

test('Simulation: same seed, same draws; stopWhen and until stop the run; errors are collected', async () => {
  const a = new Simulation({ seed: 99 })
  const b = new Simulation({ seed: 99 })
  const c = new Simulation({ seed: 100 })
  const draws = (s: Simulation) => Array.from({ length: 20 }, () => s.random())
  const da = draws(a)
  assert.deepEqual(draws(b), da)
  assert.notDeepEqual(draws(c), da)
  const fa = a.fork()
  const fb = b.fork()
  assert.equal(fa(), fb())
  assert.equal(a.chance(0), false)
  assert.equal(a.chance(1), true)

  const sim = new Simulation({ seed: 3 })
  let ticks = 0
  const tick = () => {
    ticks++
    sim.schedule(10, tick)
  }
  sim.schedule(0, tick)
  sim.schedule(5, () => {
    throw new Error('boom')
  })
  assert.equal(await sim.run({ stopWhen: () => ticks === 5 }), 'stopped')
  assert.equal(sim.time, 40)
  assert.equal(await sim.run({ until: 100 }), 'until')
  assert.equal(sim.time, 100)
  assert.equal(ticks, 11)
  assert.equal(await sim.run({ maxEvents: 3 }), 'maxEvents')
  assert.equal(sim.errors.length, 1)
  assert.match(String(sim.errors[0]), /boom/)
  assert.throws(() => new Simulation({ seed: 1.5 }), RangeError)
  assert.throws(() => sim.schedule(-1, () => {}), RangeError)
  // chance(0) and chance(1) draw nothing: a disabled fault does not shift the run.
  const x = new Simulation({ seed: 8 })
  const y = new Simulation({ seed: 8 })
  x.chance(0)
  x.chance(1)
  assert.equal(x.random(), y.random())
})
