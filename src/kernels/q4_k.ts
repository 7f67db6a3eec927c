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

export const q4KTraits: KernelTraits = {
  type: GGMLType.Q4_K, blockSize: QK_K, blockBytes: Q4_K_BLOCK_BYTES,
  dequantizeRow: dequantizeRowQ4K, dotRow: dotRowQ4K,
}
