/**
 * Pieces shared by the k-quant formats (ggml-quants.c): the 256-value super-block and the packing
 * of eight 6-bit scales and eight 6-bit mins into 12 bytes used by Q4_K and Q5_K.
 */

/** Values per k-quant super-block (ggml's QK_K). */
export const QK_K = 256

/**
 * Scale and min of sub-block j (0..7) from the 12 packed bytes at q[at ..], as ggml's
 * `get_scale_min_k4`: bytes 0-3 hold scales 0-3 (low 6 bits), bytes 4-7 mins 0-3 (low 6 bits),
 * bytes 8-11 the low nibbles of scales 4-7 and (high nibble) mins 4-7; the top 2 bits of bytes
 * 0-3 / 4-7 are the high bits of scales 4-7 / mins 4-7. Returns scale | (min << 8).
 */
export function getScaleMinK4(j: number, q: Uint8Array, at: number): number {
  if (j < 4) return (q[at + j] & 63) | ((q[at + j + 4] & 63) << 8)
  const sc = (q[at + j + 4] & 0xf) | ((q[at + j - 4] >> 6) << 4)
  const m = (q[at + j + 4] >> 4) | ((q[at + j] >> 6) << 4)
  return sc | (m << 8)
}

/** Packs 6-bit scales ls[0..7] and mins lm[0..7] into 12 bytes at out[at ..] (inverse of getScaleMinK4). */
export function packScaleMinK4(ls: ArrayLike<number>, lm: ArrayLike<number>, out: Uint8Array, at: number): void {
  for (let j = 0; j < 12; j++) out[at + j] = 0
  for (let j = 0; j < 8; j++) {
    if (j < 4) {
      out[at + j] = ls[j]
      out[at + j + 4] = lm[j]
    } else {
      out[at + j + 4] = (ls[j] & 0xf) | ((lm[j] & 0xf) << 4)
      out[at + j - 4] |= (ls[j] >> 4) << 6
      out[at + j] |= (lm[j] >> 4) << 6
    }
  }
}

/** fp16 bits at src[at], little-endian. */
export function readU16(src: Uint8Array, at: number): number {
  return src[at] | (src[at + 1] << 8)
}

/** Throws unless n is a whole number of blocks (a caller bug, not bad input). */
export function checkBlocks(name: string, n: number, blockSize: number): number {
  if (n % blockSize !== 0) throw new RangeError(`${name}: ${n} values is not a multiple of the block size ${blockSize}`)
  return n / blockSize
}
