// Five gossip nodes as separate processes on loopback, over TCP and WebSocket, joined only
// through one seed address: they discover each other through the membership and converge after
// a write on each; a node with a wrong key is refused and learns nothing.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'

const root = new URL('..', import.meta.url).pathname
const peer = new URL('./gossip-peer.ts', import.meta.url).pathname

interface Child {
  proc: ChildProcess
  lines: Array<Record<string, any>>
  latest: () => Record<string, any> | undefined
}

function start(args: string[]): Child {
  const proc = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', peer, ...args], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] })
  const lines: Array<Record<string, any>> = []
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    try {
      lines.push(JSON.parse(l))
    } catch {
      // not ours
    }
  })
  return { proc, lines, latest: () => [...lines].reverse().find((l) => l['event'] === 'state') }
}

async function until(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

test('five processes over TCP and WebSocket converge through one seed; a wrong key is refused', { timeout: 120_000 }, async () => {
  const key = 'processes-key'
  const children: Child[] = []
  try {
    const seed = start(['p0', key, 'tcp://127.0.0.1:0', 'ws://127.0.0.1:0/gossip', '--write'])
    children.push(seed)
    await until('the seed listens', () => seed.lines.some((l) => l['event'] === 'listening'))
    const [tcpSeed, wsSeed] = seed.lines.find((l) => l['event'] === 'listening')!['urls'] as string[]
    for (let i = 1; i < 5; i++) {
      const viaTcp = i % 2 === 1
      children.push(start([`p${i}`, key, viaTcp ? 'tcp://127.0.0.1:0' : 'ws://127.0.0.1:0/gossip', '--seed', viaTcp ? tcpSeed! : wsSeed!, '--write']))
    }
    const keys = ['from-p0', 'from-p1', 'from-p2', 'from-p3', 'from-p4']
    await until('every process holds every write with equal state and knows every member', () => {
      const states = children.map((c) => c.latest())
      return states.every((s) => s !== undefined && JSON.stringify(s['keys']) === JSON.stringify(keys) && s['members'] === 5 && s['digest'] === states[0]!['digest'])
    })
    // Discovery over real sockets: someone connected to a peer it was never told about.
    await until('a connection beyond the seed', () => children.slice(1).some((c) => (c.latest()?.['connected'] ?? 0) >= 2))

    const intruder = start(['intruder', 'wrong-key', '--seed', tcpSeed!, '--write'])
    children.push(intruder)
    await until('the intruder is refused', () => intruder.lines.some((l) => l['event'] === 'refused'))
    assert.equal(intruder.lines.find((l) => l['event'] === 'refused')!['code'], 'HEARSAY_AUTH_FAILED')
    await new Promise((r) => setTimeout(r, 500))
    assert.deepEqual(intruder.latest()!['keys'], ['from-intruder'], 'the intruder learned nothing')
    assert.equal(intruder.latest()!['members'], 1)
    for (const c of children.slice(0, 5)) assert.deepEqual(c.latest()!['keys'], keys, 'nobody took the intruder’s write')
  } finally {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.proc.exitCode !== null) return resolve()
            c.proc.once('exit', () => resolve())
            c.proc.stdin!.write('exit\n')
            setTimeout(() => c.proc.kill(), 5000).unref()
          }),
      ),
    )
  }
})
