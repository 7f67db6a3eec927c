/**
 * The kernel traits table: `kernelFor(type)` gives the scalar reference kernels of a tensor type
 * (see traits.ts). Types without kernels are refused with an UNSUPPORTED error naming the type.
 */
import {LlmfragError} from '../errors.js'
import {GGMLType, ggmlTypeName} from '../gguf/ggml-types.js'
import {bf16Traits} from './bf16.js'
import {f16Traits} from './f16.js'
import {f32Traits} from './f32.js'
import {q4KTraits} from './q4_k.js'
import {q5KTraits} from './q5_k.js'
import {q6KTraits} from './q6_k.js'
import {q8_0Traits} from './q8_0.js'
import type {KernelTraits} from './traits.js'

export type {KernelTraits} from './traits.js'

const table = new Map<GGMLType, KernelTraits>([
  [GGMLType.F32, f32Traits],
  [GGMLType.F16, f16Traits],
  [GGMLType.BF16, bf16Traits],
  [GGMLType.Q8_0, q8_0Traits],
  [GGMLType.Q4_K, q4KTraits],
  [GGMLType.Q5_K, q5KTraits],
  [GGMLType.Q6_K, q6KTraits],
])

/** Tensor types that have kernels, in id order. */
export function supportedKernelTypes(): GGMLType[] {
  return [...table.keys()].sort((a, b) => a - b)
}

/** The reference kernels for `type`; throws UNSUPPORTED for a type without kernels. */
export function kernelFor(type: GGMLType): KernelTraits {
  const k = table.get(type)
  if (k) return k
  throw new LlmfragError('UNSUPPORTED', `no kernel for tensor type ${ggmlTypeName(type)} (id ${type})`, {
    hints: [`supported tensor types: ${supportedKernelTypes().map((t) => ggmlTypeName(t)).join(', ')}`,
      're-quantize the model to one of them with llama-quantize'],
    details: {type, typeName: ggmlTypeName(type)},
  })
}

// Quantized-activation paths (llama.cpp's CPU maths) and the reference quantizers.
export {quantizeRowQ8K, Q8_K_BLOCK_BYTES} from './q8_k.js'
export {vecDotQ4KQ8K} from './q4_k.js'
export {vecDotQ6KQ8K} from './q6_k.js'
export {quantizeRowQ8_0, vecDotQ8_0Q8_0} from './q8_0.js'
export {quantizeRowQ4K, quantizeRowQ5K, quantizeRowQ6K} from './quantize-k.js'
