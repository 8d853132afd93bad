// Three offices record prices with no network at all. They exchange bundles (files) through a
// shared mailbox folder, the way one would by email or USB stick, and the mailbox is a bad one:
// it delivers late, out of order, and some files twice. Every office still ends with every
// price, in the same order, and nothing is lost.
// Run: npx tsx --conditions=source examples/price-log.ts [seed]
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Node } from '@hearsay/gossip'
import { EventLog } from '@hearsay/model'
import { LevelStore } from '@hearsay/adapters/level'

type Tick = { office: string; symbol: string; price: number; day: number }
const OFFICES = ['new-york', 'london', 'hong-kong'] as const
const SYMBOLS = ['AAPL', 'HSBA', '0700', 'EURUSD', 'GOLD']
const seed = Number(process.argv[2] ?? 42)
// A seeded PRNG so a run can be replayed: mulberry32.
let state = seed >>> 0
const random = () => {
  state = (state + 0x6d2b79f5) >>> 0
  let t = Math.imul(state ^ (state >>> 15), state | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const dir = await mkdtemp(join(tmpdir(), 'hearsay-prices-'))
const mailbox = join(dir, 'mailbox')
await mkdir(mailbox)
const offices = new Map<string, { node: Node; log: EventLog<Tick> }>()
for (const name of OFFICES) {
  // No listen(), no connect(): these nodes only ever see each other through files.
  const node = new Node({ id: name, networkKey: 'prices', store: new LevelStore(join(dir, name)) })
  offices.set(name, { node, log: await node.open('prices', EventLog<Tick>) })
}

let written = 0
let posted = 0
let delivered = 0
let duplicates = 0
const pending: string[] = [] // files in the mailbox not yet delivered
const deliveredOnce: string[] = [] // files the mailbox may deliver again

async function post(day: number): Promise<void> {
  for (const [from, { node }] of offices) {
    for (const to of OFFICES) {
      if (to === from) continue
      const file = `${String(day).padStart(2, '0')}-${from}-to-${to}.hsb`
      await writeFile(join(mailbox, file), await node.exportBundle({ for: to }))
      pending.push(file)
      posted++
    }
  }
}

async function deliver(file: string): Promise<void> {
  const to = /-to-(.+)\.hsb$/.exec(file)![1]!
  const r = await offices.get(to)!.node.importBundle(new Uint8Array(await readFile(join(mailbox, file))))
  delivered++
  if (r.waiting > 0) console.log(`    ${to} got ${file}: ${r.applied} new, ${r.waiting} waiting for an earlier bundle`)
}

// The mailbox: each file has a 50% chance of arriving today, arrivals are shuffled, and a
// delivered file comes again later with 30% chance.
async function mailRound(): Promise<void> {
  const today = pending.filter(() => random() < 0.5)
  for (const f of today) pending.splice(pending.indexOf(f), 1)
  const again = deliveredOnce.filter(() => random() < 0.3)
  for (const f of again) deliveredOnce.splice(deliveredOnce.indexOf(f), 1)
  const batch = [...today, ...again].sort(() => random() - 0.5)
  for (const f of batch) {
    if (again.includes(f)) duplicates++
    else deliveredOnce.push(f)
    await deliver(f)
  }
}

const same = () => {
  const logs = [...offices.values()].map((o) => Buffer.from(o.log.encodeState()))
  return logs.every((l) => l.equals(logs[0]!))
}

let ok = false
try {
  for (let day = 1; day <= 4; day++) {
    for (const [name, { log }] of offices) {
      const n = 2 + Math.floor(random() * 3)
      for (let i = 0; i < n; i++) {
        log.append({ office: name, symbol: SYMBOLS[Math.floor(random() * SYMBOLS.length)]!, price: Math.round(random() * 100_000) / 100, day })
        written++
      }
    }
    await post(day)
    await mailRound()
    console.log(`day ${day}: ${written} prices recorded so far; ${[...offices].map(([n, o]) => `${n} holds ${o.log.length}`).join(', ')}; ${pending.length} files still in the mail`)
  }
  // Trading is over; the offices keep mailing each other until every log is complete.
  let day = 5
  while (!same() || [...offices.values()].some((o) => o.log.length !== written)) {
    if (day > 40) throw new Error('the mailbox never caught up')
    await post(day)
    await mailRound()
    console.log(`day ${day}: ${[...offices].map(([n, o]) => `${n} holds ${o.log.length}`).join(', ')}`)
    day++
  }
  const files = (await readdir(mailbox)).length
  console.log(`\nafter ${day - 1} days: ${posted} bundles posted (${files} files), ${delivered} deliveries, ${duplicates} of them duplicates`)
  const ny = offices.get('new-york')!.log.events()
  console.log(`every office holds all ${written} prices in the same order; the last three:`)
  for (const e of ny.slice(-3)) console.log(`  day ${e.value.day} ${e.value.office.padEnd(9)} ${e.value.symbol.padEnd(6)} ${e.value.price}`)
  ok = same() && [...offices.values()].every((o) => o.log.length === written)
  console.log(ok ? 'all three offices converged; nothing was lost' : 'MISMATCH')
} finally {
  await Promise.all([...offices.values()].map((o) => o.node.close()))
  await rm(dir, { recursive: true, force: true })
}
process.exit(ok ? 0 : 1)
