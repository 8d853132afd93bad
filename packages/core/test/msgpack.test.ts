// hearsay's own msgpack codec (packages/core/src/msgpack.ts) against msgpackr, which hearsay used
// before: the same bytes for every value, so stored states read back and re-encode unchanged, and
// a decoder that never accepts bytes msgpackr would read as a different value.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fc from 'fast-check'
import { Packr, Unpackr } from 'msgpackr'
import { packValue, unpackValue, isValue, isHearsayError, ErrorCodes, MAX_VALUE_DEPTH, type Value } from '@hearsay/core'
import { testSeed } from '@hearsay/core/testing'

// hearsay's former options (packages/core/src/encoding.ts before the codec was replaced).
const packr = new Packr({ useRecords: false, moreTypes: false, structuredClone: false, mapsAsObjects: true, variableMapSize: true })
const unpackr = new Unpackr({ useRecords: false, moreTypes: false, structuredClone: false, mapsAsObjects: true })

const numbers = fc.oneof(
  fc.integer({ min: -40, max: 300 }),
  fc.constantFrom(0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, -0x20, -0x21, -0x80, -0x81, -0x8000, -0x8001, -(2 ** 31), -(2 ** 31) - 1, 2 ** 53 - 1, -(2 ** 53) + 1, 0.5, 1e300, 5e-324),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)),
)
// Lengths around every header boundary (31/32, 255/256, 65535/65536), ASCII and not.
const lengths = fc.constantFrom(0, 1, 15, 16, 31, 32, 33, 63, 64, 255, 256, 300, 65535, 65536)
const strings = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 40, unit: 'grapheme' }) },
  { weight: 2, arbitrary: fc.string({ maxLength: 300, unit: 'binary' }).filter((s) => (s as string & { isWellFormed(): boolean }).isWellFormed()) },
  { weight: 1, arbitrary: fc.tuple(lengths, fc.constantFrom('a', 'é', '€', '😀')).map(([n, c]) => c.repeat(Math.ceil(n / c.length))) },
)
const bins = fc.oneof(fc.uint8Array({ maxLength: 40 }), lengths.map((n) => new Uint8Array(n).fill(7)))
const { value } = fc.letrec<{ value: Value }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    numbers,
    strings,
    bins,
    fc.array(tie('value'), { maxLength: 20 }),
    fc.dictionary(strings.filter((k) => k !== '__proto__'), tie('value'), { maxKeys: 20, noNullPrototype: true }),
  ),
}))
// Containers with more than 15 and more than 65535 entries (fixarray/fixmap, 16- and 32-bit counts).
const wide = fc.oneof(
  fc.constantFrom(16, 17, 65535, 65536).map((n) => Array.from({ length: n }, (_, i) => i)),
  fc.constantFrom(15, 16, 17).map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]))),
)

test('values encode to the bytes msgpackr gave them, and read back equal', () => {
  fc.assert(
    fc.property(fc.oneof({ weight: 20, arbitrary: value }, { weight: 1, arbitrary: wide }), (v) => {
      assert.ok(isValue(v))
      const ours = packValue(v)
      assert.deepEqual(ours, new Uint8Array(packr.pack(v)))
      assert.deepEqual(unpackValue(ours), v)
    }),
    { seed: testSeed(), numRuns: 500 },
  )
  const big = { map: Object.fromEntries(Array.from({ length: 70_000 }, (_, i) => [`k${i}`, i])), text: 'x'.repeat(70_000), bin: new Uint8Array(70_000) }
  assert.deepEqual(packValue(big), new Uint8Array(packr.pack(big)))
  assert.deepEqual(unpackValue(packValue(big)), big)
})

test('damaged bytes are refused or read exactly as msgpackr reads them', () => {
  const damaged = fc.tuple(value, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat()).map(([v, flips, cut]) => {
    const b = packValue(v).slice()
    for (const [at, byte] of flips) b[at % b.length] = byte
    return cut % 4 === 0 ? b.subarray(0, cut % (b.length + 1)) : b
  })
  let accepted = 0
  fc.assert(
    fc.property(damaged, (bytes) => {
      let ours: Value
      try {
        ours = unpackValue(bytes)
      } catch (err) {
        assert.ok(isHearsayError(err, ErrorCodes.DECODE_ERROR), `a typed decode error, not ${err}`)
        return
      }
      accepted++
      // msgpackr reads the same value (its Buffers compared as bytes).
      const theirs = unpackr.unpack(bytes)
      assert.deepEqual(JSON.stringify(ours, bin), JSON.stringify(theirs, bin))
    }),
    { seed: testSeed(), numRuns: 2000 },
  )
  assert.ok(accepted > 50, `some damaged inputs are still values (${accepted})`)
})

function bin(_: string, v: unknown): unknown {
  if (v instanceof Uint8Array) return { bin: [...v] }
  if (typeof v === 'object' && v !== null && (v as { type?: string }).type === 'Buffer') return { bin: (v as { data: number[] }).data }
  return v
}

test('what msgpackr reads leniently and would not read back the same is refused', () => {
  const refused: Array<[string, number[]]> = [
    ['uint64', [0xcf, 0, 0, 0, 0, 0, 0, 0, 1]],
    ['int64', [0xd3, 0, 0, 0, 0, 0, 0, 0, 1]],
    ['ext (timestamp)', [0xd6, 0xff, 0, 0, 0, 1]],
    ['ext 8', [0xc7, 1, 5, 0]],
    ['never-used byte', [0xc1]],
    ['NaN', [0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0]],
    ['infinity (float32)', [0xca, 0x7f, 0x80, 0, 0]],
    ['-0', [0xcb, 0x80, 0, 0, 0, 0, 0, 0, 0]],
    ['invalid UTF-8', [0xa2, 0xc3, 0x28]],
    ['an encoded surrogate (CESU-8)', [0xa3, 0xed, 0xa0, 0x80]],
    ['a number as a map key', [0x81, 0x01, 0x02]],
    ['a repeated key', [0x82, 0xa1, 0x61, 0x01, 0xa1, 0x61, 0x02]],
    ['a "__proto__" key', [0x81, 0xa9, ...new TextEncoder().encode('__proto__'), 0x80]],
    ['a hostile array count', [0xdd, 0xff, 0xff, 0xff, 0xff, 0x00]],
    ['a hostile map count', [0xdf, 0xff, 0xff, 0xff, 0xff, 0x00]],
    ['a truncated string', [0xd9, 10, 0x61]],
    ['trailing bytes', [0xc0, 0xc0]],
    ['nothing', []],
  ]
  for (const [what, bytes] of refused) {
    assert.throws(() => unpackValue(new Uint8Array(bytes)), (e) => isHearsayError(e, ErrorCodes.DECODE_ERROR), what)
  }
  const nested = (n: number) => new Uint8Array([...new Array(n).fill(0x91), 0xc0])
  assert.deepEqual(unpackValue(nested(MAX_VALUE_DEPTH)), JSON.parse('['.repeat(MAX_VALUE_DEPTH) + 'null' + ']'.repeat(MAX_VALUE_DEPTH)))
  assert.throws(() => unpackValue(nested(MAX_VALUE_DEPTH + 1)), /nests deeper/)
  assert.throws(() => unpackValue(nested(100_000)), (e) => isHearsayError(e, ErrorCodes.DECODE_ERROR), 'no stack overflow')
  // Non-canonical but unambiguous encodings read as their value.
  assert.equal(unpackValue(new Uint8Array([0xcc, 0x05])), 5)
  assert.equal(unpackValue(new Uint8Array([0xca, 0x3f, 0x80, 0, 0])), 1)
  // Byte values are copies, not views of the frame they came in.
  const frame = new Uint8Array([0xc4, 2, 9, 9])
  const back = unpackValue(frame) as Uint8Array
  frame[2] = 0
  assert.deepEqual([...back], [9, 9])
  assert.equal(back.buffer.byteLength, 2)
})

test('packing returns a fresh array each time, also after a value that grew the scratch buffer', () => {
  const a = packValue('first')
  const huge = packValue('y'.repeat(3 << 20))
  const b = packValue('second')
  assert.equal(unpackValue(a), 'first')
  assert.equal(unpackValue(b), 'second')
  assert.equal((unpackValue(huge) as string).length, 3 << 20)
})
