#!/usr/bin/env node
// Lint: runs each check and fails if any fails.
// - dependency-cruiser (.dependency-cruiser.cjs): no import cycles (type-only imports are
//   erased, so they do not count), no relative import crossing a package boundary (packages
//   import each other by name), no package or fixture importing another package's tests.
// - knip (knip.json): every package declares what it imports and imports what it declares;
//   with --production, a dependency only tests use is a devDependency.
// - scripts/lint-data-path.mjs: no `node:` import or `Buffer` in the data path (browsers).
// - tsc -p tsconfig.test.json: tests, examples, bench and scripts type-check against the built
//   declarations (run `npm run build` first); test/types proves with `@ts-expect-error` lines
//   that misspelled events and wrongly typed listeners do not compile. tsconfig.web.json does
//   the same for the browser page (examples/web/app.ts) with the DOM.
import { spawnSync } from 'node:child_process'
import { join, resolve } from 'node:path'

const root = resolve(new URL('..', import.meta.url).pathname)
const bin = (name) => join(root, 'node_modules', '.bin', name)
const checks = [
  ['imports (dependency-cruiser)', bin('depcruise'), ['--config', '.dependency-cruiser.cjs', '--output-type', 'err', 'packages', 'test', 'examples', 'bench', 'scripts']],
  ['declared dependencies (knip)', bin('knip'), ['--dependencies', '--exclude', 'optionalPeerDependencies', '--no-progress', '--no-config-hints']],
  ['production dependencies (knip --production)', bin('knip'), ['--dependencies', '--exclude', 'optionalPeerDependencies', '--production', '--no-progress', '--no-config-hints']],
  ['data path (scripts/lint-data-path.mjs)', process.execPath, [join(root, 'scripts', 'lint-data-path.mjs')]],
  ['types of tests, examples, bench (tsc)', bin('tsc'), ['-p', 'tsconfig.test.json']],
  ['types of the browser example (tsc, DOM)', bin('tsc'), ['-p', 'tsconfig.web.json']],
]
let failed = 0
for (const [name, cmd, args] of checks) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8' })
  if (r.status === 0) {
    console.log(`lint: ${name}: ok`)
  } else {
    failed++
    console.error(`lint: ${name}: FAILED\n${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`)
  }
}
process.exit(failed === 0 ? 0 : 1)
