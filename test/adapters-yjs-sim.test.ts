// Y.Text edited concurrently on three gossip nodes over the simulator's faulty links (loss,
// duplication, reordering, a partition that heals and a crash-restart from the store): every
// node ends with byte-identical state.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { testSeed } from '@hearsay/core/testing'
import { simulate } from '@hearsay/gossip/sim'
import { YDocReplica } from '@hearsay/adapters/yjs'

test('three nodes editing one Y.Text concurrently over the simulator converge', async () => {
  const base = testSeed()
  for (let k = 0; k < 3; k++) {
    const seed = base + k
    const report = await simulate({
      seed,
      nodes: 3,
      ops: 300,
      bootstrap: 2,
      objects: [
        {
          id: 'notes',
          type: YDocReplica,
          write: (doc: YDocReplica, r) => {
            const t = doc.doc.getText('t')
            if (t.length > 10 && r.chance(0.3)) t.delete(r.int(0, t.length - 2), r.int(1, 2))
            else t.insert(r.int(0, t.length), r.word(r.int(1, 4)))
            if (r.chance(0.2)) doc.doc.getMap('m').set(r.word(1), r.int(0, 99))
          },
        },
      ],
      faults: { link: { loss: 0.2, duplicate: 0.1, reorder: 0.2 }, partitions: [{ at: 3000 }], crashes: 1 },
    })
    assert.equal(report.ok, true, `seed ${seed} (replay with SEED=${seed}): ${report.divergence} ${JSON.stringify(report.errors ?? [])}`)
  }
})
