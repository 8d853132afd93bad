// Byte-budgeted sync (issue 20, part 2): a backlog written offline crosses a link that carries
// at most `budget` bytes of updates per session (node.sync over TCP on loopback) or per bundle
// (exportBundleReport). Reported per row: sessions or bundles needed against
// ceil(backlog / budget), bytes of updates sent against the backlog (its history encoded in one
// piece), all bytes out of the sessions (digest exchange included, not the channel's
// handshake), and updates the receiver got twice. The last row sends through a proxy that cuts
// the connection on 4% of frames.
// Run: npm run bench -- budget        (BUDGET_MIB=10 sets the backlog)
import { TcpTransport } from '@hearsay/adapters'
import { FaultProxy, createRandom } from '@hearsay/cli'
import { VersionVector } from '@hearsay/core'
import { createPrng, prng } from '@hearsay/core/testing'
import { Node } from '@hearsay/gossip'
import { LWWMap } from '@hearsay/model'
import { group } from './harness.ts'

const KEY = 'budget-bench'

async function backlog(a: Node, bytes: number): Promise<LWWMap<string>> {
  const rng = createPrng(20)
  const log = (await a.open('field-log', LWWMap<string>)) as LWWMap<string>
  let i = 0
  let estimate = 0
  while (estimate < bytes) {
    for (let k = 0; k < 1000; k++, i++) {
      const v = prng.word(rng, 40, 200)
      log.set(`reading-${i}`, v)
      estimate += v.length + 20
    }
    if (estimate >= bytes) estimate = whole(log)
  }
  await a.flush()
  return log
}

const whole = (log: LWWMap<string>): number => log.encodeRanges(log.historySince(new VersionVector())).length

async function sessions(bytes: number, budget: number, lossy: boolean) {
  const a = new Node({ id: 'device', networkKey: KEY, interval: 60_000, transports: [new TcpTransport()] })
  const b = new Node({ id: 'camp', networkKey: KEY, interval: 60_000, transports: [new TcpTransport()] })
  let proxy: FaultProxy | undefined
  try {
    let url = await b.listen('tcp://127.0.0.1:0')
    if (lossy) {
      proxy = new FaultProxy({ host: '127.0.0.1', port: Number(new URL(url).port) }, { loss: 0.04, latency: 0, jitter: 0, lossMode: 'reset' }, createRandom(20))
      url = `tcp://127.0.0.1:${await proxy.listen()}`
    }
    const log = await backlog(a, bytes)
    const size = whole(log)
    let n = 0
    let failed = 0
    let cut = 0
    let sent = 0
    let out = 0
    for (;;) {
      let r
      try {
        r = await a.sync(url, { maxBytes: budget, timeout: 10_000 })
      } catch {
        failed++
        continue
      }
      n++
      sent += r.sentBytes
      out += r.bytesOut
      if (r.stopped === 'closed') cut++
      if (r.complete) break
    }
    const camp = b.get('field-log') as LWWMap<string>
    if (camp.clock.compare(log.clock) !== 'equal') throw new Error('the backlog did not arrive whole')
    return {
      bytes: sent,
      extra: {
        backlog: size,
        sessions: n,
        'ceil(backlog/budget)': Math.ceil(size / budget),
        'sent/backlog': (sent / size).toFixed(4),
        'bytes out/backlog': (out / size).toFixed(4),
        'dup updates': camp.stats.duplicates,
        ...(lossy && { 'cut mid-session': cut, 'cut in handshake': failed }),
      },
    }
  } finally {
    await proxy?.close()
    await Promise.all([a.close(), b.close()])
  }
}

async function bundles(bytes: number, budget: number) {
  const a = new Node({ id: 'device', networkKey: KEY })
  const b = new Node({ id: 'camp', networkKey: KEY })
  try {
    const log = await backlog(a, bytes)
    const size = whole(log)
    let n = 0
    let carried = 0
    for (;;) {
      const r = await a.exportBundleReport({ for: 'camp', maxBytes: budget })
      n++
      carried += r.bytes.length
      await b.importBundle(r.bytes)
      if (n % 16 === 0) await a.importBundle(await b.exportBundle({ for: 'device' }))
      if (r.complete) break
    }
    const camp = b.get('field-log') as LWWMap<string>
    if (camp.clock.compare(log.clock) !== 'equal') throw new Error('the backlog did not arrive whole')
    return { bytes: carried, extra: { backlog: size, bundles: n, 'ceil(backlog/budget)': Math.ceil(size / budget), 'file bytes/backlog': (carried / size).toFixed(4), 'dup updates': camp.stats.duplicates } }
  } finally {
    await Promise.all([a.close(), b.close()])
  }
}

export async function run(): Promise<void> {
  const mib = Number(process.env['BUDGET_MIB']) || 10
  for (const budget of [64 * 1024, 256 * 1024]) {
    const g = group(`budget: ${mib} MiB backlog, ${budget / 1024} KiB per session or bundle`, 'node.sync over TCP')
    await g.add('node.sync over TCP', () => sessions(mib * 2 ** 20, budget, false), 1)
    await g.add('bundles (acked every 16)', () => bundles(mib * 2 ** 20, budget), 1)
    if (budget === 64 * 1024) await g.add('node.sync, proxy cuts 4% of frames', () => sessions(mib * 2 ** 20, budget, true), 1)
    g.print()
  }
}
