import { HearsayError, ErrorCodes } from './errors.js'

// MessagePack for hearsay's values only: nil, booleans, finite numbers, strings, bin, arrays and
// string-keyed maps. Hand-written, not msgpackr, for the browser: msgpackr's pack and unpack
// modules carry records, bundled strings, structures and extensions that hearsay turns off and
// that no bundler can drop (27.6 kB minified, 10.3 kB gzipped: a quarter of a page's hearsay
// bundle); this file is ~1.5 kB gzipped. The bytes are exactly msgpackr's with hearsay's former
// options (`useRecords: false, variableMapSize: true`: the smallest header for every length,
// integers of 32 bits or less as the smallest int, every other number as float64, map keys in
// `Object.keys` order), so states written before read back and encode to the same bytes;
// packages/core/test/msgpack.test.ts checks that against msgpackr on random values.
// Decoding is strict where msgpackr is lenient, because a value that does not read back as it
// was written would make replicas diverge: invalid UTF-8, duplicate or non-string map keys, a
// "__proto__" key, ext types, 64-bit integers, NaN, infinities and -0 are refused.

/** What {@link packMsgpack} and {@link unpackMsgpack} carry; `encoding.ts` checks values before packing. */
type Packable = null | boolean | number | string | Uint8Array | readonly Packable[] | { readonly [key: string]: Packable }

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder('utf-8', { fatal: true })

// Values are written into a shared chunk and handed out as views of it, as msgpackr does: a fresh
// ArrayBuffer per value would cost more than the encoding. A value that does not fit the rest of
// the chunk moves to a new one (packing never re-enters, so one value is written at a time).
const CHUNK = 1 << 13
let buf = new Uint8Array(CHUNK)
let view = new DataView(buf.buffer)
let start = 0
let pos = 0

function ensure(n: number): void {
  if (pos + n <= buf.length) return
  const used = pos - start
  let size = CHUNK
  while (size < used + n) size *= 2
  const next = new Uint8Array(size)
  next.set(buf.subarray(start, pos))
  buf = next
  view = new DataView(buf.buffer)
  start = 0
  pos = used
}

function writeLength(n: number, fix: number, fixMax: number, b8: number, b16: number): void {
  ensure(5)
  if (n < fixMax) buf[pos++] = fix | n
  else if (b8 !== 0 && n < 0x100) {
    buf[pos++] = b8
    buf[pos++] = n
  } else if (n < 0x10000) {
    buf[pos++] = b16
    buf[pos++] = n >> 8
    buf[pos++] = n & 0xff
  } else {
    buf[pos++] = b16 + 1
    view.setUint32(pos, n)
    pos += 4
  }
}

function writeString(s: string): void {
  const units = s.length
  // The header is sized from the UTF-16 length (UTF-8 is never shorter) and moved if it grows.
  const guess = units < 0x20 ? 1 : units < 0x100 ? 2 : units < 0x10000 ? 3 : 5
  ensure(5 + units * 3)
  const start = pos + guess
  let end = start
  if (units < 64) {
    for (let i = 0; i < units; i++) {
      let c = s.charCodeAt(i)
      if (c < 0x80) buf[end++] = c
      else if (c < 0x800) {
        buf[end++] = 0xc0 | (c >> 6)
        buf[end++] = 0x80 | (c & 0x3f)
      } else if ((c & 0xfc00) === 0xd800 && i + 1 < units && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        c = 0x10000 + ((c & 0x3ff) << 10) + (s.charCodeAt(++i) & 0x3ff)
        buf[end++] = 0xf0 | (c >> 18)
        buf[end++] = 0x80 | ((c >> 12) & 0x3f)
        buf[end++] = 0x80 | ((c >> 6) & 0x3f)
        buf[end++] = 0x80 | (c & 0x3f)
      } else {
        buf[end++] = 0xe0 | (c >> 12)
        buf[end++] = 0x80 | ((c >> 6) & 0x3f)
        buf[end++] = 0x80 | (c & 0x3f)
      }
    }
  } else {
    end += textEncoder.encodeInto(s, buf.subarray(start)).written
  }
  const len = end - start
  const header = len < 0x20 ? 1 : len < 0x100 ? 2 : len < 0x10000 ? 3 : 5
  if (header !== guess) buf.copyWithin(pos + header, start, end)
  writeLength(len, 0xa0, 0x20, 0xd9, 0xda)
  pos += len
}

function write(v: Packable): void {
  switch (typeof v) {
    case 'number':
      ensure(9)
      if (v >>> 0 === v) {
        if (v < 0x80) buf[pos++] = v
        else if (v < 0x100) {
          buf[pos++] = 0xcc
          buf[pos++] = v
        } else if (v < 0x10000) {
          buf[pos++] = 0xcd
          buf[pos++] = v >> 8
          buf[pos++] = v & 0xff
        } else {
          buf[pos++] = 0xce
          view.setUint32(pos, v)
          pos += 4
        }
      } else if (v >> 0 === v) {
        if (v >= -0x20) buf[pos++] = 0x100 + v
        else if (v >= -0x80) {
          buf[pos++] = 0xd0
          buf[pos++] = v + 0x100
        } else if (v >= -0x8000) {
          buf[pos++] = 0xd1
          view.setInt16(pos, v)
          pos += 2
        } else {
          buf[pos++] = 0xd2
          view.setInt32(pos, v)
          pos += 4
        }
      } else {
        buf[pos++] = 0xcb
        view.setFloat64(pos, v)
        pos += 8
      }
      return
    case 'string':
      return writeString(v)
    case 'boolean':
      ensure(1)
      buf[pos++] = v ? 0xc3 : 0xc2
      return
    default:
      if (v === null) {
        ensure(1)
        buf[pos++] = 0xc0
      } else if (v instanceof Uint8Array) {
        writeLength(v.length, 0, 0, 0xc4, 0xc5)
        ensure(v.length)
        buf.set(v, pos)
        pos += v.length
      } else if (Array.isArray(v)) {
        const a = v as readonly Packable[]
        writeLength(a.length, 0x90, 0x10, 0, 0xdc)
        for (let i = 0; i < a.length; i++) write(a[i]!)
      } else {
        // Callers check values first (assertValue); this refuses what would otherwise encode
        // as something else (a function or a class instance as a map, undefined as nothing),
        // so a value handed in unchecked cannot replicate as other bytes than it reads.
        const proto = typeof v === 'object' ? Object.getPrototypeOf(v) : undefined
        if (proto !== Object.prototype && proto !== null) throw new TypeError(`${describe(v)} does not replicate; values are null, booleans, finite numbers, strings, Uint8Arrays, arrays and plain objects`)
        const o = v as { readonly [key: string]: Packable }
        const keys = Object.keys(o)
        writeLength(keys.length, 0x80, 0x10, 0, 0xde)
        for (const k of keys) {
          writeString(k)
          write(o[k]!)
        }
      }
  }
}

/** Encodes a value (already checked to be one) as msgpack: a view of a shared chunk that no later call overwrites. */
export function packMsgpack(v: Packable): Uint8Array {
  try {
    write(v)
  } catch (err) {
    pos = start
    throw err
  }
  const out = buf.subarray(start, pos)
  start = pos
  return out
}

function describe(v: unknown): string {
  if (typeof v === 'object') return `an instance of ${(v as object).constructor?.name ?? 'a class'}`
  return `a ${typeof v}`
}

interface Reader {
  readonly b: Uint8Array
  readonly v: DataView
  p: number
  readonly maxDepth: number
}

function fail(r: Reader, at: number, message: string): never {
  throw new HearsayError(ErrorCodes.DECODE_ERROR, `malformed msgpack value: ${message}`, { offset: at })
}

function need(r: Reader, n: number, at: number): void {
  if (r.p + n > r.b.length) fail(r, at, 'unexpected end of data')
}

function readStr(r: Reader, len: number, at: number): string {
  need(r, len, at)
  const { b } = r
  const start = r.p
  r.p += len
  if (len < 32) {
    let ascii = true
    for (let i = start; i < start + len; i++) if (b[i]! >= 0x80) ascii = false
    if (ascii) return String.fromCharCode.apply(null, b.subarray(start, start + len) as unknown as number[])
  }
  try {
    return textDecoder.decode(b.subarray(start, start + len))
  } catch {
    return fail(r, at, 'a string is not valid UTF-8')
  }
}

function readLen(r: Reader, size: 1 | 2 | 4, at: number): number {
  need(r, size, at)
  const n = size === 1 ? r.b[r.p]! : size === 2 ? r.v.getUint16(r.p) : r.v.getUint32(r.p)
  r.p += size
  return n
}

function readNumber(r: Reader, at: number, n: number): number {
  if (!Number.isFinite(n) || Object.is(n, -0)) fail(r, at, `${Object.is(n, -0) ? '-0' : n} is not a number that replicates`)
  return n
}

function readArray(r: Reader, n: number, depth: number, at: number): Packable[] {
  if (depth >= r.maxDepth) fail(r, at, `nests deeper than ${r.maxDepth} levels`)
  // Every element takes a byte at least: a hostile count cannot allocate beyond the payload.
  if (n > r.b.length - r.p) fail(r, at, `array of ${n} exceeds the remaining payload`)
  const out: Packable[] = new Array(n)
  for (let i = 0; i < n; i++) out[i] = read(r, depth + 1)
  return out
}

function readMap(r: Reader, n: number, depth: number, at: number): { [key: string]: Packable } {
  if (depth >= r.maxDepth) fail(r, at, `nests deeper than ${r.maxDepth} levels`)
  if (n * 2 > r.b.length - r.p) fail(r, at, `map of ${n} exceeds the remaining payload`)
  const out: { [key: string]: Packable } = {}
  for (let i = 0; i < n; i++) {
    const kat = r.p
    need(r, 1, kat)
    const t = r.b[r.p++]!
    let key: string
    if (t >= 0xa0 && t <= 0xbf) key = readStr(r, t & 0x1f, kat)
    else if (t === 0xd9) key = readStr(r, readLen(r, 1, kat), kat)
    else if (t === 0xda) key = readStr(r, readLen(r, 2, kat), kat)
    else if (t === 0xdb) key = readStr(r, readLen(r, 4, kat), kat)
    else return fail(r, kat, 'a map key is not a string')
    if (key === '__proto__') fail(r, kat, 'a map has a "__proto__" key')
    if (Object.prototype.hasOwnProperty.call(out, key)) fail(r, kat, `a map repeats the key ${JSON.stringify(key)}`)
    out[key] = read(r, depth + 1)
  }
  return out
}

function read(r: Reader, depth: number): Packable {
  const at = r.p
  need(r, 1, at)
  const t = r.b[r.p++]!
  if (t < 0x80) return t
  if (t < 0x90) return readMap(r, t & 0x0f, depth, at)
  if (t < 0xa0) return readArray(r, t & 0x0f, depth, at)
  if (t < 0xc0) return readStr(r, t & 0x1f, at)
  if (t >= 0xe0) return t - 0x100
  const { v } = r
  let n: number
  switch (t) {
    case 0xc0:
      return null
    case 0xc2:
      return false
    case 0xc3:
      return true
    case 0xc4:
    case 0xc5:
    case 0xc6: {
      const len = readLen(r, t === 0xc4 ? 1 : t === 0xc5 ? 2 : 4, at)
      need(r, len, at)
      const out = r.b.slice(r.p, r.p + len)
      r.p += len
      return out
    }
    case 0xca:
      need(r, 4, at)
      n = v.getFloat32(r.p)
      r.p += 4
      return readNumber(r, at, n)
    case 0xcb:
      need(r, 8, at)
      n = v.getFloat64(r.p)
      r.p += 8
      return readNumber(r, at, n)
    case 0xcc:
      return readLen(r, 1, at)
    case 0xcd:
      return readLen(r, 2, at)
    case 0xce:
      return readLen(r, 4, at)
    case 0xd0:
      need(r, 1, at)
      return v.getInt8(r.p++)
    case 0xd1:
      need(r, 2, at)
      n = v.getInt16(r.p)
      r.p += 2
      return n
    case 0xd2:
      need(r, 4, at)
      n = v.getInt32(r.p)
      r.p += 4
      return n
    case 0xd9:
      return readStr(r, readLen(r, 1, at), at)
    case 0xda:
      return readStr(r, readLen(r, 2, at), at)
    case 0xdb:
      return readStr(r, readLen(r, 4, at), at)
    case 0xdc:
      return readArray(r, readLen(r, 2, at), depth, at)
    case 0xdd:
      return readArray(r, readLen(r, 4, at), depth, at)
    case 0xde:
      return readMap(r, readLen(r, 2, at), depth, at)
    case 0xdf:
      return readMap(r, readLen(r, 4, at), depth, at)
    case 0xcf:
    case 0xd3:
      return fail(r, at, '64-bit integers do not replicate (values are JavaScript numbers)')
    case 0xc1:
      return fail(r, at, 'byte 0xc1 is never used')
    default:
      return fail(r, at, `extension type 0x${t.toString(16)} does not replicate`)
  }
}

/**
 * Decodes one msgpack value that fills `bytes` exactly, containers nested at most `maxDepth` deep.
 * @throws HearsayError `HEARSAY_DECODE_ERROR` (with the offset) on anything that is not a value that replicates.
 */
export function unpackMsgpack(bytes: Uint8Array, maxDepth: number): Packable {
  const r: Reader = { b: bytes, v: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), p: 0, maxDepth }
  const value = read(r, 0)
  if (r.p !== bytes.length) fail(r, r.p, `${bytes.length - r.p} trailing bytes`)
  return value
}
