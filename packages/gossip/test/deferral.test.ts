// The deferral rule of a periodic round (Session#deferAgain, PROTOCOL.md step 2), driven frame
// by frame from a raw peer: a root that differs is reconciled on the next round if it stays put,
// after at most MAX_DEFERRALS rounds while it keeps moving, and at once when the round says Now.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { decoding, encoding } from '@hearsay/core'
import { GossipKind, MAX_DEFERRALS, RootFlags, readGossipMessage } from '@hearsay/gossip'
import { LWWMap } from '@hearsay/model'
import { RawPeer } from './helpers/raw.ts'
import { TestNet } from './helpers/net.ts'

type Reply = 'deferred' | 'reconciled'

/** A node that never starts rounds itself, and a raw peer authenticated to it. */
async function setup(net: TestNet): Promise<RawPeer> {
  const a = net.node({ id: 'a', interval: 60_000 })
  const m = await a.open('doc', LWWMap)
  m.set('k', 1)
  await a.listen(net.address('a'))
  const raw = await RawPeer.connect(net.transport(), net.address('a'))
  await raw.authenticate('raw', 'test-key')
  return raw
}

/** Sends a root (a round from the peer) and reads what the node does with it. */
async function round(raw: RawPeer, flags: number, hash: Uint8Array): Promise<Reply> {
  raw.frames.length = 0
  raw.send((e) => {
    encoding.writeVarUint(e, GossipKind.Root)
    encoding.writeVarUint(e, flags)
    encoding.writeVarUint(e, 3)
    encoding.writeUint8Array(e, hash)
  })
  const start = Date.now()
  for (;;) {
    for (const f of raw.frames) {
      if (f[0] === GossipKind.Vectors || f[0] === GossipKind.Nodes) return 'reconciled'
      if (f[0] === GossipKind.Root) {
        const m = readGossipMessage(decoding.createDecoder(f))
        if (m.kind === GossipKind.Root && m.flags & RootFlags.Deferred) return 'deferred'
      }
    }
    if (Date.now() - start > 5000) throw new Error(`no answer to a root; got kinds ${raw.kinds().join(',')}`)
    await new Promise((r) => setTimeout(r, 2))
  }
}

const hashOf = (i: number) => new Uint8Array(16).fill(i + 1)

describe('deferral of a differing root', () => {
  it(`a root that keeps moving is deferred ${MAX_DEFERRALS} rounds in a row, then reconciled`, async () => {
    const net = new TestNet()
    try {
      const raw = await setup(net)
      const replies: Reply[] = []
      for (let i = 0; i <= MAX_DEFERRALS; i++) replies.push(await round(raw, 0, hashOf(i)))
      assert.deepEqual(replies, [...Array(MAX_DEFERRALS).fill('deferred'), 'reconciled'])
      // The count starts again after a reconcile.
      assert.equal(await round(raw, 0, hashOf(50)), 'deferred')
    } finally {
      await net.close()
    }
  })

  it('a root that stays put is deferred once, then reconciled', async () => {
    const net = new TestNet()
    try {
      const raw = await setup(net)
      assert.deepEqual([await round(raw, 0, hashOf(7)), await round(raw, 0, hashOf(7))], ['deferred', 'reconciled'])
    } finally {
      await net.close()
    }
  })

  it('a round that says Now is reconciled at once, deferred or not', async () => {
    const net = new TestNet()
    try {
      const raw = await setup(net)
      assert.equal(await round(raw, RootFlags.Now, hashOf(1)), 'reconciled')
      assert.equal(await round(raw, 0, hashOf(2)), 'deferred')
      assert.equal(await round(raw, RootFlags.Now, hashOf(3)), 'reconciled')
    } finally {
      await net.close()
    }
  })
})
