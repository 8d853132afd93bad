// Storage faults against real `hearsay peer` daemons, as a user meets them: a deleted CURRENT
// file, a damaged write-ahead log, a read-only data directory. After each fault the node either
// refuses to start with a message that names the cause, or runs with every acknowledged write;
// never silently with fewer. `hearsay repair` then brings it back, and its peer sends it the rest.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, rmSync, statSync, statfsSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { Running, hearsay, tempDir } from './helpers/cli.ts'
import { requestDaemon } from '../packages/cli/src/control.ts'
import { getObject, putMany, startPeer as startDaemon, waitForKeys } from './daemons.ts'

const KEY = { HEARSAY_KEY: 'storage-faults' }

function files(dir: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const n of readdirSync(dir).sort()) out[n] = statSync(join(dir, n)).size
  return out
}

/**
 * Runs `fn` on a tmpfs of `size` mounted in a fresh temp directory, unmounted afterwards; skips
 * the test, saying why, only when mounting is refused here (it needs root).
 */
async function withTmpfs(t: TestContext, prefix: string, size: string, fn: (mnt: string) => Promise<void>): Promise<void> {
  const { dir, cleanup } = await tempDir(prefix)
  const mnt = join(dir, 'mnt')
  mkdirSync(mnt)
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mnt], { stdio: 'pipe' })
  } catch (err) {
    t.skip(`cannot mount a tmpfs here (${String((err as Error).message).split('\n')[0]}); needs root`)
    await cleanup()
    return
  }
  try {
    await fn(mnt)
  } finally {
    execFileSync('umount', [mnt])
    await cleanup()
  }
}

function startPeer(dataDir: string, extra: string[] = []): ReturnType<typeof startDaemon> {
  return startDaemon(dataDir, KEY, extra)
}

test("a deleted CURRENT file: the node refuses to start, names the cause and leaves every file as it was; 'hearsay repair' brings the data back", { timeout: 120_000 }, async () => {
  const { dir, cleanup } = await tempDir('nocurrent')
  const a = join(dir, 'a')
  const running: Running[] = []
  try {
    const { p } = await startPeer(a, ['--id', 'alice'])
    running.push(p)
    await putMany(a, 'prices', 40, 'k')
    assert.equal(await p.stop('SIGTERM'), 0)
    const db = join(a, 'db')
    execFileSync('rm', [join(db, 'CURRENT')])
    const before = files(db)
    const r = await hearsay(['peer', '--data', a], { env: KEY })
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, /damaged/)
    assert.match(r.stderr, /CURRENT file is missing/)
    assert.match(r.stderr, /hearsay repair --data/)
    assert.doesNotMatch(r.stderr, /in use by another process/)
    // Nothing was created or deleted: LevelDB did not start a fresh database over the old one.
    assert.deepEqual(files(db), before)

    const rep = await hearsay(['repair', '--data', a])
    assert.equal(rep.code, 0, rep.stderr)
    assert.match(rep.stdout, /prices \(LWWMap\): alice\.1\.[\w-]{8}:40/)
    assert.match(rep.stdout, /the node keeps its id alice; its next start writes under a fresh incarnation/)
    const { p: again } = await startPeer(a, ['--id', 'alice'])
    running.push(again)
    assert.equal(Object.keys(await getObject(a, 'prices')).length, 40)
    assert.match(again.output, /node alice ready; writes as alice\.2\.[\w-]{8};/)
  } finally {
    for (const p of running) await p.stop('SIGKILL')
    await cleanup()
  }
})

test('a damaged write-ahead log tail: the node refuses to start (again on a second try) instead of running without acknowledged writes; after repair its peer sends them back', { timeout: 180_000 }, async () => {
  const { dir, cleanup } = await tempDir('wal')
  const a = join(dir, 'a')
  const b = join(dir, 'b')
  const running: Running[] = []
  const N = 300
  try {
    const pa = await startPeer(a, ['--id', 'alice'])
    running.push(pa.p)
    const pb = await startPeer(b, ['--id', 'bob', '--peer', pa.url])
    running.push(pb.p)
    await putMany(a, 'prices', N, 'k')
    await waitForKeys(b, 'prices', N)
    assert.equal(await pa.p.stop('SIGKILL'), null)
    const db = join(a, 'db')
    const log = readdirSync(db).find((n) => n.endsWith('.log'))!
    // Flip 8 bytes near the end of the write-ahead log: the last acknowledged writes' records.
    const fd = openSync(join(db, log), 'r+')
    const size = fstatSync(fd).size
    assert.ok(size > 4096, `the log holds the writes (${size} bytes)`)
    writeSync(fd, Buffer.alloc(8, 0xa5), 0, 8, size - 120)
    closeSync(fd)

    for (let attempt = 0; attempt < 2; attempt++) {
      const r = await hearsay(['peer', '--data', a], { env: KEY })
      assert.equal(r.code, 1, `attempt ${attempt}: ${r.stderr}`)
      assert.match(r.stderr, /damaged/)
      assert.match(r.stderr, attempt === 0 ? /checksum mismatch/ : /found damaged by an earlier start/)
      assert.match(r.stderr, /hearsay repair --data/)
    }

    const rep = await hearsay(['repair', '--data', a])
    assert.equal(rep.code, 0, rep.stderr)
    const kept = Number(/prices \(LWWMap\): alice\.1\.[\w-]{8}:(\d+)/.exec(rep.stdout)?.[1])
    assert.ok(kept < N, `the damage cost writes (${kept} of ${N} kept): the test damages what it means to`)
    const again = await startPeer(a, ['--peer', pb.url])
    running.push(again.p)
    // Every acknowledged write is back (from bob), and the node writes under a fresh incarnation.
    const all = await waitForKeys(a, 'prices', N)
    for (let i = 0; i < N; i++) assert.equal(all[`k${i}`], i)
    await putMany(a, 'prices', 5, 'after')
    const onB = await waitForKeys(b, 'prices', N + 5)
    assert.deepEqual(onB, await getObject(a, 'prices'))
  } finally {
    for (const p of running) await p.stop('SIGKILL')
    await cleanup()
  }
})

test('a read-only data directory: the message says read-only, not "in use by another process"', { timeout: 60_000 }, (t) =>
  withTmpfs(t, 'ro', '16m', async (mnt) => {
    const a = join(mnt, 'a')
    const { p } = await startPeer(a)
    try {
      await putMany(a, 'prices', 3, 'k')
    } finally {
      assert.equal(await p.stop('SIGTERM'), 0)
    }
    execFileSync('mount', ['-o', 'remount,ro', mnt])
    const r = await hearsay(['peer', '--data', a], { env: KEY })
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, /is read-only/)
    assert.match(r.stderr, /Read-only file system/)
    assert.doesNotMatch(r.stderr, /in use by another process/)
  }),
)

test('a 15 MiB value is refused at once with HEARSAY_VALUE_TOO_LARGE and the link stays up; a 3 MiB one replicates', { timeout: 120_000 }, async () => {
  const { dir, cleanup } = await tempDir('big')
  const a = join(dir, 'a')
  const b = join(dir, 'b')
  const running: Running[] = []
  try {
    const pa = await startPeer(a, ['--id', 'alice'])
    running.push(pa.p)
    const pb = await startPeer(b, ['--id', 'bob', '--peer', pa.url])
    running.push(pb.p)
    await pa.p.waitFor(/peer bob connected/)
    // Through the control socket, as `hearsay put` sends it (a command line cannot hold 15 MiB).
    const started = Date.now()
    await assert.rejects(requestDaemon(a, { op: 'put', object: 'files', key: 'huge', value: 'h'.repeat(15 * 1024 * 1024) }), (e: Error) => /HEARSAY_VALUE_TOO_LARGE/.test(e.message) && /over the \d+-byte limit/.test(e.message))
    assert.ok(Date.now() - started < 20_000, 'refused at once, not after retries')
    // Over 4 MiB as UTF-8 though under 4 Mi characters.
    await assert.rejects(requestDaemon(a, { op: 'put', object: 'files', key: 'euro', value: '€'.repeat(2 * 1024 * 1024) }), /HEARSAY_VALUE_TOO_LARGE/)
    await requestDaemon(a, { op: 'put', object: 'files', key: 'three', value: 't'.repeat(3 * 1024 * 1024) })
    await requestDaemon(a, { op: 'put', object: 'files', key: 'after', value: 1 })
    const onB = await waitForKeys(b, 'files', 2)
    assert.deepEqual(Object.keys(onB).sort(), ['after', 'three'])
    assert.equal((onB['three'] as string).length, 3 * 1024 * 1024)
    const r = await hearsay(['get', '--data', a, 'files', 'huge'])
    assert.equal(r.code, 4, r.stderr)
    for (const p of [pa.p, pb.p]) assert.doesNotMatch(p.output, /disconnected|BACKPRESSURE|FRAME_TOO_LARGE/, p.output)
  } finally {
    for (const p of running) await p.stop('SIGKILL')
    await cleanup()
  }
})

test('a full disk: put fails fast, non-zero, saying the disk is full; the daemon stops; get never shows the value', { timeout: 120_000 }, (t) =>
  withTmpfs(t, 'full', '4m', async (mnt) => {
    const a = join(mnt, 'a')
    const running: Running[] = []
    try {
      const { p } = await startPeer(a)
      running.push(p)
      await putMany(a, 'prices', 5, 'k')
      // Leave the file system a few pages, less than the next write needs.
      const free = statfsSync(mnt).bavail * statfsSync(mnt).bsize
      writeFileSync(join(mnt, 'filler'), Buffer.alloc(Math.max(0, free - 16 * 1024)))
      const started = Date.now()
      const r = await hearsay(['put', '--data', a, '--string', 'prices', 'big', 'b'.repeat(100 * 1024)])
      assert.equal(r.code, 1, r.stderr)
      assert.match(r.stderr, /the disk under .* is full, so the write was not stored \(HEARSAY_STORE_FULL/)
      assert.match(r.stderr, /No space left on device/)
      assert.ok(Date.now() - started < 20_000, 'fails fast')
      // The daemon stops rather than serve a value it could not store.
      assert.equal(await new Promise((resolve) => (p.child.exitCode !== null ? resolve(p.child.exitCode) : p.child.once('exit', resolve))), 1)
      assert.match(p.output, /the disk under .* is full/)
      assert.equal((await hearsay(['get', '--data', a, 'prices', 'big'])).code, 3)
      // With space again, the node has every acknowledged write and not the failed one.
      rmSync(join(mnt, 'filler'))
      const { p: again } = await startPeer(a)
      running.push(again)
      const got = await getObject(a, 'prices')
      assert.deepEqual(Object.keys(got).sort(), ['k0', 'k1', 'k2', 'k3', 'k4'])
    } finally {
      for (const p of running) await p.stop('SIGKILL')
    }
  }),
)
