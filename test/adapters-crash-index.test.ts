// Crash proof for the object index (issue 21 part 4): a child process writes through a gossip
// Node on LevelStore to many objects, acknowledging each write once `flush` resolved; the
// parent kills it with SIGKILL at seeded random points (between, during or right after an
// append of updates and their index lines), then starts a Node on the same directory in this
// process and checks that the index agrees with the stored updates (no index fault reported,
// every object's vector before loading equals its vector once loaded) and that every
// acknowledged write is there. When HEARSAY_CRASH_INDEX_CHILD is set, this file runs as that child.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { withSeed, prng } from '@hearsay/core/testing'
import { LWWMap } from '@hearsay/model'
import { Node } from '@hearsay/gossip'
import { LevelStore } from '@hearsay/adapters/level'

const OBJECTS = 40

async function child(dir: string, seed: number): Promise<void> {
  const node = new Node({ id: 'w', networkKey: 'crash', store: new LevelStore(dir), interval: 50 })
  await node.start()
  let n = seed
  for (;;) {
    const acks: string[] = []
    for (let i = 0; i < 16; i++) {
      n = (n * 1103515245 + 12345) >>> 0
      const id = `o${n % OBJECTS}`
      const m = await node.open(id, LWWMap)
      const key = `k${(n >>> 8) % 7}`
      const value = (m.get(key) as number | undefined ?? 0) + 1
      m.set(key, value)
      acks.push(`ack ${id} ${key} ${value}`)
    }
    await node.flush()
    process.stdout.write(acks.join('\n') + '\n')
  }
}

if (process.env['HEARSAY_CRASH_INDEX_CHILD']) {
  await child(process.env['HEARSAY_CRASH_INDEX_CHILD'], Number(process.env['HEARSAY_CRASH_INDEX_SEED']))
} else {
  test('a SIGKILL between or during appends of updates and index lines leaves a node whose index agrees with its updates', { timeout: 180_000 }, async () => {
    await withSeed('index crash', async (rng) => {
      const dir = mkdtempSync(join(tmpdir(), 'hearsay-crash-index-'))
      try {
        const acked = new Map<string, number>()
        const rounds = Number(process.env['HEARSAY_CRASH_ROUNDS']) || 5
        for (let round = 0; round < rounds; round++) {
          const killAfter = prng.uint32(rng, 50, 1500)
          const extraMs = prng.uint32(rng, 0, 15)
          const p = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', fileURLToPath(import.meta.url)], {
            env: { ...process.env, HEARSAY_CRASH_INDEX_CHILD: dir, HEARSAY_CRASH_INDEX_SEED: String(prng.uint32(rng, 1, 2 ** 30)) },
            stdio: ['ignore', 'pipe', 'inherit'],
          })
          let acks = 0
          let killed = false
          const exited = new Promise<NodeJS.Signals | null>((resolve) => p.once('exit', (_code, signal) => resolve(signal)))
          for await (const line of createInterface({ input: p.stdout! })) {
            const [kind, id, key, value] = line.split(' ')
            if (kind !== 'ack') continue
            const k = `${id}/${key}`
            acked.set(k, Math.max(acked.get(k) ?? 0, Number(value)))
            if (++acks === killAfter && !killed) {
              killed = true
              setTimeout(() => p.kill('SIGKILL'), extraMs)
            }
          }
          assert.equal(await exited, 'SIGKILL', `round ${round}: the writer died on its own`)

          const faults: string[] = []
          const node = new Node({ id: 'w', networkKey: 'crash', store: new LevelStore(dir), logger: { error: (_d, m) => faults.push(m) } })
          await node.start()
          assert.deepEqual(faults, [], `round ${round}: the index disagreed with the updates after the kill`)
          const before = new Map(node.status().objects.map((o) => [o.id, o.vector]))
          for (let i = 0; i < OBJECTS; i++) {
            const id = `o${i}`
            if (!before.has(id)) continue
            const m = await node.open(id, LWWMap)
            assert.deepEqual(m.clock.toJSON(), before.get(id), `round ${round}: ${id}'s indexed vector is its stored one`)
          }
          for (const [k, value] of acked) {
            const [id, key] = k.split('/') as [string, string]
            const got = (await node.open(id, LWWMap)).get(key) as number | undefined
            assert.ok(got !== undefined && got >= value, `round ${round}: ${k} = ${got}, acknowledged ${value}`)
          }
          assert.deepEqual(faults, [], `round ${round}: loading reported an index fault`)
          await node.close()
        }
        // After a clean close the index holds every line with its content hash: nothing loads at start.
        const node = new Node({ id: 'w', networkKey: 'crash', store: new LevelStore(dir) })
        await node.start()
        assert.equal(node.status().loadedObjects, 1, 'only the membership is loaded')
        await node.close()
        assert.ok(acked.size > 0)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
  })
}
