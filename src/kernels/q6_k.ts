/**
 * Q6_K (ggml-quants.h `block_q6_K`, 210 bytes per 256 values):
 *   offset 0    u8 ql[128]     low 4 bits of the quants
 *   offset 128  u8 qh[64]      high 2 bits of the quants
 *   offset 192  i8 scales[16]  one signed 8-bit scale per 16 values
 *   offset 208  half d         super-block scale
 * Each half (128 values) uses ql[64], qh[32], scales[8]: for l = 0..31,
 *   q(l)    = (ql[l]    & 15) | ((qh[l] >> 0) & 3) << 4
 *   q(l+32) = (ql[l+32] & 15) | ((qh[l] >> 2) & 3) << 4
 *   q(l+64) = (ql[l]    >> 4) | ((qh[l] >> 4) & 3) << 4
 *   q(l+96) = (ql[l+32] >> 4) | ((qh[l] >> 6) & 3) << 4
 * value = d * scale[k / 16] * (q(k) - 32).
 */
import {GGMLType} from '../gguf/ggml-types.js'
import {FP16_TABLE} from './fp16.js'
import {checkBlocks, QK_K, readU16} from './k-common.js'
import {Q8_K_BLOCK_BYTES, q8KScale} from './q8_k.js'
import type {KernelTraits} from './traits.js'

export const Q6_K_BLOCK_BYTES = 210

/** Signed byte at src[at]. */
function i8(src: Uint8Array, at: number): number {
  return (src[at] << 24) >> 24
}

/** As ggml's dequantize_row_q6_K. */
export function dequantizeRowQ6K(src: Uint8Array, offset: number, n: number, out: Float32Array, outOffset: number): void {
  const nb = checkBlocks('Q6_K', n, QK_K)
  for (let i = 0; i < nb; i++) {
    const b = offset + i * Q6_K_BLOCK_BYTES
    const d = FP16_TABLE[readU16(src, b + 208)]
    for (let h = 0; h < 2; h++) {
      const ql = b + 64 * h, qh = b + 128 + 32 * h, sc = b + 192 + 8 * h
      const y = outOffset + i * QK_K + 128 * h
      for (let l = 0; l < 32; l++) {
        const is = l >> 4
        const hb = src[qh + l]
        const q1 = ((src[ql + l] & 0xf) | ((hb & 3) << 4)) - 32
        const q2 = ((src[ql + l + 32] & 0xf) | (((hb >> 2) & 3) << 4)) - 32
        const q3 = ((src[ql + l] >> 4) | (((hb >> 4) & 3) << 4)) - 32
        const q4 = ((src[ql + l + 32] >> 4) | (((hb >> 6) & 3) << 4)) - 32
        out[y + l] = Math.fround(d * i8(src, sc + is)) * q1
        out[y + l + 32] = Math.fround(d * i8(src, sc + is + 2)) * q2
        out[y + l + 64] = Math.fround(d * i8(src, sc + is + 4)) * q3
        out[y + l + 96] = Math.fround(d * i8(src, sc + is + 6)) * q4
      }
    }
  }
}

/** Dot of one Q6_K row with float activations: per 16 values d * scale * sum(x q), in f64. */
export function dotRowQ6K(src: Uint8Array, offset: number, n: number, x: Float32Array, xOffset: number): number {
  const nb = checkBlocks('Q6_K', n, QK_K)
  let sum = 0
  for (let i = 0; i < nb; i++) {
    const b = offset + i * Q6_K_BLOCK_BYTES
    const d = FP16_TABLE[readU16(src, b + 208)]
    for (let h = 0; h < 2; h++) {
      const ql = b + 64 * h, qh = b + 128 + 32 * h, sc = b + 192 + 8 * h
      const xb = xOffset + i * QK_K + 128 * h
      for (let is = 0; is < 2; is++) {
        // Four groups of 16 values share this pass over ql/qh: offsets 0, 32, 64, 96 (+16 is).
        let s1 = 0, s2 = 0, s3 = 0, s4 = 0
        for (let l = 16 * is; l < 16 * is + 16; l++) {
          const hb = src[qh + l]
          s1 += x[xb + l] * (((src[ql + l] & 0xf) | ((hb & 3) << 4)) - 32)
          s2 += x[xb + l + 32] * (((src[ql + l + 32] & 0xf) | (((hb >> 2) & 3) << 4)) - 32)
          s3 += x[xb + l + 64] * (((src[ql + l] >> 4) | (((hb >> 4) & 3) << 4)) - 32)
          s4 += x[xb + l + 96] * (((src[ql + l + 32] >> 4) | (((hb >> 6) & 3) << 4)) - 32)
        }
        sum += Math.fround(d * i8(src, sc + is)) * s1 + Math.fround(d * i8(src, sc + is + 2)) * s2
          + Math.fround(d * i8(src, sc + is + 4)) * s3 + Math.fround(d * i8(src, sc + is + 6)) * s4
      }
    }
  }
  return sum
}

/**
 * Dot of one Q6_K row with Q8_K activations (ggml_vec_dot_q6_K_q8_K). Per block the integer sum
 *   isum = sum_g scale_g * sum_l (q6 - 32) * q8   (g over the 16 groups of 16)
 * is exact; the float part is fixed for bit-exact SIMD paths: sumf += (d * dy) * f32(isum).
 */
export function vecDotQ6KQ8K(w: Uint8Array, wOffset: number, n: number, y: Uint8Array, yOffset: number): number {
  const nb = checkBlocks('Q6_K', n, QK_K)
  const f = Math.fround
  let sumf = 0
  for (let i = 0; i < nb; i++) {
    const b = wOffset + i * Q6_K_BLOCK_BYTES
    const yb = yOffset + i * Q8_K_BLOCK_BYTES
    let isum = 0
    for (let h = 0; h < 2; h++) {
      const ql = b + 64 * h, qh = b + 128 + 32 * h, sc = b + 192 + 8 * h
      const q8 = yb + 4 + 128 * h
      for (let is = 0; is < 2; is++) {
        let s1 = 0, s2 = 0, s3 = 0, s4 = 0
        for (let l = 16 * is; l < 16 * is + 16; l++) {
          const hb = w[qh + l]
          s1 += (((w[ql + l] & 0xf) | ((hb & 3) << 4)) - 32) * ((y[q8 + l] << 24) >> 24)
          s2 += (((w[ql + l + 32] & 0xf) | (((hb >> 2) & 3) << 4)) - 32) * ((y[q8 + l + 32] << 24) >> 24)
          s3 += (((w[ql + l] >> 4) | (((hb >> 4) & 3) << 4)) - 32) * ((y[q8 + l + 64] << 24) >> 24)
          s4 += (((w[ql + l + 32] >> 4) | (((hb >> 6) & 3) << 4)) - 32) * ((y[q8 + l + 96] << 24) >> 24)
        }
        isum += i8(w, sc + is) * s1 + i8(w, sc + is + 2) * s2 + i8(w, sc + is + 4) * s3 + i8(w, sc + is + 6) * s4
      }
    }
    sumf = f(sumf + f(f(FP16_TABLE[readU16(w, b + 208)] * q8KScale(y, yb)) * f(isum)))
  }
  return sumf
}

export const q6KTraits: KernelTraits = {
  type: GGMLType.Q6_K, blockSize: QK_K, blockBytes: Q6_K_BLOCK_BYTES,
  dequantizeRow: dequantizeRowQ6K, dotRow: dotRowQ6K,
}
