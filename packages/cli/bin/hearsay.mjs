#!/usr/bin/env node
// The `hearsay` executable: runs the built CLI (dist/main.js) in this very process, so signals
// (Ctrl-C, SIGTERM, SIGKILL) reach the daemon itself and no TypeScript runtime is needed.
// From a clone, build first (`npm run build`), or run the source without building:
//   node --conditions=source --import tsx packages/cli/src/main.ts --help
const main = new URL('../dist/main.js', import.meta.url)
try {
  await import(main.href)
} catch (err) {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes(main.pathname)) {
    console.error(`hearsay: ${main.pathname} is missing; build the CLI first (npm run build)`)
    process.exit(1)
  }
  throw err
}
