// Byte-budgeted bundles (issue 20, part 2): each bundle holds the oldest updates the peer lacks
// that fit in maxBytes, the next picks up where the last stopped (from what earlier bundles
// carried, reset by the peer's acknowledgement), and a lost bundle is carried again.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MemoryStore, VersionVector } from '@hearsay/core'
import { prng, withSeed } from '@hearsay/core/testing'
import { openDataNode } from '@hearsay/cli'
import { Node } from '@hearsay/gossip'
import { LWWMap } from '@hearsay/model'
import { Running, hearsay, tempDir } from './helpers/cli.ts'

const BUDGET = 64 * 1024
const KEY = 'bundle-budget-net'

async function backlog(a: Node, rng: prng.PRNG, bytes: number): Promise<LWWMap<string>> {
  const log = await a.open('field-log', LWWMap<string>)
  let i = 0
  let estimate = 0
  while (estimate < bytes) {
    for (let k = 0; k < 1000; k++, i++) {
      const v = prng.word(rng, 40, 200)
      log.set(`reading-${i}`, v)
      estimate += v.length + 20
    }
    if (estimate >= bytes) estimate = log.encodeRanges(log.historySince(new VersionVector())).length
  }
  await a.flush()
  return log as LWWMap<string>
}

const whole = (log: LWWMap<string>) => log.encodeRanges(log.historySince(new VersionVector())).length

test('a 10 MiB backlog in 64 KiB bundles carried one way, acknowledged now and then: ceil(backlog / budget) + 2 bundles, no duplicate', { timeout: 240_000 }, async () => {
  await withSeed('budget bundles 10 MiB', async (rng) => {
    const a = new Node({ id: 'device', networkKey: KEY })
    const b = new Node({ id: 'camp', networkKey: KEY })
    try {
      const log = await backlog(a, rng, 10 * 2 ** 20)
      let bundles = 0
      let carried = 0
      for (;;) {
        assert.ok(bundles < 400, 'bounded')
        const r = await a.exportBundleReport({ for: 'camp', maxBytes: BUDGET })
        bundles++
        carried += r.bytes.length
        assert.ok(r.bytes.length <= BUDGET, `bundle ${bundles} is ${r.bytes.length} bytes`)
        const got = await b.importBundle(r.bytes)
        assert.equal(got.waiting, 0, 'every bundle applies at once: oldest first, no gap')
        // The camp answers now and then (its digest acknowledges what arrived).
        if (bundles % 16 === 0) await a.importBundle(await b.exportBundle({ for: 'device' }))
        if (r.complete) break
        assert.ok(r.updates > 0)
      }
      const camp = b.get('field-log') as LWWMap<string>
      assert.equal(camp.clock.compare(log.clock), 'equal')
      assert.deepEqual(camp.toJSON(), log.toJSON())
      const bound = Math.ceil(whole(log) / BUDGET) + 2
      console.log(`backlog ${whole(log)} B in ${bundles} bundles of <= ${BUDGET} B (bound ${bound}), ${carried} B carried; duplicate updates ${camp.stats.duplicates}`)
      assert.ok(bundles <= bound, `${bundles} bundles, bound ${bound}`)
      assert.equal(camp.stats.duplicates, 0)
      const last = await a.exportBundleReport({ for: 'camp', maxBytes: BUDGET })
      assert.equal(last.updates, 0)
      assert.equal(last.complete, true)
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })
})

test('a lost bundle is carried again after the next acknowledgement; duplicates stay within the bundles sent before it', { timeout: 120_000 }, async () => {
  await withSeed('budget bundles loss', async (rng) => {
    const a = new Node({ id: 'device', networkKey: KEY })
    const b = new Node({ id: 'camp', networkKey: KEY })
    try {
      const budget = 16 * 1024
      const log = await backlog(a, rng, 512 * 1024)
      const lost = 3
      const ackAfter = 8
      let inFlight = 0
      for (let n = 1; ; n++) {
        assert.ok(n < 200, 'bounded')
        const r = await a.exportBundleReport({ for: 'camp', maxBytes: budget })
        if (n !== lost) await b.importBundle(r.bytes)
        if (n > lost && n <= ackAfter) inFlight += r.updates
        if (n === ackAfter || (r.complete && n > ackAfter)) {
          await a.importBundle(await b.exportBundle({ for: 'device' }))
          if (r.complete && (b.get('field-log') as LWWMap<string>).clock.compare(log.clock) === 'equal') break
        }
      }
      const camp = b.get('field-log') as LWWMap<string>
      assert.deepEqual(camp.toJSON(), log.toJSON())
      console.log(`bundle ${lost} of ${budget} B lost, acknowledged after ${ackAfter}: ${camp.stats.duplicates} duplicate updates (bound ${inFlight}: the updates of bundles ${lost + 1}..${ackAfter})`)
      assert.ok(camp.stats.duplicates <= inFlight, `${camp.stats.duplicates} duplicates > ${inFlight}`)
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })
})

test('a node restarted on its store resumes the one-way sequence where its last bundle stopped', async () => {
  const store = new MemoryStore()
  let a = new Node({ id: 'device', networkKey: KEY, store })
  const b = new Node({ id: 'camp', networkKey: KEY })
  try {
    const m = await a.open('log', LWWMap<string>)
    for (let i = 0; i < 300; i++) m.set(`k${i}`, 'x'.repeat(100))
    const expected = m.toJSON()
    const first = await a.exportBundleReport({ for: 'camp', maxBytes: 8192 })
    assert.equal(first.complete, false)
    await a.close()
    a = new Node({ id: 'device', networkKey: KEY, store })
    for (let r = first; ; ) {
      const got = await b.importBundle(r.bytes)
      assert.equal(got.waiting, 0)
      if (r.complete) break
      r = await a.exportBundleReport({ for: 'camp', maxBytes: 8192 })
    }
    assert.deepEqual(b.get('log')!.toJSON(), expected)
    assert.equal(b.get('log')!.stats.duplicates, 0)
  } finally {
    await Promise.all([a.close(), b.close()])
  }
})

test('a budget that cannot hold the header or the first update is refused with HEARSAY_LIMIT_EXCEEDED, recording nothing', async () => {
  const a = new Node({ id: 'device', networkKey: KEY })
  try {
    const m = await a.open('big', LWWMap<string>)
    m.set('k', 'v'.repeat(5000))
    await assert.rejects(a.exportBundleReport({ for: 'camp', maxBytes: 40 }), (e: any) => e.code === 'HEARSAY_LIMIT_EXCEEDED' && /header and this node's digest/.test(e.message))
    await assert.rejects(a.exportBundleReport({ for: 'camp', maxBytes: 1000 }), (e: any) => e.code === 'HEARSAY_LIMIT_EXCEEDED' && /next update of/.test(e.message))
    await assert.rejects(a.exportBundleReport({ for: 'camp', maxBytes: 0 }), RangeError)
    const r = await a.exportBundleReport({ for: 'camp', maxBytes: 8000 })
    assert.equal(r.complete, true)
    assert.ok(r.updates >= 1)
  } finally {
    await a.close()
  }
})

test('hearsay bundle export --max-bytes: files of at most N bytes, each picking up where the last stopped', { timeout: 180_000 }, async () => {
  const { dir, cleanup } = await tempDir('bundle-budget')
  try {
    const a = await openDataNode({ dataDir: `${dir}/a`, networkKey: KEY, id: 'alice' })
    const log = await a.open('field-log', LWWMap<string>)
    for (let i = 0; i < 1500; i++) log.set(`r${i}`, `reading ${i} `.repeat(10))
    const size = whole(log as LWWMap<string>)
    const expected = (log as LWWMap<string>).toJSON()
    await a.close()
    let r = await hearsay(['bundle', 'export', '--data', `${dir}/a`, '--key', KEY, '--for', 'bob', '--max-bytes', 'lots', `${dir}/x.hsb`])
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /--max-bytes takes a positive number of bytes/)
    r = await hearsay(['bundle', 'export', '--data', `${dir}/a`, '--key', KEY, '--for', 'bob', '--max-bytes', '30', `${dir}/x.hsb`])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /--max-bytes 30 is too small/)
    // The first through the daemon (it holds the database); the rest with no daemon, resuming
    // from what the daemon recorded as sent.
    const daemon = new Running(['peer', '--data', `${dir}/a`], { HEARSAY_KEY: KEY })
    await daemon.waitFor(/node alice ready/)
    r = await hearsay(['bundle', 'export', '--data', `${dir}/a`, '--for', 'bob', '--max-bytes', '64KiB', `${dir}/to-bob-1.hsb`])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /for bob: \d+ update\(s\); more to send/)
    assert.equal(await daemon.stop('SIGTERM'), 0)
    r = await hearsay(['bundle', 'import', '--data', `${dir}/b`, '--key', KEY, `${dir}/to-bob-1.hsb`])
    assert.equal(r.code, 0, r.stderr)
    let files = 1
    for (;;) {
      assert.ok(files < 20, 'bounded')
      const f = `${dir}/to-bob-${++files}.hsb`
      r = await hearsay(['bundle', 'export', '--data', `${dir}/a`, '--key', KEY, '--for', 'bob', '--max-bytes', '64KiB', f])
      assert.equal(r.code, 0, r.stderr)
      const { size: bytes } = await import('node:fs').then((fs) => fs.statSync(f))
      assert.ok(bytes <= 65536, `${f} is ${bytes} bytes`)
      const imp = await hearsay(['bundle', 'import', '--data', `${dir}/b`, '--key', KEY, f])
      assert.equal(imp.code, 0, imp.stderr)
      assert.doesNotMatch(imp.stdout, /waiting/)
      if (!/more to send/.test(r.stdout)) break
    }
    assert.ok(files <= Math.ceil(size / 65536) + 2, `${files} files for ${size} bytes`)
    const b = await openDataNode({ dataDir: `${dir}/b`, networkKey: KEY, id: 'bob' })
    const got = await b.open('field-log', LWWMap<string>)
    assert.deepEqual(got.toJSON(), expected)
    await b.close()
  } finally {
    await cleanup()
  }
})
