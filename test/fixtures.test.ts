// Golden fixtures: states encoded by earlier versions must keep decoding to the same value,
// and re-encode to the same bytes. Regenerate only with scripts/gen-fixtures.ts, on purpose.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { createReplica } from '@hearsay/core'
import '@hearsay/model'
import '@hearsay/seq'

const dir = new URL('./fixtures/', import.meta.url)
const files = readdirSync(dir).filter((f) => f.endsWith('.json'))

test('there is a fixture for every built-in model and sequence type', () => {
  assert.ok(files.length >= 9, `found ${files.length}`)
})

for (const f of files) {
  test(`fixture ${f} decodes to its value and re-encodes byte for byte`, () => {
    const fx = JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as { typeId: number; value: unknown; state: string }
    const bytes = new Uint8Array(Buffer.from(fx.state, 'base64'))
    const r = createReplica(fx.typeId, { id: 'reader' })
    r.applyState(bytes)
    assert.deepEqual(JSON.parse(JSON.stringify(r.toJSON())), fx.value)
    assert.deepEqual(Buffer.from(r.encodeState()), Buffer.from(bytes))
    assert.equal(r.pendingCount, 0)
  })
}
