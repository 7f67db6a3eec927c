/** F16 rows: IEEE half, 2 bytes a value, little-endian (block size 1); converted through FP16_TABLE. */
import {GGMLType} from '../gguf/ggml-types.js'
import {FP16_TABLE} from './fp16.js'
import type {KernelTraits} from './traits.js'

export function dequantizeRowF16(src: Uint8Array, offset: number, n: number, out: Float32Array, outOffset: number): void {
  for (let i = 0; i < n; i++) out[outOffset + i] = FP16_TABLE[src[offset + 2 * i] | (src[offset + 2 * i + 1] << 8)]
}

export function dotRowF16(src: Uint8Array, offset: number, n: number, x: Float32Array, xOffset: number): number {
  let sum = 0
  for (let i = 0; i < n; i++) sum += FP16_TABLE[src[offset + 2 * i] | (src[offset + 2 * i + 1] << 8)] * x[xOffset + i]
  return sum
}

export const f16Traits: KernelTraits = {
  type: GGMLType.F16, blockSize: 1, blockBytes: 2,
  dequantizeRow: dequantizeRowF16, dotRow: dotRowF16,
}
