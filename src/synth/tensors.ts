/**
 * The tensors of a synthetic llama-family model, with the types llama.cpp's quantizer gives a
 * Q4_K_M file (llama-quant.cpp `llama_tensor_get_type`) and the order llama.cpp writes them in.
 */
import {GGMLType} from '../gguf/ggml-types.js'
import type {SynthShape} from './shape.js'

/** What a tensor's values look like: drives the weight generator (std of the values). */
export type TensorRole = 'norm' | 'matrix' | 'embedding' | 'output'

export interface SynthTensor {
  readonly name: string
  /** ggml order: dims[0] is the row length (input features). */
  readonly dims: readonly number[]
  readonly type: GGMLType
  readonly role: TensorRole
}

/**
 * llama.cpp's `use_more_bits(i, n)`: the first and last eighth of the layers and every third one in
 * between get Q6_K for attn_v and ffn_down in Q4_K_M (integer division, as in C).
 */
export function useMoreBits(i: number, n: number): boolean {
  const e = Math.floor(n / 8)
  return i < e || i >= Math.floor((7 * n) / 8) || (i - e) % 3 === 2
}

/** All tensors of `shape`, in the order llama.cpp writes them (see compareTensorNames). */
export function synthTensors(s: SynthShape): SynthTensor[] {
  const q = s.heads * s.headDim // width of the attention output
  const kv = s.kvHeads * s.headDim
  const t: SynthTensor[] = [
    {name: 'token_embd.weight', dims: [s.dim, s.vocab], type: GGMLType.Q4_K, role: 'embedding'},
    {name: 'output_norm.weight', dims: [s.dim], type: GGMLType.F32, role: 'norm'},
    {name: 'output.weight', dims: [s.dim, s.vocab], type: GGMLType.Q6_K, role: 'output'},
  ]
  for (let i = 0; i < s.layers; i++) {
    const more = useMoreBits(i, s.layers) ? GGMLType.Q6_K : GGMLType.Q4_K
    const b = `blk.${i}.`
    t.push(
      {name: b + 'attn_norm.weight', dims: [s.dim], type: GGMLType.F32, role: 'norm'},
      {name: b + 'attn_q.weight', dims: [s.dim, q], type: GGMLType.Q4_K, role: 'matrix'},
      {name: b + 'attn_k.weight', dims: [s.dim, kv], type: GGMLType.Q4_K, role: 'matrix'},
      {name: b + 'attn_v.weight', dims: [s.dim, kv], type: more, role: 'matrix'},
      {name: b + 'attn_output.weight', dims: [q, s.dim], type: GGMLType.Q4_K, role: 'matrix'},
      {name: b + 'ffn_norm.weight', dims: [s.dim], type: GGMLType.F32, role: 'norm'},
      {name: b + 'ffn_gate.weight', dims: [s.dim, s.ffnHidden], type: GGMLType.Q4_K, role: 'matrix'},
      {name: b + 'ffn_up.weight', dims: [s.dim, s.ffnHidden], type: GGMLType.Q4_K, role: 'matrix'},
      {name: b + 'ffn_down.weight', dims: [s.ffnHidden, s.dim], type: more, role: 'matrix'},
    )
  }
  return t.sort((x, y) => compareTensorNames(x.name, y.name))
}

/** The block number of `blk.N.*`, or -1 for the tensors outside the blocks. */
function layerOf(name: string): number {
  const m = /^blk\.(\d+)\./.exec(name)
  return m ? Number(m[1]) : -1
}

/**
 * llama.cpp's `weight_name_comparer` (llama-model-loader.h), which orders the tensors of a quantized
 * file: by block number (non-block tensors first), then by byte-wise name. So `output.weight`,
 * `output_norm.weight`, `token_embd.weight`, then `blk.0.attn_k.weight`, ... `blk.0.ffn_up.weight`,
 * `blk.1.*`, ..., `blk.10.*` after `blk.9.*`.
 */
export function compareTensorNames(a: string, b: string): number {
  const la = layerOf(a), lb = layerOf(b)
  if (la !== lb) return la - lb
  return a < b ? -1 : a > b ? 1 : 0
}

/** Number of values in a tensor. */
export function elementCount(dims: readonly number[]): number {
  return dims.reduce((n, d) => n * d, 1)
}
