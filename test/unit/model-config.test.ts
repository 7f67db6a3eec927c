import {expect} from 'chai'

import {GGMLType} from '../../src/gguf/ggml-types.js'
import {type GGUFKV, GGUFValueType as T} from '../../src/gguf/types.js'
import {readModelConfig} from '../../src/model/config.js'
import {RunState} from '../../src/model/state.js'
import {expectedTensorShapes, type LlamaDims} from '../../src/profiles/detect.js'
import type {SourceTensor} from '../../src/source/model-source.js'

/** tiny-magistral's shape: dim 512 with 8 heads of 128 (q is 1024 wide), 2 kv heads. */
const DIMS: LlamaDims = {dim: 512, ffnHidden: 1536, layers: 2, heads: 8, kvHeads: 2, headDim: 128, valueDim: 128,
  vocab: 256, contextLength: 1024, ropeBase: 1e9, ropeDim: 128, rmsEps: 1e-5}

function header(arch: string, extra: GGUFKV[] = [], opts: {keyLength?: boolean; tied?: boolean} = {}): {kv: GGUFKV[]; tensors: SourceTensor[]} {
  const u = (key: string, value: number): GGUFKV => ({key: `${arch}.${key}`, type: T.UINT32, value})
  const f = (key: string, value: number): GGUFKV => ({key: `${arch}.${key}`, type: T.FLOAT32, value})
  const kv: GGUFKV[] = [
    {key: 'general.architecture', type: T.STRING, value: arch},
    u('vocab_size', DIMS.vocab), u('context_length', DIMS.contextLength), u('embedding_length', DIMS.dim),
    u('block_count', DIMS.layers), u('feed_forward_length', DIMS.ffnHidden), u('attention.head_count', DIMS.heads),
    u('attention.head_count_kv', DIMS.kvHeads), f('attention.layer_norm_rms_epsilon', DIMS.rmsEps), f('rope.freq_base', DIMS.ropeBase),
    ...(opts.keyLength === false ? [] : [u('attention.key_length', DIMS.headDim), u('attention.value_length', DIMS.valueDim)]),
    ...extra,
  ]
  const dims = opts.keyLength === false ? {...DIMS, headDim: DIMS.dim / DIMS.heads, valueDim: DIMS.dim / DIMS.heads, ropeDim: DIMS.dim / DIMS.heads} : DIMS
  const tensors = [...expectedTensorShapes(dims, opts.tied ?? false)].map(([name, shape]) => ({name, dims: shape, type: GGMLType.F32, bytes: 4 * shape.reduce((a, b) => a * b, 1)}))
  return {kv, tensors}
}

describe('model: config', () => {
  it('reads the llama.* hyper-parameters and derives the widths (q wider than dim)', () => {
    const {kv, tensors} = header('llama')
    const c = readModelConfig('m.gguf', kv, tensors)
    expect(c).to.include({architecture: 'llama', dim: 512, heads: 8, kvHeads: 2, headDim: 128, qDim: 1024, kvDim: 256,
      kvDimV: 256, attnOutDim: 1024, ffnHidden: 1536, vocab: 256, ropeBase: 1e9, ropeDims: 128, ropeScale: 1, tiedOutput: false})
    expect(c.normEps).to.be.closeTo(1e-5, 1e-12)
    expect(Object.isFrozen(c)).to.equal(true)
  })

  it('reads keys under the mistral3 prefix, and head dim = dim / heads without key_length', () => {
    const {kv, tensors} = header('mistral3', [], {keyLength: false})
    const c = readModelConfig('m.gguf', kv, tensors)
    expect(c).to.include({architecture: 'mistral3', headDim: 64, qDim: 512, ropeDims: 64})
  })

  it('ties the output projection when output.weight is absent', () => {
    const {kv, tensors} = header('llama', [], {tied: true})
    expect(readModelConfig('m.gguf', kv, tensors).tiedOutput).to.equal(true)
  })

  it('divides positions by a linear rope scale and refuses YaRN', () => {
    const lin = header('llama', [{key: 'llama.rope.scaling.type', type: T.STRING, value: 'linear'}, {key: 'llama.rope.scaling.factor', type: T.FLOAT32, value: 4}])
    expect(readModelConfig('m.gguf', lin.kv, lin.tensors).ropeScale).to.equal(4)
    const yarn = header('llama', [{key: 'llama.rope.scaling.type', type: T.STRING, value: 'yarn'}, {key: 'llama.rope.scaling.factor', type: T.FLOAT32, value: 8}])
    expect(() => readModelConfig('m.gguf', yarn.kv, yarn.tensors)).to.throw('rope scaling yarn').with.property('code', 'UNSUPPORTED')
  })

  it('refuses a tensor whose shape disagrees with the metadata, naming it', () => {
    const {kv, tensors} = header('llama')
    const bad = tensors.map((t) => t.name === 'blk.1.attn_q.weight' ? {...t, dims: [512, 512]} : t)
    expect(() => readModelConfig('m.gguf', kv, bad)).to.throw('blk.1.attn_q.weight')
  })

  it('refuses another architecture', () => {
    const {kv, tensors} = header('qwen2')
    expect(() => readModelConfig('m.gguf', kv, tensors)).to.throw(/qwen2/).with.property('code', 'UNSUPPORTED')
  })
})

describe('model: run state placement', () => {
  const c = readModelConfig('m.gguf', header('llama').kv, header('llama').tensors)
  const ctx = 64, maxBatch = 8
  const layerBytes = ctx * (c.kvDim + c.kvDimV) * 4
  const scratch = 64 * ctx * 16 // MAX_THREADS score rows of four heads
  const activations = maxBatch * (2 * c.dim + c.qDim + c.kvDim + c.kvDimV + c.attnOutDim + 2 * c.ffnHidden + c.vocab) * 4

  it('by default: activations, then every layer\'s cache (head-major, no overlap), then the score scratch, in one WebAssembly memory', () => {
    const s = new RunState(c, {ctx, maxBatch})
    expect(s.memories).to.have.length(1)
    expect(s.layerMemory).to.deep.equal([0, 0])
    expect(s.buffer).to.equal(s.memories[0].memory.buffer)
    expect(s.keyCache.map((k) => [k.buffer === s.buffer, k.byteOffset, k.length])).to.deep.equal([
      [true, activations, ctx * c.kvDim], [true, activations + layerBytes, ctx * c.kvDim]])
    expect(s.valueCache[1].byteOffset).to.equal(activations + layerBytes + ctx * c.kvDim * 4)
    expect(s.memories[0]).to.include({q: s.q.byteOffset, out: s.attOut.byteOffset, scratch: activations + 2 * layerBytes})
  })

  it('a memory too small for every layer: the rest go to further memories, each with a q and an output slot first', () => {
    const s = new RunState(c, {ctx, maxBatch, maxMemoryBytes: activations + scratch + layerBytes - 1})
    expect(s.layerMemory[0], 'no layer fits beside the activations').to.equal(1)
    const m = s.memories[s.layerMemory[1]]
    expect(m).to.include({q: 0, out: maxBatch * c.qDim * 4})
    expect(s.keyCache[0].buffer).to.equal(s.memories[1].memory.buffer)
    expect(s.keyCache[0].byteOffset).to.equal(maxBatch * (c.qDim + c.attnOutDim) * 4)
  })

  it('activations that fit no memory, or wasmMemory false: SharedArrayBuffers, one per layer\'s keys and values', () => {
    for (const s of [new RunState(c, {ctx, maxBatch, maxMemoryBytes: activations - 1}), new RunState(c, {ctx, maxBatch, wasmMemory: false})]) {
      expect(s.memories).to.deep.equal([])
      expect(s.layerMemory).to.deep.equal([])
      expect(s.keyCache.map((k) => [k.byteOffset, k.length, k.buffer !== s.buffer])).to.deep.equal([[0, ctx * c.kvDim, true], [0, ctx * c.kvDim, true]])
    }
  })
})
