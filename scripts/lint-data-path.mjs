#!/usr/bin/env node
// The data path runs in browsers: no `node:` import and no use of `Buffer` in core, model, seq
// or gossip src (nor in the browser adapters, which also may not import 'ws'). Each allowed
// exception names why. Run by scripts/lint.mjs.
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs'
import { join, resolve, relative } from 'node:path'
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
const importRe = /(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g
const problems = []
// The data path runs in browsers: no node: module, no Buffer. Each exception names why.
const NEUTRAL = new Set(['core', 'model', 'seq', 'gossip'])
const NODE_ALLOWED = [
  // The test kit registers node:test suites with node:assert; it is not part of the data path.
  { under: 'packages/core/src/testing/', spec: /^node:(test|assert(\/strict)?)$/ },
  // @hearsay/core/node: Node streams for Node users, never imported by the platform-neutral entry.
  { under: 'packages/core/src/node/', spec: /^node:/ },
  { under: 'packages/core/src/testing/checkConvergence.ts', spec: /^node:util$/, why: 'isDeepStrictEqual' },
]
const nodeAllowed = (file, spec) => NODE_ALLOWED.some((a) => a.spec.test(spec) && (a.under === undefined || file.startsWith(a.under)))
for (const f of files) {
  // Doc comments hold example imports; they are not imports.
  // Comments are blanked, not removed, so line numbers stay true.
  const text = readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, '')).replace(/^\s*\/\/.*$/gm, '')
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
  }
}
if (problems.length) {
  console.error(problems.join('\n'))
  process.exit(1)
}
console.log(`data path: ${files.length} source files, no node: module or Buffer where browsers run`)
