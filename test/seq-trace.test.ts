// The B4 editing trace (automerge-paper, 259,778 edits) replayed through hearsay Text: on one
// replica, and split across two replicas that sync midway over encoded bytes. The trace lives in
// /work/shared/data (or $HEARSAY_TRACE) and is never copied into the repository.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import type { Range } from '@hearsay/core'
import { checkInvariants, Text, type SeqOp } from '@hearsay/seq'

const TRACE = process.env['HEARSAY_TRACE'] ?? '/work/shared/data/automerge-paper.json.gz'
type Patch = [number, number, string]

function load(): { patches: Patch[]; endContent: string } | undefined {
  if (!existsSync(TRACE)) return undefined
  const raw = JSON.parse(gunzipSync(readFileSync(TRACE)).toString('utf8')) as { endContent: string; txns: Array<{ patches: Patch[] }> }
  return { patches: raw.txns.flatMap((t) => t.patches), endContent: raw.endContent }
}

const trace = load()
const skip = trace === undefined ? `B4 trace not found at ${TRACE} (set HEARSAY_TRACE); skipped` : false

function play(t: Text, patches: Patch[], from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const [pos, del, ins] = patches[i]!
    if (del > 0) t.delete(pos, del)
    if (ins.length > 0) t.insert(pos, ins)
  }
}

test('B4 trace on one replica ends with the expected text, and its state reloads', { skip }, () => {
  const { patches, endContent } = trace!
  const t = new Text({ id: 'author' })
  play(t, patches, 0, patches.length)
  assert.equal(t.length, 104852)
  assert.equal(t.toString(), endContent)
  checkInvariants(t)
  const loaded = new Text({ id: 'reader' })
  loaded.applyState(t.encodeState())
  assert.equal(loaded.toString(), endContent)
  assert.deepEqual(loaded.encodeState(), t.encodeState())
  checkInvariants(loaded)
})

test('B4 trace split across two replicas that sync midway (encoded bytes, live updates)', { skip }, () => {
  const { patches, endContent } = trace!
  const a = new Text({ id: 'alice' })
  const b = new Text({ id: 'bob' })
  const half = patches.length >> 1
  play(a, patches, 0, half)
  // Midway: b catches up from a's packed history, as bytes.
  b.applyRanges(b.decodeRanges(a.encodeRanges(a.historySince(b.clock))))
  assert.equal(b.toString(), a.toString())
  // b writes the rest; a follows live, one encoded update at a time.
  b.on('ranges', (r: Range<SeqOp<string>>[], origin: unknown) => {
    if (origin === 'local') a.applyRanges(a.decodeRanges(b.encodeRanges(r)), 'net')
  })
  play(b, patches, half, patches.length)
  assert.equal(b.toString(), endContent)
  assert.equal(a.toString(), endContent)
  assert.deepEqual(a.encodeState(), b.encodeState())
  checkInvariants(a)
  checkInvariants(b)
})
