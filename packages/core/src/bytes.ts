// Byte helpers the data path needs without Node's Buffer, so core, model, seq and gossip run
// unchanged in browsers, workers and other runtimes that have only Uint8Array, TextEncoder and
// WebCrypto's getRandomValues.

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** True when `a` and `b` hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Lower-case hex of `bytes`, two digits a byte. */
export function toHex(bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]!]!
  return s
}

/** Unpadded base64url of `bytes` (RFC 4648 §5), as Node's `Buffer#toString('base64url')` writes it. */
export function toBase64Url(bytes: Uint8Array): string {
  let s = ''
  let i = 0
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    s += BASE64URL[n >>> 18]! + BASE64URL[(n >>> 12) & 63]! + BASE64URL[(n >>> 6) & 63]! + BASE64URL[n & 63]!
  }
  const rest = bytes.length - i
  if (rest === 1) {
    const n = bytes[i]! << 16
    s += BASE64URL[n >>> 18]! + BASE64URL[(n >>> 12) & 63]!
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8)
    s += BASE64URL[n >>> 18]! + BASE64URL[(n >>> 12) & 63]! + BASE64URL[(n >>> 6) & 63]!
  }
  return s
}

/** `n` bytes from the platform's cryptographic random source (WebCrypto `getRandomValues`). */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n)
  // getRandomValues fills at most 65536 bytes a call.
  for (let i = 0; i < n; i += 65536) globalThis.crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)))
  return out
}

/**
 * The length of `s` in UTF-8, counting a lone surrogate as the 3 bytes of U+FFFD that
 * `TextEncoder` writes for it (as `Buffer.byteLength` does), without encoding the string.
 */
export function utf8Length(s: string): number {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4
      i++
    } else n += 3
  }
  return n
}

/** `bytes` as a string of one UTF-16 unit per byte (latin1): a compact, exact `Map` key for bytes. */
export function bytesToKey(bytes: Uint8Array): string {
  // fromCharCode takes its arguments on the stack: chunk long inputs.
  if (bytes.length <= 4096) return String.fromCharCode.apply(null, bytes as unknown as number[])
  let s = ''
  for (let i = 0; i < bytes.length; i += 4096) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 4096) as unknown as number[])
  return s
}
