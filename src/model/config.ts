/**
 * Hyper-parameters of a llama-family model in one immutable object (the `Config` of llama2.c's
 * run.c). The metadata is read and checked against the tensor shapes by the architecture detection
 * (`src/profiles/detect.ts`, shared with verify, keys under the `general.architecture` prefix:
 * `llama.*`, or `mistral3.*` in newer Magistral conversions); this adds the derived widths and
 * the RoPE scaling the forward pass needs.
 */
import {LlmfragError} from '../errors.js'
import {Metadata} from '../gguf/metadata.js'
import type {GGUFKV} from '../gguf/types.js'
import {detectArchitecture} from '../profiles/detect.js'
import type {SourceTensor} from '../source/model-source.js'

export interface ModelConfig {
  readonly architecture: string // general.architecture
  readonly profile: string // detected profile name, or `llama-family (custom)`
  readonly dim: number // embedding_length
  readonly ffnHidden: number // feed_forward_length
  readonly layers: number // block_count
  readonly heads: number // attention.head_count
  readonly kvHeads: number // attention.head_count_kv
  readonly headDim: number // attention.key_length (dim / heads when absent)
  readonly headDimV: number // attention.value_length (= headDim when absent)
  readonly qDim: number // heads * headDim: width of q (1024 in tiny-magistral, whose dim is 512)
  readonly kvDim: number // kvHeads * headDim: width of k
  readonly kvDimV: number // kvHeads * headDimV: width of v
  readonly attnOutDim: number // heads * headDimV: input width of attn_output
  readonly vocab: number
  readonly contextLength: number // the context the model was trained with
  readonly normEps: number // attention.layer_norm_rms_epsilon
  readonly ropeBase: number // rope.freq_base
  readonly ropeDims: number // rope.dimension_count: leading dims of each head that rotate
  /** Positions are divided by this before rotation (linear rope scaling; 1 = none). */
  readonly ropeScale: number
  readonly tiedOutput: boolean // no output.weight: the head reuses token_embd.weight
}

/** Reads and checks the config; `file` names the model in messages. */
export function readModelConfig(file: string, kv: readonly GGUFKV[], tensors: readonly SourceTensor[]): ModelConfig {
  const md = new Metadata(file, kv)
  const det = detectArchitecture({kv, tensors}, file)
  const d = det.dims
  if (d.ropeDim > d.headDim || d.ropeDim % 2 !== 0) {
    throw new LlmfragError('UNSUPPORTED', `${md.file}: ${det.architecture}.rope.dimension_count is ${d.ropeDim}, expected an even number <= the head dim ${d.headDim}`)
  }
  for (const [key, v] of [['embedding_length', d.dim], ['block_count', d.layers], ['attention.head_count', d.heads], ['attention.key_length', d.headDim], ['attention.value_length', d.valueDim], ['feed_forward_length', d.ffnHidden], ['context_length', d.contextLength]] as const) {
    if (!Number.isInteger(v)) throw new LlmfragError('BAD_INPUT', `${md.file}: ${det.architecture}.${key} is ${v}, expected a whole number`)
  }
  return Object.freeze({
    architecture: det.architecture, profile: det.name,
    dim: d.dim, ffnHidden: d.ffnHidden, layers: d.layers, heads: d.heads, kvHeads: d.kvHeads,
    headDim: d.headDim, headDimV: d.valueDim,
    qDim: d.heads * d.headDim, kvDim: d.kvHeads * d.headDim, kvDimV: d.kvHeads * d.valueDim, attnOutDim: d.heads * d.valueDim,
    vocab: d.vocab, contextLength: d.contextLength, normEps: d.rmsEps, ropeBase: d.ropeBase, ropeDims: d.ropeDim,
    ropeScale: ropeScaling(md, (k) => `${det.architecture}.${k}`),
    tiedOutput: det.tiedOutput,
  })
}

/** Linear scaling is a division of the position; anything else (YaRN, llama3 rope_freqs) is refused. */
function ropeScaling(md: Metadata, key: (k: string) => string): number {
  const type = md.optString(key('rope.scaling.type')) ?? 'none'
  const factor = md.optNumber(key('rope.scaling.factor')) ?? md.optNumber(key('rope.scale_linear')) ?? 1
  if (type === 'none' || factor === 1) return 1
  if (type === 'linear' && factor > 0) return factor
  throw new LlmfragError('UNSUPPORTED', `${md.file}: rope scaling ${type} (factor ${factor}) is not supported`, {
    hints: ['only unscaled and linearly scaled RoPE are implemented'],
    details: {key: key('rope.scaling.type'), value: type},
  })
}
