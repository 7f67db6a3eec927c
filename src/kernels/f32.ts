/** F32 rows: 4 bytes a value, little-endian (block size 1). */
import {GGMLType} from '../gguf/ggml-types.js'
import type {KernelTraits} from './traits.js'

/** A Float32Array over src[offset ..] for n values; copies when the offset is not 4-aligned. */
export function f32View(src: Uint8Array, offset: number, n: number): Float32Array {
  const at = src.byteOffset + offset
  if (at % 4 === 0) return new Float32Array(src.buffer, at, n)
  return new Float32Array(src.slice(offset, offset + 4 * n).buffer)
}

export function dequantizeRowF32(src: Uint8Array, offset: number, n: number, out: Float32Array, outOffset: number): void {
  out.set(f32View(src, offset, n), outOffset)
}

export function dotRowF32(src: Uint8Array, offset: number, n: number, x: Float32Array, xOffset: number): number {
  const w = f32View(src, offset, n)
  let sum = 0
  for (let i = 0; i < n; i++) sum += w[i] * x[xOffset + i]
  return sum
}

export const f32Traits: KernelTraits = {
  type: GGMLType.F32, blockSize: 1, blockBytes: 4,
  dequantizeRow: dequantizeRowF32, dotRow: dotRowF32,
}
