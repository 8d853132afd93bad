import { simulate } from '@hearsay/gossip/sim'
import { LWWMap, ORSet } from '@hearsay/model'
const t0 = performance.now()
const nodes = Number(process.argv[3] ?? 50)
const r = await simulate({
  seed: Number(process.argv[2] ?? 1), nodes, ops: { count: 300, until: 10000 }, heal: 10000,
  objects: [
    { id: 'map', type: LWWMap, write: (m: LWWMap<any>, r) => m.set(r.word(1), r.int(0, 99)) },
    { id: 'set', type: ORSet, write: (s: ORSet<any>, r) => r.chance(0.3) ? s.delete(r.word(1)) : s.add(r.word(1)) },
  ],
  faults: { link: { loss: Number(process.argv[4] ?? 0.2), duplicate: 0.1, reorder: 0.2, jitter: 10 }, partitions: [{ at: 3000 }], crashes: 2 },
})
const { perNode, ...rest } = r
console.log(rest, (performance.now() - t0).toFixed(0), 'ms')
