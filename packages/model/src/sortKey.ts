// Fractional sort keys for Seq: strings that compare with `<` and always leave room between
// two of them, like decimals between 0 and 1. A key is `digits + '0' + tag`: the tag (from the
// replica id) makes concurrent inserts at one place differ; the '0' before it means the digits
// of a later key can restart low, so appends and prepends grow a key by one char per ~60 steps.

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

// A short string greater than `x`: bump its first char when the alphabet allows.
function after(x: string): string {
  if (x.length === 0) return 'V'
  const c = x.charCodeAt(0)
  for (const d of CODES) if (d > c) return String.fromCharCode(d)
  return x[0]! + after(x.slice(1))
}

// A string s with lo < s < hi that is never a prefix of hi (so any suffix keeps it below hi).
function between(lo: string, hi: string | undefined): string {
  if (hi === undefined || hi <= lo) return after(lo)
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
