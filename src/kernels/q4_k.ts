/**
 * Q4_K (ggml-quants.h `block_q4_K`, 144 bytes per 256 values):
 *   offset 0   half d       super-block scale for the 6-bit scales
 *   offset 2   half dmin    super-block scale for the 6-bit mins
 *   offset 4   u8 scales[12] eight (scale, min) pairs, 6 bits each (see getScaleMinK4)
 *   offset 16  u8 qs[128]   4-bit quants: bytes 32c..32c+31 hold sub-block 2c (low nibbles)
 *                           and sub-block 2c+1 (high nibbles), c = 0..3
 * value = d * scale_j * q - dmin * min_j for sub-block j of 32 values.
 */
import {GGMLType} from '../gguf/ggml-types.js'
import {FP16_TABLE} from './fp16.js'
import {checkBlocks, getScaleMinK4, QK_K, readU16} from './k-common.js'
import {Q8_K_BLOCK_BYTES, q8KBsum, q8KScale} from './q8_k.js'
import type {KernelTraits} from './traits.js'

export const Q4_K_BLOCK_BYTES = 144

/** As ggml's dequantize_row_q4_K. */
export function dequantizeRowQ4K(src: Uint8Array, offset: number, n: number, out: Float32Array, outOffset: number): void {
  const nb = checkBlocks('Q4_K', n, QK_K)
  for (let i = 0; i < nb; i++) {
    const b = offset + i * Q4_K_BLOCK_BYTES
    const d = FP16_TABLE[readU16(src, b)]
    const dmin = FP16_TABLE[readU16(src, b + 2)]
    let y = outOffset + i * QK_K
    for (let c = 0; c < 4; c++) {
      const sm1 = getScaleMinK4(2 * c, src, b + 4)
      const sm2 = getScaleMinK4(2 * c + 1, src, b + 4)
      const d1 = Math.fround(d * (sm1 & 0xff)), m1 = Math.fround(dmin * (sm1 >> 8))
      const d2 = Math.fround(d * (sm2 & 0xff)), m2 = Math.fround(dmin * (sm2 >> 8))
      const q = b + 16 + 32 * c
      for (let l = 0; l < 32; l++) out[y + l] = d1 * (src[q + l] & 0xf) - m1
      for (let l = 0; l < 32; l++) out[y + 32 + l] = d2 * (src[q + l] >> 4) - m2
      y += 64
    }
  }
}

/** Dot of one Q4_K row with float activations: per sub-block d1 * sum(x q) - m1 * sum(x), in f64. */
export function dotRowQ4K(src: Uint8Array, offset: number, n: number, x: Float32Array, xOffset: number): number {
  const nb = checkBlocks('Q4_K', n, QK_K)
  let sum = 0
  for (let i = 0; i < nb; i++) {
    const b = offset + i * Q4_K_BLOCK_BYTES
    const d = FP16_TABLE[readU16(src, b)]
    const dmin = FP16_TABLE[readU16(src, b + 2)]
    let xi = xOffset + i * QK_K
    for (let c = 0; c < 4; c++) {
      const sm1 = getScaleMinK4(2 * c, src, b + 4)
      const sm2 = getScaleMinK4(2 * c + 1, src, b + 4)
      const q = b + 16 + 32 * c
      let xq1 = 0, xs1 = 0, xq2 = 0, xs2 = 0
      for (let l = 0; l < 32; l++) {
        const qb = src[q + l]
        const x1 = x[xi + l], x2 = x[xi + 32 + l]
        xq1 += x1 * (qb & 0xf); xs1 += x1
        xq2 += x2 * (qb >> 4); xs2 += x2
      }
      sum += Math.fround(d * (sm1 & 0xff)) * xq1 - Math.fround(dmin * (sm1 >> 8)) * xs1
      sum += Math.fround(d * (sm2 & 0xff)) * xq2 - Math.fround(dmin * (sm2 >> 8)) * xs2
      xi += 64
    }
  }
  return sum
}

/**
 * Dot of one Q4_K row with Q8_K activations, the product llama.cpp's CPU path computes
 * (ggml_vec_dot_q4_K_q8_K). Per block the integer sums are exact:
 *   isum = sum_j scale_j * sum_l q4 * q8   (j over the 8 sub-blocks of 32)
 *   imin = sum_g bsums_g * min_(g/2)       (g over the 16 groups of 16)
 * and the float part is fixed so a SIMD path can reproduce it bit for bit (all f32 operations):
 *   sumf += (d * dy) * f32(isum);  sumf -= (dmin * dy) * f32(imin)
 * ggml's scalar code splits isum over 8 lanes before scaling, so results agree to f32 rounding.
 */
export function vecDotQ4KQ8K(w: Uint8Array, wOffset: number, n: number, y: Uint8Array, yOffset: number): number {
  const nb = checkBlocks('Q4_K', n, QK_K)
  const f = Math.fround
  let sumf = 0
  for (let i = 0; i < nb; i++) {
    const b = wOffset + i * Q4_K_BLOCK_BYTES
    const yb = yOffset + i * Q8_K_BLOCK_BYTES
    let isum = 0
    for (let c = 0; c < 4; c++) {
      const q = b + 16 + 32 * c
      const q8 = yb + 4 + 64 * c
      let dot1 = 0, dot2 = 0
      for (let l = 0; l < 32; l++) {
        const qb = w[q + l]
        dot1 += (qb & 0xf) * ((y[q8 + l] << 24) >> 24)
        dot2 += (qb >> 4) * ((y[q8 + 32 + l] << 24) >> 24)
      }
      isum += (getScaleMinK4(2 * c, w, b + 4) & 0xff) * dot1 + (getScaleMinK4(2 * c + 1, w, b + 4) & 0xff) * dot2
    }
    let imin = 0
    for (let g = 0; g < 16; g++) imin += q8KBsum(y, yb, g) * (getScaleMinK4(g >> 1, w, b + 4) >> 8)
    const dy = q8KScale(y, yb)
    sumf = f(sumf + f(f(FP16_TABLE[readU16(w, b)] * dy) * f(isum)))
    sumf = f(sumf - f(f(FP16_TABLE[readU16(w, b + 2)] * dy) * f(imin)))
  }
  return sumf
}

export const q4KTraits: KernelTraits = {
  type: GGMLType.Q4_K, blockSize: QK_K, blockBytes: Q4_K_BLOCK_BYTES,
  dequantizeRow: dequantizeRowQ4K, dotRow: dotRowQ4K,
}
