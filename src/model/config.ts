/**
 * Hyper-parameters of a llama-family model, read once from GGUF metadata into one immutable object
 * (the `Config` of llama2.c's run.c). Keys live under the `general.architecture` prefix (`llama.*`,
 * or `mistral3.*` in newer Magistral conversions); optional keys get their defaults here and nowhere
 * else. The tensor table is checked against the result so a wrong shape fails at load, naming the
 * tensor, instead of producing garbage logits.
 */
import {LlmfragError} from '../errors.js'
import {Metadata} from '../gguf/metadata.js'
import type {SourceTensor} from '../source/model-source.js'

/** Architectures whose forward pass is the plain llama block (RMSNorm, RoPE, GQA, SwiGLU). */
export const SUPPORTED_ARCHITECTURES: readonly string[] = ['llama', 'mistral', 'mistral3']

export interface ModelConfig {
  readonly architecture: string
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

/** Reads and checks the config. `file` names the model in messages. */
export function readModelConfig(md: Metadata, tensors: readonly SourceTensor[]): ModelConfig {
  const architecture = md.string('general.architecture')
  if (!SUPPORTED_ARCHITECTURES.includes(architecture)) {
    throw new LlmfragError('UNSUPPORTED', `${md.file}: architecture ${architecture} is not supported (supported: ${SUPPORTED_ARCHITECTURES.join(', ')})`, {
      hints: ['llmfrag runs llama-family models such as Mistral 7B and Magistral Small'],
      details: {architecture},
    })
  }
  const key = (k: string): string => `${architecture}.${k}`
  const byName = new Map(tensors.map((t) => [t.name, t]))

  const dim = count(md, key('embedding_length'), md.number(key('embedding_length')))
  const layers = count(md, key('block_count'), md.number(key('block_count')))
  const ffnHidden = count(md, key('feed_forward_length'), md.number(key('feed_forward_length')))
  const heads = count(md, key('attention.head_count'), md.number(key('attention.head_count')))
  const kvHeads = count(md, key('attention.head_count_kv'), md.optNumber(key('attention.head_count_kv')) ?? heads)
  if (heads % kvHeads !== 0) {
    throw badMeta(md, key('attention.head_count_kv'), `a divisor of head_count ${heads}`, kvHeads)
  }
  const headDim = count(md, key('attention.key_length'), md.optNumber(key('attention.key_length')) ?? dim / heads)
  const headDimV = count(md, key('attention.value_length'), md.optNumber(key('attention.value_length')) ?? headDim)
  const ropeDims = count(md, key('rope.dimension_count'), md.optNumber(key('rope.dimension_count')) ?? headDim)
  if (ropeDims > headDim || ropeDims % 2 !== 0) {
    throw badMeta(md, key('rope.dimension_count'), `an even number <= head dim ${headDim}`, ropeDims)
  }
  const embd = byName.get('token_embd.weight')
  const vocab = count(md, key('vocab_size'), md.optNumber(key('vocab_size')) ?? embd?.dims[1] ?? md.optArray('tokenizer.ggml.tokens')?.items.length ?? 0)

  const config: ModelConfig = {
    architecture, dim, ffnHidden, layers, heads, kvHeads, headDim, headDimV,
    qDim: heads * headDim, kvDim: kvHeads * headDim, kvDimV: kvHeads * headDimV, attnOutDim: heads * headDimV,
    vocab,
    contextLength: count(md, key('context_length'), md.optNumber(key('context_length')) ?? 4096),
    normEps: positive(md, key('attention.layer_norm_rms_epsilon'), md.optNumber(key('attention.layer_norm_rms_epsilon')) ?? 1e-5),
    ropeBase: positive(md, key('rope.freq_base'), md.optNumber(key('rope.freq_base')) ?? 10000),
    ropeDims,
    ropeScale: ropeScaling(md, key),
    tiedOutput: !byName.has('output.weight'),
  }
  checkTensorShapes(md.file, config, byName)
  return Object.freeze(config)
}

/** Linear scaling is a division of the position; anything else (YaRN, llama3 rope_freqs) is refused. */
function ropeScaling(md: Metadata, key: (k: string) => string): number {
  const type = md.optString(key('rope.scaling.type')) ?? 'none'
  const factor = md.optNumber(key('rope.scaling.factor')) ?? md.optNumber(key('rope.scale_linear')) ?? 1
  if (type === 'none' || factor === 1) return 1
  if (type === 'linear') return positive(md, key('rope.scaling.factor'), factor)
  throw new LlmfragError('UNSUPPORTED', `${md.file}: rope scaling ${type} (factor ${factor}) is not supported`, {
    hints: ['only unscaled and linearly scaled RoPE are implemented'],
    details: {key: key('rope.scaling.type'), value: type},
  })
}

function positive(md: Metadata, key: string, v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) throw badMeta(md, key, 'a positive number', v)
  return v
}

function count(md: Metadata, key: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) throw badMeta(md, key, 'a positive whole number', v)
  return v
}

function badMeta(md: Metadata, key: string, expected: string, actual: number): LlmfragError {
  return new LlmfragError('BAD_INPUT', `${md.file}: metadata ${key} is ${actual}, expected ${expected}`, {
    hints: ['the file may be damaged or converted for another architecture'],
    details: {file: md.file, key, expected, actual},
  })
}

/** The tensors the forward pass reads, with their ggml shapes ([row length, rows]). */
export function expectedShapes(c: ModelConfig): Map<string, readonly number[]> {
  const m = new Map<string, readonly number[]>([
    ['token_embd.weight', [c.dim, c.vocab]],
    ['output_norm.weight', [c.dim]],
  ])
  if (!c.tiedOutput) m.set('output.weight', [c.dim, c.vocab])
  for (let l = 0; l < c.layers; l++) {
    m.set(`blk.${l}.attn_norm.weight`, [c.dim])
    m.set(`blk.${l}.attn_q.weight`, [c.dim, c.qDim])
    m.set(`blk.${l}.attn_k.weight`, [c.dim, c.kvDim])
    m.set(`blk.${l}.attn_v.weight`, [c.dim, c.kvDimV])
    m.set(`blk.${l}.attn_output.weight`, [c.attnOutDim, c.dim])
    m.set(`blk.${l}.ffn_norm.weight`, [c.dim])
    m.set(`blk.${l}.ffn_gate.weight`, [c.dim, c.ffnHidden])
    m.set(`blk.${l}.ffn_up.weight`, [c.dim, c.ffnHidden])
    m.set(`blk.${l}.ffn_down.weight`, [c.ffnHidden, c.dim])
  }
  return m
}

function checkTensorShapes(file: string, c: ModelConfig, byName: Map<string, SourceTensor>): void {
  if (byName.has('rope_freqs.weight')) {
    throw new LlmfragError('UNSUPPORTED', `${file}: rope_freqs.weight (llama 3 RoPE frequency factors) is not supported`, {
      hints: ['llmfrag runs Mistral-family llama models with plain RoPE'],
    })
  }
  for (const [name, shape] of expectedShapes(c)) {
    const t = byName.get(name)
    if (!t) {
      throw new LlmfragError('BAD_INPUT', `${file}: tensor ${name} is missing (expected shape [${shape.join(', ')}])`, {
        hints: ['the model is incomplete or not a llama-family model'],
        details: {file, tensor: name, expected: shape},
      })
    }
    const dims = trimOnes(t.dims)
    if (dims.length !== shape.length || dims.some((d, i) => d !== shape[i])) {
      throw new LlmfragError('BAD_INPUT', `${file}: tensor ${name} has shape [${t.dims.join(', ')}], expected [${shape.join(', ')}]`, {
        hints: ['the metadata and the tensors disagree: the file may be damaged or converted incorrectly'],
        details: {file, tensor: name, expected: shape, actual: t.dims},
      })
    }
  }
}

/** ggml shapes may carry trailing 1s ([256, 1]); they do not change the layout. */
function trimOnes(dims: readonly number[]): number[] {
  const d = [...dims]
  while (d.length > 1 && d[d.length - 1] === 1) d.pop()
  return d
}
