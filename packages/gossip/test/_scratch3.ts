import { SimCluster, simulate } from '@hearsay/gossip/sim'
import { LWWMap, ORSet } from '@hearsay/model'
import { List } from '@hearsay/seq'
const seed = Number(process.argv[2])
const objects: any[] = [
  { id: 'prices', type: LWWMap, write: (m: any, r: any) => (r.chance(0.15) ? m.delete(r.word(1)) : m.set(r.word(1), r.int(0, 999))) },
  { id: 'tags', type: ORSet, write: (s: any, r: any) => (r.chance(0.35) ? s.delete(r.word(1)) : s.add(r.word(1))) },
  { id: 'todo', type: List, write: (l: any, r: any) => {
          const len: number = l.length
          const k = r.next()
          if (len > 0 && k < 0.25) l.delete(r.int(0, len - 1))
          else if (len > 1 && k < 0.35) l.move(r.int(0, len - 1), r.int(0, len - 1))
          else l.insert(r.int(0, len), r.word())
        } },
]
const only = process.argv[3]
const r = await simulate({
  seed, nodes: 50, objects: only ? objects.filter(o => o.id === only) : objects, ops: { count: 300, until: 10_000 }, heal: 10_000, maxTime: 30_000,
  faults: { link: { latency: 20, jitter: 15, loss: 0.2, duplicate: 0.1, reorder: 0.2 }, partitions: [{ at: 2_000 }], crashes: 2 },
})
console.log(r.converged, r.divergence, r.timeToConverge)
const bad = r.perNode.filter(n => n.pending > 0).map(n => n.id)
console.log('pending on', bad, 'n0 todo', JSON.stringify(r.perNode[0].vectors.todo))
for (const id of bad) console.log(id, JSON.stringify(r.perNode.find(n => n.id === id)!.vectors.todo))
