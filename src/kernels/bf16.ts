/** BF16 rows: the high 16 bits of an f32, 2 bytes a value, little-endian (block size 1). */
import {GGMLType} from '../gguf/ggml-types.js'
import type {KernelTraits} from './traits.js'

export function dequantizeRowBF16(src: Uint8Array, offset: number, n: number, out: Float32Array, outOffset: number): void {
  // Widen through the bit pattern: out's u32 view gets (bf16 << 16).
  const bits = new Uint32Array(out.buffer, out.byteOffset + 4 * outOffset, n)
  for (let i = 0; i < n; i++) bits[i] = ((src[offset + 2 * i] | (src[offset + 2 * i + 1] << 8)) << 16) >>> 0
}

const scratch = new Float32Array(1024)
const scratchBits = new Uint32Array(scratch.buffer)

export function dotRowBF16(src: Uint8Array, offset: number, n: number, x: Float32Array, xOffset: number): number {
  let sum = 0
  for (let c = 0; c < n; c += scratch.length) {
    const m = Math.min(scratch.length, n - c)
    const at = offset + 2 * c
    for (let i = 0; i < m; i++) scratchBits[i] = ((src[at + 2 * i] | (src[at + 2 * i + 1] << 8)) << 16) >>> 0
    for (let i = 0; i < m; i++) sum += scratch[i] * x[xOffset + c + i]
  }
  return sum
}

export const bf16Traits: KernelTraits = {
  type: GGMLType.BF16, blockSize: 1, blockBytes: 2,
  dequantizeRow: dequantizeRowBF16, dotRow: dotRowBF16,
}
