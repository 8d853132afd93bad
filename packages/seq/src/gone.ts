// The bitmap of seqs that arrived as deleted characters during a load (see SeqEngine.gone): set
// by integrate as it places deleted segments, read by the deletes that follow, which then need
// not look their characters up.

// Seqs past this get no bits (a bitmap that large would not pay).
const GONE_MAX = 2 ** 26

/** Sets the bits of seqs [lo, lo + n) of `agent` in `gone`, growing its bitmap. */
export function markGone(gone: Array<Uint32Array | undefined>, agent: number, lo: number, n: number): void {
  const hi = lo + n
  if (hi > GONE_MAX) return
  let bits = gone[agent]
  const need = (hi >>> 5) + 1
  if (bits === undefined || bits.length < need) {
    const grown = new Uint32Array(Math.max(need, bits === undefined ? 256 : bits.length * 2))
    if (bits !== undefined) grown.set(bits)
    gone[agent] = bits = grown
  }
  for (let s = lo; s < hi; ) {
    const b = s & 31
    const k = Math.min(32 - b, hi - s)
    bits[s >>> 5]! |= k === 32 ? -1 : ((1 << k) - 1) << b
    s += k
  }
}

/** Whether every seq of [lo, hi) has its bit set in `bits`. */
export function allGone(bits: Uint32Array | undefined, lo: number, hi: number): boolean {
  if (bits === undefined || hi > bits.length * 32) return false
  for (let s = lo; s < hi; ) {
    const b = s & 31
    const k = Math.min(32 - b, hi - s)
    const mask = k === 32 ? -1 : ((1 << k) - 1) << b
    if ((bits[s >>> 5]! & mask) !== mask) return false
    s += k
  }
  return true
}
