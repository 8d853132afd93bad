import * as encoding from 'lib0/encoding'
import { HearsayError, ErrorCodes } from './errors.js'

/** Default cap on one frame's payload (16 MiB). */
export const DEFAULT_MAX_FRAME = 16 * 1024 * 1024

/** Prefixes a payload with its var-uint length. */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  const e = encoding.createEncoder()
  encoding.writeVarUint8Array(e, payload)
  return encoding.toUint8Array(e)
}

/**
 * Splits a byte stream back into frames. The declared length is checked against the cap
 * as soon as its var-uint is complete, before any of the payload is buffered.
 */
export class FrameDecoder {
  /** The cap on a frame's declared length; may be changed between pushes. */
  maxFrame: number
  #chunks: Uint8Array[] = []
  #buffered = 0
  #need = -1
  /** Total bytes accepted so far (for offsets in errors and for stats). */
  bytesRead = 0

  constructor(maxFrame = DEFAULT_MAX_FRAME) {
    this.maxFrame = maxFrame
  }

  /** Bytes held waiting for the rest of a frame (including a partial length prefix). */
  get buffered(): number {
    return this.#buffered
  }

  /**
   * Feeds bytes; returns every frame payload completed by them.
   * @throws HearsayError `HEARSAY_FRAME_TOO_LARGE` or `HEARSAY_DECODE_ERROR` (a length prefix over 5 bytes).
   */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = []
    if (chunk.length === 0) return out
    this.#chunks.push(chunk)
    this.#buffered += chunk.length
    for (;;) {
      if (this.#need < 0) {
        const head = this.#readLength()
        if (head === undefined) break
        this.#need = head
      }
      if (this.#buffered < this.#need) break
      out.push(this.#take(this.#need))
      this.#need = -1
    }
    return out
  }

  #readLength(): number | undefined {
    let num = 0
    let mult = 1
    let i = 0
    for (const c of this.#chunks) {
      for (let j = 0; j < c.length; j++) {
        const b = c[j]!
        num += (b & 0x7f) * mult
        mult *= 128
        i++
        if (b < 0x80) {
          if (num > this.maxFrame) {
            throw new HearsayError(ErrorCodes.FRAME_TOO_LARGE, `frame of ${num} bytes exceeds the cap of ${this.maxFrame}`, { offset: this.bytesRead })
          }
          this.#take(i)
          return num
        }
        if (i >= 5) throw new HearsayError(ErrorCodes.DECODE_ERROR, 'frame length prefix longer than 5 bytes', { offset: this.bytesRead })
      }
    }
    return undefined
  }

  #take(n: number): Uint8Array {
    // An empty frame may end exactly at a chunk boundary, when no chunk is left to slice.
    if (n === 0) return new Uint8Array(0)
    this.bytesRead += n
    this.#buffered -= n
    const first = this.#chunks[0]!
    if (first.length >= n) {
      const out = first.subarray(0, n)
      if (first.length === n) this.#chunks.shift()
      else this.#chunks[0] = first.subarray(n)
      return out
    }
    const out = new Uint8Array(n)
    let off = 0
    while (off < n) {
      const c = this.#chunks[0]!
      const k = Math.min(c.length, n - off)
      out.set(c.subarray(0, k), off)
      off += k
      if (k === c.length) this.#chunks.shift()
      else this.#chunks[0] = c.subarray(k)
    }
    return out
  }
}
