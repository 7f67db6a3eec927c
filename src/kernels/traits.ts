/**
 * The per-type kernel table the matrix products dispatch through (pattern of ggml's type_traits).
 * Each quant format lives in its own file (`q4_k.ts`, ...) with a scalar reference. The fast
 * (WebAssembly SIMD) paths in wasm/kernels-wasm.ts compute the same products over rows held in a
 * shared WebAssembly.Memory and are checked against these references in tests: bit for bit where
 * the activations are quantized (vecDotQ4KQ8K, ...), within 1e-5 where they are float.
 *
 * Conventions: `src` holds whole blocks of the type starting at byte `offset`; `n` is the number of
 * values (a multiple of the type's block size); results are float32.
 */
import type {GGMLType} from '../gguf/ggml-types.js'

export interface KernelTraits {
  readonly type: GGMLType
  readonly blockSize: number
  readonly blockBytes: number
  /** Writes n dequantized values to out[outOffset ...]. */
  dequantizeRow(src: Uint8Array, offset: number, n: number, out: Float32Array, outOffset: number): void
  /** Dot product of one row of n values with float activations x[xOffset ...]. */
  dotRow(src: Uint8Array, offset: number, n: number, x: Float32Array, xOffset: number): number
}
