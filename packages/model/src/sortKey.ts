// Fractional sort keys for Seq: strings that compare with `<` and always leave room between
// two of them, like decimals between 0 and 1. A key is `digits + '0' + tag`: the tag (from the
// replica id) makes concurrent inserts at one place differ; the '0' before it means the digits
// of a later key can restart low.

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const CODES = Array.from(ALPHABET, (c) => c.charCodeAt(0))
const SEPARATOR = '0'

// The alphabet char strictly between lo and hi: the middle one when both are bounded, the one
// just below hi when lo is open (-1); undefined when there is none.
function charBetween(lo: number, hi: number): string | undefined {
  let first = -1
  let last = -1
  for (let k = 0; k < CODES.length; k++) {
    const c = CODES[k]!
    if (c > lo && c < hi) {
      if (first < 0) first = k
      last = k
    }
  }
  if (first < 0) return undefined
  return ALPHABET[lo < 0 ? last : (first + last) >> 1]
}

// The value of a char as a digit: the index of the greatest alphabet char at or below it, -1 below '0'.
function digit(c: number): number {
  let v = -1
  for (let k = 0; k < CODES.length && CODES[k]! <= c; k++) v = k
  return v
}

// Keys are read as counters in levels of growing width: chars [0,1), then [1,3), [3,6), ...
// Appending bumps the first level that is not full, so n appends need O(log² n) chars, not O(n).

// A short string greater than `x`.
function after(x: string): string {
  if (x.length === 0) return 'V'
  let off = 0
  for (let w = 1; off < x.length; off += w, w++) {
    const seg: number[] = []
    for (let i = off; i < off + w; i++) seg.push(i < x.length ? digit(x.charCodeAt(i)) : -1)
    // Increment the segment as a base-62 number; a digit past the alphabet carries.
    let i = w - 1
    while (i >= 0 && seg[i]! >= CODES.length - 1) i--
    if (i < 0) continue
    // Keep the chars before the bumped one exactly (past the end of x, the lowest digit).
    let out = x.slice(0, off)
    for (let j = 0; j < i; j++) out += off + j < x.length ? x[off + j]! : ALPHABET[0]!
    out += ALPHABET[seg[i]! + 1]!
    return out
  }
  return x + 'V'
}

// A short non-empty string below `x` that is not a prefix of it, or undefined.
function before(x: string): string | undefined {
  let off = 0
  for (let w = 1; off + w <= x.length; off += w, w++) {
    const seg: number[] = []
    for (let i = off; i < off + w; i++) seg.push(digit(x.charCodeAt(i)))
    // Only a segment written in alphabet chars can be decremented safely.
    if (seg.some((v, j) => v < 0 || ALPHABET.charCodeAt(v) !== x.charCodeAt(off + j))) return undefined
    let i = w - 1
    while (i >= 0 && seg[i] === 0) i--
    if (i < 0) continue
    let out = x.slice(0, off)
    for (let j = 0; j < i; j++) out += ALPHABET[seg[j]!]!
    out += ALPHABET[seg[i]! - 1]!
    // Fill the rest of the segment high, leaving room below the next key.
    for (let j = i + 1; j < w; j++) out += ALPHABET[CODES.length - 1]!
    return out
  }
  return undefined
}

// A string s with lo < s < hi that is never a prefix of hi (so any suffix keeps it below hi).
function between(lo: string, hi: string | undefined): string {
  if (hi === undefined || hi <= lo) return after(lo)
  if (lo === '') {
    const b = before(hi)
    if (b !== undefined && b !== '') return b
  }
  let i = 0
  while (i < lo.length && lo.charCodeAt(i) === hi.charCodeAt(i)) i++
  const ca = i < lo.length ? lo.charCodeAt(i) : -1
  const cb = hi.charCodeAt(i)
  const mid = charBetween(ca, cb)
  if (mid !== undefined) return hi.slice(0, i) + mid
  if (ca >= 0) return lo.slice(0, i + 1) + after(lo.slice(i + 1))
  // lo ran out and hi's next char is the lowest: follow hi one char deeper.
  if (i + 1 < hi.length) return hi.slice(0, i + 1) + between('', hi.slice(i + 1))
  // Only input we never produce gets here (hi === lo + one char at or below '0').
  return cb > 0 ? lo + String.fromCharCode(cb - 1) : lo
}

/**
 * A sort key strictly between `lo` and `hi` (`lo` '' means the start, `hi` undefined the end),
 * ending in `tag`. Holds for any strings except a `hi` that is `lo` plus one char at or below
 * '0', which no key made here is; then the key may tie and rows fall back to id order.
 */
export function sortKeyBetween(lo: string, hi: string | undefined, tag: string): string {
  return between(lo, hi) + SEPARATOR + tag
}

/** A short tag from a replica id, appended to its sort keys so concurrent inserts at one place differ. */
export function sortTag(id: string): string {
  let h = 0x811c9dc5
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193)
  h >>>= 0
  // Never end in the lowest char, so there is always room below a key.
  return ALPHABET[h % 62]! + ALPHABET[1 + ((h >>> 8) % 61)]!
}
