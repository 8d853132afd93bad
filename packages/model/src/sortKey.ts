// Fractional sort keys for Seq: strings that compare with `<` and always leave room between
// two of them, like decimals between 0 and 1.

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const CODES = Array.from(ALPHABET, (c) => c.charCodeAt(0))

// The alphabet chars with code strictly between lo and hi, as the middle one, or undefined.
function middleChar(lo: number, hi: number): string | undefined {
  let first = -1
  let last = -1
  for (let k = 0; k < CODES.length; k++) {
    const c = CODES[k]!
    if (c > lo && c < hi) {
      if (first < 0) first = k
      last = k
    }
  }
  return first < 0 ? undefined : ALPHABET[(first + last) >> 1]
}

// A string greater than `x`, short: bump its first char when the alphabet allows.
function after(x: string): string {
  if (x.length === 0) return 'V'
  const c = x.charCodeAt(0)
  for (const d of CODES) if (d > c) return String.fromCharCode(d)
  return x[0]! + after(x.slice(1))
}

/**
 * A string strictly between `lo` and `hi` (`lo` '' means the start, `hi` undefined the end),
 * that is never a prefix of `hi`, so any suffix (the replica tag) keeps it below `hi`. When no
 * string lies between (hostile input such as `hi === lo + '\0'`) it returns `lo` + a char, and
 * ties are broken by row id.
 */
export function sortKeyBetween(lo: string, hi: string | undefined, tag: string): string {
  if (hi === undefined || hi <= lo) return after(lo) + tag
  let i = 0
  while (i < lo.length && lo.charCodeAt(i) === hi.charCodeAt(i)) i++
  const ca = i < lo.length ? lo.charCodeAt(i) : -1
  const cb = hi.charCodeAt(i)
  const mid = middleChar(ca, cb)
  if (mid !== undefined) return hi.slice(0, i) + mid + tag
  if (ca >= 0) return lo.slice(0, i + 1) + after(lo.slice(i + 1)) + tag
  if (cb > 0) return lo + String.fromCharCode(cb - 1) + tag
  return lo + '0' + tag
}

/** A short tag from a replica id, appended to its sort keys so concurrent inserts at one place differ. */
export function sortTag(id: string): string {
  let h = 0x811c9dc5
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193)
  h >>>= 0
  // Never end in the lowest char, so there is always room below a key.
  return ALPHABET[h % 62]! + ALPHABET[1 + ((h >>> 8) % 61)]!
}
