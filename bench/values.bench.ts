// User values through hearsay's own MessagePack codec (packages/core/src/msgpack.ts) against
// msgpackr with the options hearsay used before: 100k mixed values (small ints, strings, small
// objects with a timestamp, short arrays), packed, then unpacked. hearsay's unpack validates as
// it reads (a plain Value, depth, keys); msgpackr's row is its raw unpack, with no validation.
// Run: node --expose-gc --conditions=source --import tsx bench/index.ts values
import { Packr, Unpackr } from 'msgpackr'
import { packValue, unpackValue, type Value } from '@hearsay/core'
import { group } from './harness.ts'

const N = Number(process.env['BENCH_VALUES_N']) || 100_000

export async function run(): Promise<void> {
  const packr = new Packr({ useRecords: false, moreTypes: false, structuredClone: false, mapsAsObjects: true, variableMapSize: true })
  const unpackr = new Unpackr({ useRecords: false, moreTypes: false, structuredClone: false, mapsAsObjects: true })
  const values: Value[] = []
  for (let i = 0; i < N; i++) values.push(i % 4 === 0 ? i : i % 4 === 1 ? `value-${i}` : i % 4 === 2 ? { name: `n${i}`, done: i % 2 === 0, at: 1_700_000_000_000 + i } : [i, 'x', null])
  const ours = values.map((v) => packValue(v))
  const theirs = values.map((v) => packr.pack(v) as Uint8Array)
  const bytes = ours.reduce((n, b) => n + b.length, 0)
  const pack = group(`pack ${N} values`)
  await pack.add('hearsay', () => {
    for (const v of values) packValue(v)
    return { ops: N, bytes }
  })
  await pack.add('msgpackr', () => {
    for (const v of values) packr.pack(v)
    return { ops: N, bytes: theirs.reduce((n, b) => n + b.length, 0) }
  })
  pack.print()
  const unpack = group(`unpack ${N} values (hearsay validates; msgpackr raw)`)
  await unpack.add('hearsay', () => {
    for (const b of ours) unpackValue(b)
    return { ops: N }
  })
  await unpack.add('msgpackr', () => {
    for (const b of theirs) unpackr.unpack(b)
    return { ops: N }
  })
  unpack.print()
}
