#!/usr/bin/env node
// The `hearsay` executable: runs the command line and exits with its code.
// From a clone: node --conditions=source --import tsx packages/cli/src/main.ts --help
// Built: `npx hearsay --help` (bin/hearsay.mjs runs dist/main.js in its own process).
import { main } from './cli.js'

// `hearsay watch | head -3`: a closed pipe ends the command quietly instead of crashing it.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
    throw err
  })
}

const code = await main(process.argv.slice(2))
// Long-running commands (peer, watch, lab) resolve only once they have shut down cleanly.
process.exitCode = code
