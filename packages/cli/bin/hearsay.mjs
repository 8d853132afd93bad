#!/usr/bin/env node
// Launcher for `hearsay` (npx hearsay): runs the CLI's TypeScript source through tsx, with the
// `source` export condition so the workspace packages resolve to their sources (no build step).
// Signals are passed on so Ctrl-C and SIGTERM reach the CLI, which shuts down cleanly.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url))
const tsx = import.meta.resolve('tsx')
const child = spawn(process.execPath, ['--conditions=source', '--import', tsx, main, ...process.argv.slice(2)], { stdio: 'inherit' })
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    // On a terminal, Ctrl-C already reached the child (same process group); forward the rest.
    if (!child.killed && child.exitCode === null) child.kill(signal)
  })
}
child.on('exit', (code, signal) => {
  process.exitCode = code ?? (signal ? 128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 }[signal] ?? 1) : 1)
})
