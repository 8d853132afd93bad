import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FrameDecoder, encodeFrame, isHearsayError, ErrorCodes } from '@hearsay/core'
import { withSeed } from '@hearsay/core/testing'
import * as prng from 'lib0/prng'

test('frames survive any split of the byte stream', async () => {
  await withSeed('framing splits', (rng) => {
    const payloads = Array.from({ length: 50 }, (_, i) => prng.uint8Array(rng, i === 7 ? 70_000 : prng.uint32(rng, 0, 300)))
    const bytes = Buffer.concat(payloads.map(encodeFrame))
    for (let trial = 0; trial < 20; trial++) {
      const d = new FrameDecoder()
      const out: Uint8Array[] = []
      let i = 0
      while (i < bytes.length) {
        const n = prng.uint32(rng, 1, 500)
        out.push(...d.push(bytes.subarray(i, i + n)))
        i += n
      }
      assert.equal(out.length, payloads.length)
      out.forEach((p, k) => assert.deepEqual(Buffer.from(p), Buffer.from(payloads[k]!)))
      assert.equal(d.buffered, 0)
    }
  })
})

test('an oversized frame is refused from its length prefix alone, before buffering', () => {
  const d = new FrameDecoder(1024)
  // Prefix announces 1 MiB; only 3 bytes are given.
  assert.throws(() => d.push(new Uint8Array([0x80, 0x80, 0x40])), (e) => isHearsayError(e, ErrorCodes.FRAME_TOO_LARGE) && e.offset === 0)
  const d2 = new FrameDecoder()
  assert.throws(() => d2.push(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), (e) => isHearsayError(e))
})

test('an empty frame at the end of a chunk decodes', () => {
  const d = new FrameDecoder()
  assert.deepEqual(d.push(encodeFrame(new Uint8Array(0))).map((f) => f.length), [0])
  const both = Buffer.concat([encodeFrame(Uint8Array.of(1)), encodeFrame(new Uint8Array(0))])
  assert.deepEqual(d.push(both).map((f) => f.length), [1, 0])
})
