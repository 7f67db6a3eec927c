/**
 * Q8_0 (ggml-quants.h `block_q8_0`, 34 bytes per 32 values):
 *   offset 0  half d       scale
 *   offset 2  i8 qs[32]    value = d * q
 */
import {GGMLType} from '../gguf/ggml-types.js'
import {f32ToFp16, FP16_TABLE} from './fp16.js'
import {checkBlocks, readU16} from './k-common.js'
import type {KernelTraits} from './traits.js'

export const QK8_0 = 32
export const Q8_0_BLOCK_BYTES = 34

export function dequantizeRowQ8_0(src: Uint8Array, offset: number, n: number, out: Float32Array, outOffset: number): void {
  const nb = checkBlocks('Q8_0', n, QK8_0)
  for (let i = 0; i < nb; i++) {
    const b = offset + i * Q8_0_BLOCK_BYTES
    const d = FP16_TABLE[readU16(src, b)]
    const y = outOffset + i * QK8_0
    for (let l = 0; l < QK8_0; l++) out[y + l] = d * ((src[b + 2 + l] << 24) >> 24)
  }
}

export function dotRowQ8_0(src: Uint8Array, offset: number, n: number, x: Float32Array, xOffset: number): number {
  const nb = checkBlocks('Q8_0', n, QK8_0)
  let sum = 0
  for (let i = 0; i < nb; i++) {
    const b = offset + i * Q8_0_BLOCK_BYTES
    const xb = xOffset + i * QK8_0
    let s = 0
    for (let l = 0; l < QK8_0; l++) s += x[xb + l] * ((src[b + 2 + l] << 24) >> 24)
    sum += FP16_TABLE[readU16(src, b)] * s
  }
  return sum
}

/**
 * As ggml's quantize_row_q8_0_ref: d = max|x| / 127 per block (stored as fp16), q = round(x / d)
 * rounding half away from zero, computed with the f32 inverse of d.
 */
export function quantizeRowQ8_0(x: Float32Array, xOffset: number, n: number, out: Uint8Array, outOffset: number): void {
  const nb = checkBlocks('Q8_0', n, QK8_0)
  for (let i = 0; i < nb; i++) {
    const xb = xOffset + i * QK8_0
    let amax = 0
    for (let l = 0; l < QK8_0; l++) amax = Math.max(amax, Math.abs(x[xb + l]))
    const d = Math.fround(amax / 127)
    const id = d ? Math.fround(1 / d) : 0
    const h = f32ToFp16(d)
    const b = outOffset + i * Q8_0_BLOCK_BYTES
    out[b] = h & 0xff
    out[b + 1] = h >> 8
    for (let l = 0; l < QK8_0; l++) {
      const v = Math.fround(x[xb + l] * id)
      out[b + 2 + l] = (Math.sign(v) * Math.round(Math.abs(v))) & 0xff // roundf: half away from zero
    }
  }
}

/**
 * Dot of one Q8_0 row with Q8_0 activations (ggml_vec_dot_q8_0_q8_0): per block the exact integer
 * sum, then in f32: sumf += (dx * dy) * f32(sumi) (fixed so SIMD paths reproduce it bit for bit).
 */
export function vecDotQ8_0Q8_0(w: Uint8Array, wOffset: number, n: number, y: Uint8Array, yOffset: number): number {
  const nb = checkBlocks('Q8_0', n, QK8_0)
  const f = Math.fround
  let sumf = 0
  for (let i = 0; i < nb; i++) {
    const b = wOffset + i * Q8_0_BLOCK_BYTES
    const yb = yOffset + i * Q8_0_BLOCK_BYTES
    let sumi = 0
    for (let l = 0; l < QK8_0; l++) sumi += ((w[b + 2 + l] << 24) >> 24) * ((y[yb + 2 + l] << 24) >> 24)
    sumf = f(sumf + f(f(FP16_TABLE[readU16(w, b)] * FP16_TABLE[readU16(y, yb)]) * f(sumi)))
  }
  return sumf
}

export const q8_0Traits: KernelTraits = {
  type: GGMLType.Q8_0, blockSize: QK8_0, blockBytes: Q8_0_BLOCK_BYTES,
  dequantizeRow: dequantizeRowQ8_0, dotRow: dotRowQ8_0,
}
