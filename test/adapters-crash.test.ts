// Crash proof for LevelStore: a child process writes heavily through an LWWMap persisted in a
// LevelStore, acknowledging each update's seq only after its append resolved; the parent kills
// it with SIGKILL at seeded random points, reopens the store and checks that every acknowledged
// update survived and that the restarted writer never reuses a seq. When HEARSAY_CRASH_CHILD is
// set, this file runs as that child instead.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { restoreReplica, type Range } from '@hearsay/core'
import { withSeed, prng } from '@hearsay/core/testing'
import { LWWMap, type LWWMapOp } from '@hearsay/model'
import { LevelStore } from '@hearsay/adapters/level'

const OBJECT = 'prices'
const enc = new TextEncoder()
const dec = new TextDecoder()

async function child(dir: string): Promise<void> {
  const store = new LevelStore(dir)
  await store.open()
  // The node id is stable across restarts: a seq is only meaningful with its source.
  let id = await store.getMeta('node-id')
  if (id === undefined) {
    id = enc.encode(`w${process.pid}`)
    await store.putMeta('node-id', id)
  }
  const map = new LWWMap<number>({ id: dec.decode(id) })
  await restoreReplica(store, OBJECT, map)
  process.stdout.write(`start ${map.clock.get(map.id)}\n`)
  let sinceCompact = 0
  map.on('ranges', (ranges: Range<LWWMapOp>[], origin: unknown) => {
    if (origin !== 'local') return
    const u = ranges[0]!.updates[0]!
    const op = u.op as { key: string; value: number }
    void store.append([{ objectId: OBJECT, typeId: map.typeId, data: map.encodeRanges(ranges) }]).then(() => {
      process.stdout.write(`ack ${u.seq} ${op.key} ${op.value}\n`)
    })
    // Compact now and then, so kills also land during compactions.
    if (++sinceCompact >= 500) {
      sinceCompact = 0
      void store.compact(OBJECT, map.typeId, map.encodeState())
    }
  })
  for (;;) {
    for (let i = 0; i < 64; i++) {
      const seq = map.clock.get(map.id) + 1
      // The value is the seq, so a later write to a key always carries a larger value.
      map.set(`k${seq % 97}`, seq)
    }
    await new Promise((r) => setImmediate(r))
  }
}

if (process.env['HEARSAY_CRASH_CHILD']) {
  await child(process.env['HEARSAY_CRASH_CHILD'])
} else {
  test('LevelStore keeps every acknowledged update across SIGKILLs, and seqs are never reused', { timeout: 120_000 }, async () => {
    await withSeed('level crash', async (rng) => {
      const dir = mkdtempSync(join(tmpdir(), 'hearsay-crash-'))
      try {
        const acked = new Map<string, number>()
        let maxAcked = 0
        let totalAcks = 0
        const rounds = Number(process.env['HEARSAY_CRASH_ROUNDS']) || 6
        for (let round = 0; round < rounds; round++) {
          // Kill after a seeded number of acknowledgements (plus a seeded extra delay), so the
          // kill lands mid-append, mid-compaction or between writes.
          const killAfter = prng.uint32(rng, 200, 4000)
          const extraMs = prng.uint32(rng, 0, 20)
          const p = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', fileURLToPath(import.meta.url)], {
            env: { ...process.env, HEARSAY_CRASH_CHILD: dir },
            stdio: ['ignore', 'pipe', 'inherit'],
          })
          let start = -1
          let firstAck = -1
          let acks = 0
          let killed = false
          const exited = new Promise<NodeJS.Signals | null>((resolve) => p.once('exit', (_code, signal) => resolve(signal)))
          const lines = createInterface({ input: p.stdout! })
          for await (const line of lines) {
            const [kind, a, b, c] = line.split(' ')
            if (kind === 'start') {
              start = Number(a)
              assert.ok(start >= maxAcked, `round ${round}: restored clock ${start} is behind the acknowledged seq ${maxAcked}`)
            } else if (kind === 'ack') {
              const seq = Number(a)
              if (firstAck < 0) {
                firstAck = seq
                // A fresh seq: past everything acknowledged before the crash and everything restored.
                assert.ok(seq > maxAcked && seq > start, `round ${round}: seq ${seq} reused (acked up to ${maxAcked}, restored ${start})`)
              }
              maxAcked = Math.max(maxAcked, seq)
              acked.set(b!, Math.max(acked.get(b!) ?? 0, Number(c)))
              acks++
              totalAcks++
              if (acks === killAfter && !killed) {
                killed = true
                setTimeout(() => p.kill('SIGKILL'), extraMs)
              }
            }
          }
          assert.equal(await exited, 'SIGKILL', `round ${round}: the writer died on its own`)
          // Reopen in this process and check every acknowledged write is there.
          const store = new LevelStore(dir)
          await store.open()
          const id = await store.getMeta('node-id')
          assert.ok(id !== undefined)
          const map = new LWWMap<number>({ id: dec.decode(id) })
          assert.equal(await restoreReplica(store, OBJECT, map), true)
          await store.close()
          assert.equal(map.pendingCount, 0, 'restored history has no gaps')
          assert.ok(map.clock.get(map.id) >= maxAcked, `round ${round}: clock ${map.clock.get(map.id)} lost acknowledged seq ${maxAcked}`)
          for (const [key, value] of acked) {
            const got = map.get(key)
            assert.ok(got !== undefined && got >= value, `round ${round}: ${key} = ${got}, acknowledged ${value}`)
          }
          map.dispose()
        }
        assert.ok(totalAcks >= rounds * 200)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
  })
}
