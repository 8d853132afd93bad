// Text and List carried by a file: createReadStream → file on disk → createWriteStream, then
// edits on both sides carried back the same way, and three replicas syncing live over streams.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { setImmediate as tick } from 'node:timers/promises'
import { List, Text } from '@hearsay/seq'
import type { Replicated } from '@hearsay/core'

async function viaFile(from: Replicated<any>, to: Replicated<any>, file: string): Promise<void> {
  await pipeline(from.createReadStream(), createWriteStream(file))
  await pipeline(createReadStream(file), to.createWriteStream())
}

test('Text and List travel through a file and back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearsay-seq-'))
  try {
    const a = new Text({ id: 'laptop' })
    a.insert(0, 'Field notes: river 3m, 😀 clear')
    const b = new Text({ id: 'camp' })
    await viaFile(a, b, join(dir, 'a.bin'))
    assert.equal(b.toString(), a.toString())
    b.insert(b.length, '; rain at dusk')
    a.delete(0, 13)
    await viaFile(b, a, join(dir, 'b.bin'))
    await viaFile(a, b, join(dir, 'a2.bin'))
    assert.equal(a.toString(), 'river 3m, 😀 clear; rain at dusk')
    assert.deepEqual(b.encodeState(), a.encodeState())

    const l = new List<string>({ id: 'laptop' })
    l.push('tent', 'stove', 'rope')
    const m = new List<string>({ id: 'camp' })
    await viaFile(l, m, join(dir, 'l.bin'))
    m.move(2, 0)
    l.delete(1)
    await viaFile(m, l, join(dir, 'm.bin'))
    await viaFile(l, m, join(dir, 'l2.bin'))
    assert.deepEqual(l.toArray(), ['rope', 'tent'])
    assert.deepEqual(m.toArray(), ['rope', 'tent'])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('three Text replicas typing concurrently over live streams converge without interleaving', async () => {
  const rs = ['a', 'b', 'c'].map((id) => new Text({ id }))
  const link = (x: Text, y: Text) => {
    const sx = x.createStream()
    const sy = y.createStream()
    sx.pipe(sy).pipe(sx)
  }
  link(rs[0]!, rs[1]!)
  link(rs[1]!, rs[2]!)
  rs[0]!.insert(0, '[]')
  for (let i = 0; i < 20 && rs[2]!.length !== 2; i++) await tick()
  const words = ['north ', 'south ', 'east ']
  // Each types its word at index 1 one character at a time, without waiting for the others.
  for (let k = 0; k < 6; k++) for (let r = 0; r < 3; r++) if (k < words[r]!.length) rs[r]!.insert(1 + k, words[r]![k]!)
  for (let i = 0; i < 50 && !(rs[0]!.toString() === rs[1]!.toString() && rs[1]!.toString() === rs[2]!.toString() && rs[0]!.length === 19); i++) await tick()
  const s = rs[0]!.toString()
  for (const r of rs) assert.equal(r.toString(), s)
  for (const w of words) assert.ok(s.includes(w), `${JSON.stringify(w)} interleaved in ${JSON.stringify(s)}`)
  for (const r of rs) r.dispose()
})
