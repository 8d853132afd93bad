import { describe, it } from 'node:test'
import * as fc from 'fast-check'
import { MemoryStore, type Update } from '@hearsay/core'
import { LWWMap, type LWWMapOp } from '@hearsay/model'
import type { Node } from '@hearsay/gossip'
import { TestNet, waitFor } from './helpers/net.ts'

type Cmd =
  | { kind: 'set'; node: number; key: string; value: number }
  | { kind: 'delete'; node: number; key: string }
  | { kind: 'link'; from: number; to: number }
  | { kind: 'unlink'; from: number; to: number }
  | { kind: 'restart'; node: number }
  | { kind: 'pause'; ms: number }

const N = 3
const node = fc.integer({ min: 0, max: N - 1 })
const key = fc.constantFrom('a', 'b', 'c', 'd')
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('set' as const), node, key, value: fc.integer({ min: 0, max: 99 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), node, key }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('link' as const), from: node, to: node }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unlink' as const), from: node, to: node }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const), node }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pause' as const), ms: fc.integer({ min: 0, max: 15 }) }) },
)

// Model: a plain Map from key to the winning write, last writer wins by (hybrid time, source, seq).
function newer(a: Update<unknown>, b: Update<unknown>): boolean {
  if (a.time !== b.time) return a.time > b.time
  if (a.source !== b.source) return a.source > b.source
  return a.seq > b.seq
}

describe('Node against a model', () => {
  it('nodes that write, link, unlink and restart end equal to a plain last-writer-wins Map', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 5, maxLength: 40 }), async (cmds) => {
        const net = new TestNet()
        const stores = Array.from({ length: N }, () => new MemoryStore())
        const model = new Map<string, Update<LWWMapOp>>()
        const nodes: Node[] = []
        const maps: LWWMap[] = []
        const boot = async (i: number): Promise<void> => {
          const n = net.node({ id: `n${i}`, store: stores[i]!, interval: 15, backoff: 5, maxBackoff: 20 })
          nodes[i] = n
          await n.listen(net.address(`n${i}`))
          maps[i] = await n.open('m', LWWMap)
          maps[i]!.on('update', (u: Update<LWWMapOp>, origin: unknown) => {
            if (origin !== 'local') return
            const prev = model.get(u.op.key)
            if (prev === undefined || newer(u, prev)) model.set(u.op.key, u)
          })
        }
        try {
          for (let i = 0; i < N; i++) await boot(i)
          for (const c of cmds) {
            if (c.kind === 'set') maps[c.node]!.set(c.key, c.value)
            else if (c.kind === 'delete') maps[c.node]!.delete(c.key)
            else if (c.kind === 'link' && c.from !== c.to) await nodes[c.from]!.connect(net.address(`n${c.to}`)).catch(() => {})
            else if (c.kind === 'unlink') nodes[c.from]!.disconnect(net.address(`n${c.to}`))
            else if (c.kind === 'restart') {
              await nodes[c.node]!.close()
              await boot(c.node)
            } else if (c.kind === 'pause') await new Promise((r) => setTimeout(r, c.ms))
          }
          // Heal: a ring of links, then wait for everyone to match the model.
          for (let i = 0; i < N; i++) await nodes[i]!.connect(net.address(`n${(i + 1) % N}`)).catch(() => {})
          const expected = () => {
            const o: Record<string, number> = {}
            for (const [k, u] of [...model].sort()) if (u.op.value !== undefined) o[k] = u.op.value as number
            return o
          }
          await waitFor(() => maps.every((m) => JSON.stringify(m.toJSON()) === JSON.stringify(expected())), 'every node equals the model', 5_000)
          await waitFor(() => maps.every((m) => Buffer.compare(m.encodeState(), maps[0]!.encodeState()) === 0), 'equal encodings')
        } finally {
          await net.close()
        }
      }),
      // A failing run waits out its timeout, so report the first counterexample without shrinking.
      { numRuns: Number(process.env['HEARSAY_RUNS']) || 15, endOnFailure: true },
    )
  })
})
