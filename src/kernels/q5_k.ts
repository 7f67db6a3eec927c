/**
 * Q5_K (ggml-quants.h `block_q5_K`, 176 bytes per 256 values):
 *   offset 0   half d        super-block scale for the 6-bit scales
 *   offset 2   half dmin     super-block scale for the 6-bit mins
 *   offset 4   u8 scales[12] eight (scale, min) pairs packed as in Q4_K (getScaleMinK4)
 *   offset 16  u8 qh[32]     5th bit: bit j of qh[l] belongs to value l of sub-block j
 *   offset 48  u8 qs[128]    low 4 bits, nibble layout as Q4_K
 * value = d * scale_j * q - dmin * min_j, q in 0..31.
 */
import {GGMLType} from '../gguf/ggml-types.js'
import {FP16_TABLE} from './fp16.js'
import {checkBlocks, getScaleMinK4, QK_K, readU16} from './k-common.js'
import type {KernelTraits} from './traits.js'

export const Q5_K_BLOCK_BYTES = 176

/** As ggml's dequantize_row_q5_K. */
export function dequantizeRowQ5K(src: Uint8Array, offset: number, n: number, out: Float32Array, outOffset: number): void {
  const nb = checkBlocks('Q5_K', n, QK_K)
  for (let i = 0; i < nb; i++) {
    const b = offset + i * Q5_K_BLOCK_BYTES
    const d = FP16_TABLE[readU16(src, b)]
    const dmin = FP16_TABLE[readU16(src, b + 2)]
    let y = outOffset + i * QK_K
    for (let c = 0; c < 4; c++) {
      const sm1 = getScaleMinK4(2 * c, src, b + 4)
      const sm2 = getScaleMinK4(2 * c + 1, src, b + 4)
      const d1 = Math.fround(d * (sm1 & 0xff)), m1 = Math.fround(dmin * (sm1 >> 8))
      const d2 = Math.fround(d * (sm2 & 0xff)), m2 = Math.fround(dmin * (sm2 >> 8))
      const u1 = 1 << (2 * c), u2 = 2 << (2 * c)
      const ql = b + 48 + 32 * c, qh = b + 16
      for (let l = 0; l < 32; l++) out[y + l] = d1 * ((src[ql + l] & 0xf) + (src[qh + l] & u1 ? 16 : 0)) - m1
      for (let l = 0; l < 32; l++) out[y + 32 + l] = d2 * ((src[ql + l] >> 4) + (src[qh + l] & u2 ? 16 : 0)) - m2
      y += 64
    }
  }
}

/** Dot of one Q5_K row with float activations: per sub-block d1 * sum(x q) - m1 * sum(x), in f64. */
export function dotRowQ5K(src: Uint8Array, offset: number, n: number, x: Float32Array, xOffset: number): number {
  const nb = checkBlocks('Q5_K', n, QK_K)
  let sum = 0
  for (let i = 0; i < nb; i++) {
    const b = offset + i * Q5_K_BLOCK_BYTES
    const d = FP16_TABLE[readU16(src, b)]
    const dmin = FP16_TABLE[readU16(src, b + 2)]
    let xi = xOffset + i * QK_K
    for (let c = 0; c < 4; c++) {
      const sm1 = getScaleMinK4(2 * c, src, b + 4)
      const sm2 = getScaleMinK4(2 * c + 1, src, b + 4)
      const sh1 = 2 * c, sh2 = 2 * c + 1
      const ql = b + 48 + 32 * c, qh = b + 16
      let xq1 = 0, xs1 = 0, xq2 = 0, xs2 = 0
      for (let l = 0; l < 32; l++) {
        const qb = src[ql + l], hb = src[qh + l]
        const x1 = x[xi + l], x2 = x[xi + 32 + l]
        xq1 += x1 * ((qb & 0xf) | (((hb >> sh1) & 1) << 4)); xs1 += x1
        xq2 += x2 * ((qb >> 4) | (((hb >> sh2) & 1) << 4)); xs2 += x2
      }
      sum += Math.fround(d * (sm1 & 0xff)) * xq1 - Math.fround(dmin * (sm1 >> 8)) * xs1
      sum += Math.fround(d * (sm2 & 0xff)) * xq2 - Math.fround(dmin * (sm2 >> 8)) * xs2
      xi += 64
    }
  }
  return sum
}

export const q5KTraits: KernelTraits = {
  type: GGMLType.Q5_K, blockSize: QK_K, blockBytes: Q5_K_BLOCK_BYTES,
  dequantizeRow: dequantizeRowQ5K, dotRow: dotRowQ5K,
}
