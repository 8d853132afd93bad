#!/usr/bin/env node
// Lint: fails on import cycles among source files, on relative imports that cross a package
// boundary (packages import each other by name), and on Node-only code in the data path (a
// `node:` import or a use of `Buffer` in core, model, seq or gossip src, which must run in
// browsers). No dependency needed: the import specifiers of our own TypeScript are regular
// enough to read with a regular expression.
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs'
import { join, dirname, resolve, relative } from 'node:path'
import { spawnSync } from 'node:child_process'
import { builtinModules } from 'node:module'

const root = resolve(new URL('..', import.meta.url).pathname)
const pkgs = readdirSync(join(root, 'packages'))
const files = []
const walk = (d) => {
  for (const n of readdirSync(d)) {
    const p = join(d, n)
    if (statSync(p).isDirectory()) walk(p)
    else if (n.endsWith('.ts') && !n.endsWith('.d.ts')) files.push(p)
  }
}
for (const p of pkgs) if (existsSync(join(root, 'packages', p, 'src'))) walk(join(root, 'packages', p, 'src'))

const pkgOf = (f) => relative(join(root, 'packages'), f).split('/')[0]
const srcDir = (p) => join(root, 'packages', p, 'src')
const importRe = /(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g
const problems = []
// The data path runs in browsers: no node: module, no Buffer. Each exception names why.
const NEUTRAL = new Set(['core', 'model', 'seq', 'gossip'])
const NODE_ALLOWED = [
  // The test kit registers node:test suites with node:assert; it is not part of the data path.
  { under: 'packages/core/src/testing/', spec: /^node:(test|assert(\/strict)?)$/ },
  // Pending work of others: remove each line when its import is gone.
  { under: 'packages/gossip/src/auth.ts', spec: /^node:crypto$/, why: 'until the Noise channel replaces the HMAC proof' },
  { under: 'packages/gossip/src/bundle.ts', spec: /^node:crypto$/, why: 'until the bundle tag moves to an AEAD' },
  // @hearsay/core/node: Node streams for Node users, never imported by the platform-neutral entry.
  { under: 'packages/core/src/node/', spec: /^node:/ },
  { under: 'packages/core/src/testing/checkConvergence.ts', spec: /^node:util$/, why: 'isDeepStrictEqual' },
]
const nodeAllowed = (file, spec) => NODE_ALLOWED.some((a) => a.spec.test(spec) && (a.under === undefined || file.startsWith(a.under)))
const graph = new Map()
for (const f of files) {
  // Doc comments hold example imports; they are not edges.
  // Comments are blanked, not removed, so line numbers stay true.
  const text = readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, '')).replace(/^\s*\/\/.*$/gm, '')
  const deps = []
  const rel = relative(root, f)
  // The browser adapters are held to the same rule.
  const neutral = NEUTRAL.has(pkgOf(f)) || rel.startsWith('packages/adapters/src/web/')
  if (neutral) {
    // Strings may say "Buffer" in a message; code may not use it.
    const code = text.replace(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"/g, "''")
    code.split('\n').forEach((line, i) => {
      if (/(?<![\w$.#])Buffer(?![\w$])/.test(line.replace(/\/\/.*$/, ''))) problems.push(`${rel}: uses Buffer (line ${i + 1}); the data path runs in browsers: use Uint8Array and the helpers in @hearsay/core (bytes.ts)`)
    })
  }
  for (const m of text.matchAll(importRe)) {
    const spec = m[1] ?? m[2]
    if (neutral && (spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0])) && !nodeAllowed(rel, spec)) {
      problems.push(`${rel}: imports '${spec}'; the data path (core, model, seq, gossip) runs in browsers and imports no node: module`)
    }
    if (rel.startsWith('packages/adapters/src/web/') && spec === 'ws') {
      problems.push(`${rel}: imports 'ws'; browser adapters use the platform's WebSocket`)
    }
    // type-only imports are erased and cannot form a runtime cycle
    if (/^\s*(import|export)\s+type\s/.test(m[0])) continue
    let target
    if (spec.startsWith('.')) {
      target = resolve(dirname(f), spec.replace(/\.js$/, '.ts'))
      if (!target.endsWith('.ts')) target += '.ts'
      if (pkgOf(target) !== pkgOf(f)) problems.push(`${relative(root, f)}: relative import '${spec}' crosses into package ${pkgOf(target)}; import it by name`)
    } else if (spec.startsWith('@hearsay/')) {
      const [, name, ...sub] = spec.split('/')
      target = join(srcDir(name), ...(sub.length ? sub : []), 'index.ts')
      if (!existsSync(target)) target = join(srcDir(name), ...sub) + '.ts'
    }
    if (target && existsSync(target)) deps.push(target)
  }
  graph.set(f, deps)
}
// Tarjan's strongly connected components: any component larger than one file is a cycle.
let index = 0
const idx = new Map(), low = new Map(), stack = [], on = new Set()
const strong = (v) => {
  idx.set(v, index); low.set(v, index); index++; stack.push(v); on.add(v)
  for (const w of graph.get(v) ?? []) {
    if (!idx.has(w)) { strong(w); low.set(v, Math.min(low.get(v), low.get(w))) }
    else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)))
  }
  if (low.get(v) === idx.get(v)) {
    const comp = []
    let w
    do { w = stack.pop(); on.delete(w); comp.push(w) } while (w !== v)
    if (comp.length > 1) problems.push(`import cycle: ${comp.map((c) => relative(root, c)).join(' → ')}`)
  }
}
for (const f of files) if (!idx.has(f)) strong(f)
// Tests, examples, bench and scripts are type-checked too (tsconfig.test.json); the type-level
// tests in test/types prove with `@ts-expect-error` lines that misspelled events do not compile.
const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.test.json')], { encoding: 'utf8' })
if (tsc.status !== 0) problems.push(`type check of tests (tsc -p tsconfig.test.json) failed:\n${tsc.stdout}${tsc.stderr}`)
if (problems.length) {
  console.error(problems.join('\n'))
  process.exit(1)
}
console.log(`lint: ${files.length} source files, no import cycles, no cross-package relative imports, no node: module or Buffer in the data path, tests type-check`)
