// Real `hearsay peer` daemons for the fault tests: start one on a data directory, write through
// its control socket as `hearsay put` does, read an object back, wait for keys to arrive.
import assert from 'node:assert/strict'
import { Running } from './helpers/cli.ts'
import { requestDaemon } from '../packages/cli/src/control.ts'

/** Starts `hearsay peer` on `dataDir`, listening on a loopback port; resolves once it is ready. */
export async function startPeer(dataDir: string, env: Record<string, string>, extra: string[] = []): Promise<{ p: Running; url: string }> {
  const p = new Running(['peer', '--data', dataDir, '--listen', 'tcp://127.0.0.1:0', '--interval', '100ms', ...extra], env)
  const [, url] = await p.waitFor(/listening on (tcp:\/\/127\.0\.0\.1:\d+)/)
  await p.waitFor(/ready/)
  return { p, url: url! }
}

/** Writes keys `${prefix}0` .. `${prefix}${n - 1}` (values 0 .. n - 1), each acknowledged before the next. */
export async function putMany(dataDir: string, object: string, n: number, prefix: string): Promise<void> {
  for (let i = 0; i < n; i++) await requestDaemon(dataDir, { op: 'put', object, key: `${prefix}${i}`, value: i })
}

/** The value of an object on the daemon of `dataDir`. */
export async function getObject(dataDir: string, object: string): Promise<Record<string, unknown>> {
  return ((await requestDaemon(dataDir, { op: 'get', object })) as { value: Record<string, unknown> }).value
}

/** Waits until the daemon of `dataDir` holds at least `n` keys of `object`; fails saying how many it holds. */
export async function waitForKeys(dataDir: string, object: string, n: number, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  const until = Date.now() + timeoutMs
  let last: Record<string, unknown> = {}
  while (Date.now() < until) {
    try {
      last = await getObject(dataDir, object)
      if (Object.keys(last).length >= n) return last
    } catch {
      // the object has not arrived yet
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  assert.fail(`${dataDir} holds ${Object.keys(last).length} of ${n} keys of ${object} after ${timeoutMs} ms`)
}
