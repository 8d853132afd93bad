// examples/peer.ts, the two-laptops example: two processes on loopback, driven through stdin,
// print each other's edits as they arrive, and keep them on disk across a restart.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname

class Laptop {
  readonly child: ChildProcessWithoutNullStreams
  out = ''
  constructor(args: string[], data: string) {
    this.child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'examples/peer.ts', ...args], {
      cwd: root,
      env: { ...process.env, HEARSAY_DATA: data, HEARSAY_KEY: 'test-laptops' },
    })
    this.child.stdout.setEncoding('utf8').on('data', (c: string) => (this.out += c))
    this.child.stderr.setEncoding('utf8').on('data', (c: string) => (this.out += c))
  }
  async waitFor(re: RegExp, ms = 30_000): Promise<RegExpMatchArray> {
    const until = Date.now() + ms
    for (;;) {
      const m = this.out.match(re)
      if (m) return m
      if (Date.now() > until || this.child.exitCode !== null) throw new Error(`no ${re} in:\n${this.out}`)
      await new Promise((r) => setTimeout(r, 25))
    }
  }
  type(line: string): void {
    this.child.stdin.write(line + '\n')
  }
  async quit(): Promise<number | null> {
    this.child.stdin.end()
    const [code] = (await once(this.child, 'close')) as [number | null]
    return code
  }
}

test('examples/peer.ts: two laptops edit one map from stdin and see each other\'s changes', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hearsay-laptops-'))
  const both: Laptop[] = []
  try {
    const a = new Laptop(['0'], join(dir, 'a'))
    both.push(a)
    const [, port] = await a.waitFor(/listening on tcp:\/\/127\.0\.0\.1:(\d+)/)
    const b = new Laptop(['0', port!], join(dir, 'b'))
    both.push(b)
    await a.waitFor(/connected to/)
    await b.waitFor(/connected to/)

    a.type('milk=2')
    await b.waitFor(/< milk = 2/)
    b.type('eggs=12')
    b.type('note=call the plumber')
    await a.waitFor(/< eggs = 12/)
    await a.waitFor(/< note = "call the plumber"/)
    a.type('milk=')
    await b.waitFor(/< milk deleted/)
    a.type('')
    await a.waitFor(/\{"eggs":12,"note":"call the plumber"\}/)
    assert.equal(await a.quit(), 0)
    assert.match(a.out, /\* bye/)

    // A restarted laptop finds its map on disk, and catches up with what changed meanwhile.
    b.type('tea=["green","black"]')
    const [, bPort] = await b.waitFor(/listening on tcp:\/\/127\.0\.0\.1:(\d+)/)
    const a2 = new Laptop(['0', bPort!], join(dir, 'a'))
    both.push(a2)
    await a2.waitFor(/connected to/)
    await a2.waitFor(/< tea = \["green","black"\]/)
    a2.type('')
    await a2.waitFor(/\{"eggs":12,"note":"call the plumber","tea":\["green","black"\]\}/)
    assert.equal(await a2.quit(), 0)
    assert.equal(await b.quit(), 0)
  } finally {
    for (const l of both) if (l.child.exitCode === null) l.child.kill('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  }
})
