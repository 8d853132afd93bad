#!/usr/bin/env node
// Turns bench/results/latest.json (written by `npm run bench`) into the markdown tables of
// docs/comparison.md, between its `<!-- bench:start -->` and `<!-- bench:end -->` markers.
// Usage: node scripts/bench-report.mjs [--write]   (without --write it prints the tables)
import { readFileSync, writeFileSync } from 'node:fs'

const root = new URL('..', import.meta.url).pathname
const data = JSON.parse(readFileSync(`${root}bench/results/latest.json`, 'utf8'))
const fmt = (n, unit = '') => {
  if (n === undefined || n === null) return '-'
  const a = Math.abs(n)
  if (a >= 1e9) return `${(n / 1e9).toFixed(2)}G${unit}`
  if (a >= 1e6) return `${(n / 1e6).toFixed(2)}M${unit}`
  if (a >= 1e4) return `${(n / 1e3).toFixed(1)}k${unit}`
  return `${Number.isInteger(n) ? n : n.toFixed(1)}${unit}`
}
const out = [`Measured with \`npm run bench\` on ${data.date.slice(0, 16).replace('T', ' ')} UTC, Node ${data.node}, on the project's 2-core machine. "×" is a row's time divided by the first row's (above 1: the first row is faster).`, '']
for (const g of data.results) {
  const base = g.rows.find((r) => r.impl === g.baseline) ?? g.rows[0]
  out.push(`#### ${g.group}`, '', '| implementation | time | ops/s | bytes | heap | × | notes |', '|---|---|---|---|---|---|---|')
  for (const r of g.rows) {
    const extra = r.extra ? Object.entries(r.extra).map(([k, v]) => `${k}=${typeof v === 'number' ? fmt(v) : v}`).join(', ') : ''
    const heap = r.heap === undefined || r.heap === null || r.heap < 0 ? '-' : fmt(r.heap, 'B')
    out.push(`| ${r.impl} | ${r.ms.toFixed(1)} ms | ${fmt(r.opsPerSec)} | ${fmt(r.bytes, 'B')} | ${heap} | ${base ? (r.ms / base.ms).toFixed(2) : '-'} | ${extra} |`)
  }
  out.push('')
}
const tables = out.join('\n')
if (process.argv.includes('--write')) {
  const file = `${root}docs/comparison.md`
  const doc = readFileSync(file, 'utf8')
  const start = doc.indexOf('<!-- bench:start -->')
  const end = doc.indexOf('<!-- bench:end -->')
  if (start < 0 || end < 0) throw new Error('docs/comparison.md has no bench markers')
  writeFileSync(file, `${doc.slice(0, start)}<!-- bench:start -->\n${tables}\n${doc.slice(end)}`)
  console.log('docs/comparison.md updated')
} else console.log(tables)
