import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fc from 'fast-check'
import { bytesEqual, bytesToKey, randomBytes, randomReplicaId, toBase64Url, toHex, utf8Length } from '@hearsay/core'
import { testSeed } from '@hearsay/core/testing'

// The helpers replace Buffer in the data path; Node's Buffer is the oracle here (tests may use it).

test('toHex and toBase64Url write what Buffer writes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 70 }), (b) => {
      assert.equal(toHex(b), Buffer.from(b).toString('hex'))
      assert.equal(toBase64Url(b), Buffer.from(b).toString('base64url'))
    }),
    { seed: testSeed(), numRuns: 500 },
  )
})

test('utf8Length counts what TextEncoder writes, lone surrogates as U+FFFD', () => {
  const units = fc.oneof(fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0x80, max: 0x7ff }), fc.integer({ min: 0x800, max: 0xffff }), fc.integer({ min: 0xd800, max: 0xdfff }))
  const strings = fc.array(units, { maxLength: 40 }).map((cs) => String.fromCharCode(...cs))
  const utf8 = new TextEncoder()
  fc.assert(
    fc.property(strings, (s) => {
      assert.equal(utf8Length(s), utf8.encode(s).length)
      assert.equal(utf8Length(s), Buffer.byteLength(s))
    }),
    { seed: testSeed(), numRuns: 1000 },
  )
  assert.equal(utf8Length('a\u00e9\u20ac\u{1f600}'), 1 + 2 + 3 + 4)
  assert.equal(utf8Length('\ud800'), 3)
  assert.equal(utf8Length('\udc00\ud800'), 6)
})

test('bytesEqual and bytesToKey tell byte strings apart exactly', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 9000 }), fc.uint8Array({ maxLength: 9000 }), (a, b) => {
      const same = Buffer.compare(a, b) === 0
      assert.equal(bytesEqual(a, b), same)
      assert.equal(bytesToKey(a) === bytesToKey(b), same)
      assert.equal(bytesToKey(a), Buffer.from(a).toString('latin1'))
    }),
    { seed: testSeed(), numRuns: 200 },
  )
  // Long inputs go through the chunked path (fast-check rarely draws them).
  for (const n of [4095, 4096, 4097, 8192, 10_000]) {
    const long = Uint8Array.from({ length: n }, (_, i) => (i * 131 + 7) & 255)
    assert.equal(bytesToKey(long), Buffer.from(long).toString('latin1'), `length ${n}`)
  }
  assert.ok(bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])))
  assert.ok(!bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 0])))
})

test('randomBytes fills every byte from getRandomValues, also beyond its 65536-byte cap', () => {
  const draws = Array.from({ length: 20 }, () => randomBytes(200_000))
  assert.equal(draws[0]!.length, 200_000)
  // A byte left unfilled stays 0 in every draw; a filled one is 0 in all 20 with chance 256^-20.
  for (const at of [0, 65535, 65536, 65537, 131072, 196608, 199_999]) assert.ok(draws.some((d) => d[at] !== 0), `byte ${at} is never filled`)
  for (let i = 0; i < 200_000; i += 4096) assert.ok(draws[0]!.subarray(i, i + 4096).some((x) => x !== 0), `window at ${i} is all zero`)
  assert.equal(randomBytes(0).length, 0)
})

test('randomReplicaId is 11 base64url characters of 64 random bits', () => {
  const seen = new Set<string>()
  for (let i = 0; i < 1000; i++) {
    const id = randomReplicaId()
    assert.match(id, /^[A-Za-z0-9_-]{11}$/)
    seen.add(id)
  }
  assert.equal(seen.size, 1000)
})
