import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'

const script = new URL('./fixtures/tcp-peer.ts', import.meta.url).pathname

function start(args: string[]) {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout! })
  const next = () => new Promise<string>((resolve, reject) => {
    lines.once('line', resolve)
    child.once('exit', (code) => reject(new Error(`peer ${args.join(' ')} exited with ${code}`)))
  })
  return { child, next }
}

test('two replicas in two processes converge over a TCP socket', { timeout: 60_000 }, async () => {
  const server = start(['listen', '0', 'alpha', '2000'])
  const port = Number((await server.next()).split(' ')[1])
  const serverDone = server.next()
  const client = start(['connect', String(port), 'beta', '2000'])
  const [a, b] = (await Promise.all([serverDone, client.next()])).map((l) => JSON.parse(l))
  assert.equal(a.size, 4000)
  assert.equal(b.size, 4000)
  assert.equal(a.digest, b.digest, 'byte-identical states in both processes')
  server.child.kill()
  client.child.kill()
})
