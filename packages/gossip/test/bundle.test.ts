import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCodes, isHearsayError, MemoryStore } from '@hearsay/core'
import { withSeed } from '@hearsay/core/testing'
import { LWWMap, ORSet } from '@hearsay/model'
import { decodeBundle, type Node } from '@hearsay/gossip'
import { TestNet } from './helpers/net.ts'

interface File {
  to: string
  bytes: Uint8Array
}

describe('bundles', () => {
  it('three nodes converge through a folder that shuffles, duplicates and loses files', () =>
    withSeed('bundle folder', async (rng) => {
      const net = new TestNet()
      try {
        const ids = ['x', 'y', 'z']
        const nodes: Node[] = ids.map((id) => net.node({ id, interval: 3_600_000 }))
        const maps = await Promise.all(nodes.map((n) => n.open('prices', LWWMap)))
        const sets = await Promise.all(nodes.map((n) => n.open('tags', ORSet)))
        const pick = (n: number) => Math.floor(rng.next() * n)
        for (let i = 0; i < 60; i++) {
          const k = pick(3)
          if (rng.next() < 0.5) maps[k]!.set(`item${pick(10)}`, i)
          else if (rng.next() < 0.8) sets[k]!.add(`t${pick(15)}`)
          else {
            const v = sets[k]!.toJSON()
            if (v.length > 0) sets[k]!.delete(v[pick(v.length)]!)
          }
        }
        let folder: File[] = []
        const converged = () =>
          nodes.every((n) => Buffer.compare(n.get('prices')!.encodeState(), nodes[0]!.get('prices')!.encodeState()) === 0) &&
          nodes.every((n) => Buffer.compare(n.get('tags')!.encodeState(), nodes[0]!.get('tags')!.encodeState()) === 0) &&
          nodes.every((n) => n.get('prices')!.pendingCount === 0 && n.get('tags')!.pendingCount === 0)
        let rounds = 0
        let lost = 0
        let dup = 0
        while (!converged()) {
          assert.ok(++rounds < 60, 'bundles did not converge in 60 rounds')
          // Everyone exports for everyone; a few more writes happen on the way early on.
          for (const from of nodes) for (const to of ids) if (to !== from.id) folder.push({ to, bytes: await from.exportBundle({ for: to }) })
          if (rounds < 4) maps[pick(3)]!.set(`late${rounds}`, rounds)
          // The folder loses a third, duplicates some, and hands files over in any order.
          folder = folder.filter(() => rng.next() > 0.33 || (lost++, false))
          for (const f of [...folder]) if (rng.next() < 0.25) (folder.push(f), dup++)
          for (let i = folder.length - 1; i > 0; i--) {
            const j = pick(i + 1)
            ;[folder[i], folder[j]] = [folder[j]!, folder[i]!]
          }
          // Only part of the folder is read this round; the rest stays for later.
          const take = folder.splice(0, Math.ceil(folder.length * 0.7))
          for (const f of take) await nodes[ids.indexOf(f.to)]!.importBundle(f.bytes)
        }
        assert.ok(lost > 0 && dup > 0, 'the folder really lost and duplicated files')
        for (const n of nodes) assert.equal(n.get('prices')!.clock.compare(nodes[0]!.get('prices')!.clock), 'equal')
      } finally {
        await net.close()
      }
    }))

  it('carries only what the peer lacks once its digest came back', async () => {
    const net = new TestNet()
    try {
      const a = net.node({ id: 'a', interval: 3_600_000 })
      const b = net.node({ id: 'b', interval: 3_600_000 })
      const m = await a.open('m', LWWMap)
      for (let i = 0; i < 200; i++) m.set(`k${i}`, 'x'.repeat(50))
      const first = await a.exportBundle({ for: 'b' })
      await b.importBundle(first)
      // b answers; its digest acknowledges everything a sent.
      await a.importBundle(await b.exportBundle({ for: 'a' }))
      m.set('one-more', 1)
      const second = await a.exportBundle({ for: 'b' })
      assert.ok(second.length < first.length / 20, `second bundle ${second.length} bytes vs first ${first.length}`)
      const content = decodeBundle('test-key', second)
      const mEntry = content.objects.find((o) => o.objectId === 'm')!
      assert.ok(mEntry.ranges.length < 100)
      await b.importBundle(second)
      assert.equal((b.get('m') as LWWMap).get('one-more'), 1)
    } finally {
      await net.close()
    }
  })

  it('remembers the last digest seen from a peer across a restart', async () => {
    const net = new TestNet()
    try {
      const store = new MemoryStore()
      const a1 = net.node({ id: 'a', store, interval: 3_600_000 })
      const b = net.node({ id: 'b', interval: 3_600_000 })
      const m = await a1.open('m', LWWMap)
      for (let i = 0; i < 100; i++) m.set(`k${i}`, i)
      await b.importBundle(await a1.exportBundle({ for: 'b' }))
      await a1.importBundle(await b.exportBundle({ for: 'a' }))
      await a1.close()
      const a2 = net.node({ store, interval: 3_600_000 })
      const again = await a2.exportBundle({ for: 'b' })
      const content = decodeBundle('test-key', again)
      assert.equal(content.objects.find((o) => o.objectId === 'm'), undefined, 'nothing of m to resend')
      assert.deepEqual((await a2.digestSeen('b')).get('m')?.toJSON(), m.clock.toJSON())
    } finally {
      await net.close()
    }
  })

  it('refuses a bundle from another network or with altered bytes', async () => {
    const net = new TestNet()
    try {
      const a = net.node({ id: 'a' })
      const other = net.node({ id: 'o', networkKey: 'other-key' })
      ;(await other.open('m', LWWMap)).set('k', 1)
      const foreign = await other.exportBundle()
      await assert.rejects(a.importBundle(foreign), (e: unknown) => isHearsayError(e, ErrorCodes.AUTH_FAILED))
      ;(await a.open('m', LWWMap)).set('k', 2)
      const mine = await a.exportBundle()
      const altered = mine.slice()
      altered[altered.length - 40]! ^= 1
      await assert.rejects(a.importBundle(altered), (e: unknown) => isHearsayError(e, ErrorCodes.AUTH_FAILED))
      await assert.rejects(a.importBundle(Uint8Array.of(1, 2, 3)), (e: unknown) => isHearsayError(e, ErrorCodes.DECODE_ERROR))
      assert.equal((a.get('m')!.toJSON() as Record<string, unknown>)['k'], 2)
    } finally {
      await net.close()
    }
  })
})
