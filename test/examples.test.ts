// Every example runs here, as a user would run it, so examples never rot.
// Interactive examples (stdin-driven, long-running peers) have their own tests next to this one.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const root = new URL('..', import.meta.url).pathname

/** [script, args, a pattern its output must match] */
const examples: Array<[string, string[], RegExp]> = [
  ['examples/custom-type.ts', [], /laptop: \[ 'home', 'urgent' \] phone: \[ 'home', 'urgent' \][\s\S]*8 simulated nodes: converged \d+ ms after the heal/],
  ['examples/demo.ts', [], /all 3 peers converged \(equal encoded states\)/],
  ['examples/two-replicas.ts', [], /\{ eggs: 12, milk: 3 \} \{ eggs: 12, milk: 3 \}/],
  ['examples/todo.ts', [], /bob +todo: write the report, call the bank +\| +done: buy milk, book the train\n\nboth nodes show the same lists/],
  ['examples/notes-tree.ts', [], /paris recovered 8 notes:[\s\S]*- Buy seeds[\s\S]*- Budget[\s\S]*all three nodes hold the whole tree/],
  ['examples/price-log.ts', ['7'], /every office holds all \d+ prices in the same order[\s\S]*all three offices converged; nothing was lost/],
  ['examples/price-log.ts', ['2024'], /\d+ of them duplicates[\s\S]*all three offices converged; nothing was lost/],
  ['examples/price-list.ts', [], /ridge: \{"fuel":40,"rice":12,"water":2\}[\s\S]*relay refused its own write: HEARSAY_NOT_PERMITTED\ncamp refused its own write: HEARSAY_NOT_PERMITTED\nrelay refused a forgery in the camp's name: HEARSAY_BAD_SIGNATURE\ncamp refused a forgery in the camp's name: HEARSAY_BAD_SIGNATURE\nrelay refused a flipped bit: HEARSAY_BAD_SIGNATURE\ncamp refused a flipped bit: HEARSAY_BAD_SIGNATURE[\s\S]*every node holds the camp's prices, unchanged/],
  ['examples/thin-link.ts', [], /link 1: sent \d+ readings in \d+ bytes, budget[\s\S]*, complete\nthe camp holds 2000 readings[\s\S]*mail \d+: \d+ bytes, \d+ updates, the last\nthe office holds 2000 readings/],
  ['examples/signed-prices.ts', [], /ridge: \{ fuel: 40, rice: 12 \}\nrelay refused: HEARSAY_NOT_PERMITTED/],
  ['examples/field-camp.ts', [], /\[ridge\] nests: one more found \(ranger-1\)[\s\S]*the camp relayed between devices that never met/],
  ['examples/yjs-text.ts', [], /linus: "Gossip spreads updates\. Peers converge\. No server needed\."\ndelta: \[\{"insert":"Gossip spreads","attributes":\{"bold":true\}\}[\s\S]*both Y\.Docs hold the same text/],
]

for (const [script, args, expected] of examples) {
  test(`example ${[script, ...args].join(' ')} runs and prints what it promises`, { timeout: 120_000 }, () => {
    assert.ok(existsSync(root + script), `${script} exists`)
    const r = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', script, ...args], { cwd: root, encoding: 'utf8', timeout: 110_000 })
    assert.equal(r.status, 0, `exit ${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`)
    assert.match(r.stdout, expected)
  })
}
