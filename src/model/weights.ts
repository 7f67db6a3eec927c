/**
 * The model's weights as typed, read-only views into the shared-memory arena (the
 * `TransformerWeights` of llama2.c, the `LayerWeights` of candle's quantized_llama): one group per
 * transformer block so a block never straddles two memories. `loadWeights` places every tensor
 * through `ModelSource.load`, which streams the data straight into the arena.
 */
import {LlmfragError} from '../errors.js'
import {GGMLType} from '../gguf/ggml-types.js'
import {kernelFor, type KernelTraits} from '../kernels/index.js'
import type {LoadOptions, LoadReport, ModelSource, SourceTensor} from '../source/model-source.js'
import {Arena, type ArenaSlice} from './arena.js'
import type {ModelConfig} from './config.js'

/** A weight matrix [rows, cols] in its quantized form: row r is rowBytes bytes at data[r * rowBytes]. */
export interface WeightTensor {
  readonly name: string
  readonly type: GGMLType
  readonly cols: number // values per row (ggml dims[0], the input width of a matmul)
  readonly rows: number // ggml dims[1], the output width of a matmul
  readonly rowBytes: number
  readonly data: Uint8Array // rows * rowBytes bytes, a view into the arena
  readonly slice: ArenaSlice // where data lives, for kernels that address the memory directly
  readonly kernel: KernelTraits
}

export interface LayerWeights {
  readonly attnNorm: Float32Array // (dim)
  readonly wq: WeightTensor // (qDim, dim)
  readonly wk: WeightTensor // (kvDim, dim)
  readonly wv: WeightTensor // (kvDimV, dim)
  readonly wo: WeightTensor // (dim, attnOutDim)
  readonly ffnNorm: Float32Array // (dim)
  readonly gate: WeightTensor // (ffnHidden, dim)
  readonly up: WeightTensor // (ffnHidden, dim)
  readonly down: WeightTensor // (dim, ffnHidden)
}

export interface ModelWeights {
  readonly tokenEmbd: WeightTensor // (vocab, dim)
  readonly layers: readonly LayerWeights[]
  readonly outputNorm: Float32Array // (dim)
  readonly output: WeightTensor // (vocab, dim); the same object as tokenEmbd when tied
  readonly arena: Arena
}

/** Groups of tensor names that share a region: the embedding, each block, the head. */
function groupsOf(c: ModelConfig): string[][] {
  const blk = (l: number): string[] => ['attn_norm', 'attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_norm', 'ffn_gate', 'ffn_up', 'ffn_down']
    .map((n) => `blk.${l}.${n}.weight`)
  const head = c.tiedOutput ? ['output_norm.weight'] : ['output_norm.weight', 'output.weight']
  return [['token_embd.weight'], ...Array.from({length: c.layers}, (_, l) => blk(l)), head]
}

/**
 * Allocates the arena, streams every tensor into it and returns the typed views. Tensors the
 * forward pass does not read are streamed through one scratch buffer and dropped.
 */
export async function loadWeights(source: ModelSource, c: ModelConfig, options: LoadOptions = {}, arena = new Arena()): Promise<{weights: ModelWeights; report: LoadReport}> {
  const byName = new Map(source.tensors.map((t) => [t.name, t]))
  const groups = groupsOf(c).map((g) => g.map((n) => byName.get(n)).filter((t): t is SourceTensor => t !== undefined))
  for (const t of groups.flat()) kernelFor(t.type) // refuse a type without kernels before reading gigabytes
  const placed = new Map<string, ArenaSlice>()
  for (const tensors of groups) {
    const slices = arena.allocGroup(tensors.map((t) => t.bytes))
    tensors.forEach((t, i) => placed.set(t.name, slices[i]))
  }
  const unused = source.tensors.filter((t) => !placed.has(t.name))
  const scratch = new Uint8Array(unused.reduce((m, t) => Math.max(m, t.bytes), 0))

  const report = await source.load((t) => {
    const s = placed.get(t.name)
    return s ? arena.bytes(s) : scratch.subarray(0, t.bytes)
  }, options)

  const matrix = (name: string): WeightTensor => {
    const t = byName.get(name)
    const s = placed.get(name)
    if (!t || !s) throw new LlmfragError('INTERNAL', `tensor ${name} was not placed`)
    const kernel = kernelFor(t.type)
    return {name, type: t.type, cols: t.dims[0], rows: t.dims[1] ?? 1, rowBytes: (t.dims[0] / kernel.blockSize) * kernel.blockBytes,
      data: arena.bytes(s), slice: s, kernel}
  }
  const vector = (name: string): Float32Array => {
    const m = matrix(name)
    if (m.type === GGMLType.F32) return arena.floats(m.slice)
    // Norm weights are F32 in every Q4_K_M file; other types are dequantized once, here.
    const out = new Float32Array(m.cols)
    m.kernel.dequantizeRow(m.data, 0, m.cols, out, 0)
    return out
  }
  const layers: LayerWeights[] = Array.from({length: c.layers}, (_, l) => {
    const p = `blk.${l}.`
    return {
      attnNorm: vector(`${p}attn_norm.weight`), wq: matrix(`${p}attn_q.weight`), wk: matrix(`${p}attn_k.weight`),
      wv: matrix(`${p}attn_v.weight`), wo: matrix(`${p}attn_output.weight`), ffnNorm: vector(`${p}ffn_norm.weight`),
      gate: matrix(`${p}ffn_gate.weight`), up: matrix(`${p}ffn_up.weight`), down: matrix(`${p}ffn_down.weight`),
    }
  })
  const tokenEmbd = matrix('token_embd.weight')
  const weights: ModelWeights = {
    tokenEmbd, layers, outputNorm: vector('output_norm.weight'),
    output: c.tiedOutput ? tokenEmbd : matrix('output.weight'), arena,
  }
  return {weights, report}
}
