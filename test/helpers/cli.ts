// Runs the real `hearsay` command as a child process, as a user would, for the cross-package CLI tests.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const root = new URL('../../', import.meta.url).pathname
const main = join(root, 'packages/cli/src/main.ts')

/** The node arguments that run the CLI from source. */
export function cliArgs(args: readonly string[]): string[] {
  return ['--conditions=source', '--import', 'tsx', main, ...args]
}

export interface Result {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `hearsay ...args` to completion. */
export async function hearsay(args: readonly string[], options: { env?: Record<string, string>; timeout?: number; cwd?: string } = {}): Promise<Result> {
  const child = spawn(process.execPath, cliArgs(args), { cwd: options.cwd ?? root, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c))
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c))
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeout ?? 60_000)
  const [code] = (await once(child, 'close')) as [number | null]
  clearTimeout(timer)
  return { code, stdout, stderr }
}

/** A long-running `hearsay` process (peer, watch) whose output can be awaited line by line. */
export class Running {
  readonly child: ChildProcess
  output = ''
  readonly #waiters: Array<{ re: RegExp; resolve: (m: RegExpMatchArray) => void }> = []

  /** `nodeArgs` go to node itself, before the CLI (e.g. `--cpu-prof`). */
  constructor(args: readonly string[], env: Record<string, string> = {}, nodeArgs: readonly string[] = []) {
    this.child = spawn(process.execPath, [...nodeArgs, ...cliArgs(args)], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    const onData = (c: string): void => {
      this.output += c
      for (const w of [...this.#waiters]) {
        const m = this.output.match(w.re)
        if (m) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1)
          w.resolve(m)
        }
      }
    }
    this.child.stdout!.setEncoding('utf8').on('data', onData)
    this.child.stderr!.setEncoding('utf8').on('data', onData)
  }

  /** Resolves with the first match of `re` in the output so far or to come. */
  waitFor(re: RegExp, timeout = 30_000): Promise<RegExpMatchArray> {
    const m = this.output.match(re)
    if (m) return Promise.resolve(m)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}; output so far:\n${this.output}`)), timeout)
      this.#waiters.push({
        re,
        resolve: (x) => {
          clearTimeout(timer)
          resolve(x)
        },
      })
      this.child.once('close', () => reject(new Error(`process exited while waiting for ${re}; output:\n${this.output}`)))
    })
  }

  /** Sends a signal and resolves with the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    // A child that already exited (by itself or by a signal) emits no second 'close'.
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode
    const closed = once(this.child, 'close')
    this.child.kill(signal)
    const [code] = (await closed) as [number | null]
    return code
  }
}

/** A fresh temp directory, removed by the returned cleanup. */
export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `hearsay-${prefix}-`))
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) }
}
