/**
 * Q8_K, the activation format of the k-quant dot products (ggml-quants.h `block_q8_K`, 292 bytes
 * per 256 values):
 *   offset 0    f32 d          scale (value = d * q)
 *   offset 4    i8 qs[256]
 *   offset 260  i16 bsums[16]  sum of each 16 consecutive qs (for the mins of Q4_K / Q5_K)
 * Never stored in model files: llama.cpp quantizes every matmul input to it.
 */
import {checkBlocks, QK_K} from './k-common.js'

export const Q8_K_BLOCK_BYTES = 292

/**
 * ggml's nearest_int: round to nearest, ties to even, by the f32 magic-number trick (valid for
 * |f| < 2^22). `f` must already be an f32 value.
 */
export function nearestInt(f: number): number {
  return Math.fround(f + 12582912) - 12582912
}

/**
 * As ggml's quantize_row_q8_K_ref: per block the value of largest magnitude `max` maps to -127
 * (iscale = -127 / max, computed in f32), q = min(127, nearest_int(iscale * x)), d = 1 / iscale.
 * Writes n / 256 blocks to out[outOffset ..].
 */
export function quantizeRowQ8K(x: Float32Array, xOffset: number, n: number, out: Uint8Array, outOffset: number): void {
  const nb = checkBlocks('Q8_K', n, QK_K)
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength)
  for (let i = 0; i < nb; i++) {
    const xb = xOffset + i * QK_K
    const b = outOffset + i * Q8_K_BLOCK_BYTES
    let max = 0, amax = 0
    for (let j = 0; j < QK_K; j++) {
      const ax = Math.abs(x[xb + j])
      if (ax > amax) { amax = ax; max = x[xb + j] }
    }
    if (amax === 0) {
      out.fill(0, b, b + Q8_K_BLOCK_BYTES)
      continue
    }
    const iscale = Math.fround(-127 / max)
    for (let g = 0; g < QK_K / 16; g++) {
      let sum = 0
      for (let l = 0; l < 16; l++) {
        const j = 16 * g + l
        const v = Math.min(127, nearestInt(Math.fround(iscale * x[xb + j])))
        out[b + 4 + j] = v & 0xff
        sum += v
      }
      view.setInt16(b + 260 + 2 * g, sum, true)
    }
    view.setFloat32(b, Math.fround(1 / iscale), true)
  }
}

/** Dequantizes n values of Q8_K blocks (for tests and error measurements). */
export function dequantizeRowQ8K(src: Uint8Array, offset: number, n: number, out: Float32Array, outOffset: number): void {
  const nb = checkBlocks('Q8_K', n, QK_K)
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength)
  for (let i = 0; i < nb; i++) {
    const b = offset + i * Q8_K_BLOCK_BYTES
    const d = view.getFloat32(b, true)
    for (let j = 0; j < QK_K; j++) out[outOffset + i * QK_K + j] = d * ((src[b + 4 + j] << 24) >> 24)
  }
}

const f32Box = new Float32Array(1)
const u8Box = new Uint8Array(f32Box.buffer)

/** The f32 scale `d` of the Q8_K block at src[at]. */
export function q8KScale(src: Uint8Array, at: number): number {
  u8Box[0] = src[at]; u8Box[1] = src[at + 1]; u8Box[2] = src[at + 2]; u8Box[3] = src[at + 3]
  return f32Box[0]
}

/** bsums[g] of the Q8_K block at src[at] (signed 16-bit). */
export function q8KBsum(src: Uint8Array, at: number, g: number): number {
  const p = at + 260 + 2 * g
  return ((src[p] | (src[p + 1] << 8)) << 16) >> 16
}
