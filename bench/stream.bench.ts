// Foundation benchmark: a replica receiving 100k updates from another over createStream(),
// against scuttlebutt/model piped the same way (its default line-delimited JSON wire) and a
// Yjs encodeStateAsUpdate/applyUpdate round.
import { createRequire } from 'node:module'
import { PassThrough } from 'node:stream'
import * as Y from 'yjs'
import { LWWMap } from '@hearsay/model'
import { group } from './harness.ts'

const require = createRequire(import.meta.url)
const Model = require('scuttlebutt/model')

const N = Number(process.env['BENCH_N']) || 100_000

function countBytes(pass: PassThrough, into: { bytes: number }): PassThrough {
  pass.on('data', (c: Buffer | string) => (into.bytes += typeof c === 'string' ? Buffer.byteLength(c) : c.length))
  return pass
}

export async function run(): Promise<void> {
  const g = group(`receive ${N / 1000}k updates over a stream`)

  const src = new LWWMap<number>({ id: 'source' })
  for (let i = 0; i < N; i++) src.set(`key${i}`, i)
  await g.add('hearsay', async () => {
    const dst = new LWWMap<number>({ id: 'dest' })
    const wire = { bytes: 0 }
    const a = src.createStream({ tail: false })
    const b = dst.createStream({ tail: false })
    const synced = new Promise((resolve) => b.once('sync', resolve))
    a.pipe(countBytes(new PassThrough(), wire)).pipe(b).pipe(countBytes(new PassThrough(), wire)).pipe(a)
    await synced
    if (dst.size !== N) throw new Error(`hearsay received ${dst.size}`)
    return { ops: N, bytes: wire.bytes, keep: dst }
  })

  const sbSrc = new Model()
  for (let i = 0; i < N; i++) sbSrc.set(`key${i}`, i)
  await g.add('scuttlebutt/model', async () => {
    const dst = new Model()
    const wire = { bytes: 0 }
    const a = sbSrc.createStream()
    const b = dst.createStream()
    const synced = new Promise((resolve) => b.once('sync', resolve))
    a.pipe(countBytes(new PassThrough({ objectMode: true }), wire)).pipe(b).pipe(countBytes(new PassThrough({ objectMode: true }), wire)).pipe(a)
    await synced
    if (dst.keys().length !== N) throw new Error(`scuttlebutt received ${dst.keys().length}`)
    a.end?.()
    b.end?.()
    return { ops: N, bytes: wire.bytes, keep: dst }
  })

  const ydoc = new Y.Doc()
  const ymap = ydoc.getMap<number>('m')
  for (let i = 0; i < N; i++) ydoc.transact(() => ymap.set(`key${i}`, i))
  await g.add('yjs (encodeStateAsUpdate + applyUpdate)', () => {
    const update = Y.encodeStateAsUpdate(ydoc)
    const dst = new Y.Doc()
    Y.applyUpdate(dst, update)
    if (dst.getMap('m').size !== N) throw new Error('yjs received too few')
    return { ops: N, bytes: update.length, keep: dst }
  })
  g.print()
}
