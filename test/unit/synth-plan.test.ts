import {expect} from 'chai'

import {LlmfragError} from '../../src/errors.js'
import {GGMLType, ggmlTypeName, rowBytes} from '../../src/gguf/ggml-types.js'
import {readGGUFHeader} from '../../src/gguf/reader.js'
import {GGUFValueType, isGGUFArray, type GGUFHeader} from '../../src/gguf/types.js'
import {compareTensorNames, planSynth, resolveShape, useMoreBits, type SynthPlanOptions} from '../../src/synth/index.js'

const TINY_MISTRAL = 'test/fixtures/tiny-mistral/tiny-mistral-Q4_K_M.gguf'
const TINY_MAGISTRAL = 'test/fixtures/tiny-magistral/tiny-magistral-Q4_K_M.gguf'

/** The synth options that give a fixture's shape. */
const TINY: Record<string, SynthPlanOptions> = {
  [TINY_MISTRAL]: {architecture: 'mistral_7b', layers: 2, dim: 256, ffnHidden: 768, heads: 4, kvHeads: 2, vocab: 32768, context: 1024},
  [TINY_MAGISTRAL]: {architecture: 'magistral', layers: 2, dim: 512, ffnHidden: 1536, heads: 8, kvHeads: 2, headDim: 128, vocab: 16384, context: 1024},
}

function expectBadInput(fn: () => unknown, pattern: RegExp): void {
  try {
    fn()
  } catch (err) {
    expect(err).to.be.instanceOf(LlmfragError)
    expect((err as LlmfragError).code).to.equal('BAD_INPUT')
    expect((err as LlmfragError).message).to.match(pattern)
    return
  }
  expect.fail(`expected a BAD_INPUT error matching ${pattern}`)
}

const layersWithMoreBits = (n: number): number[] => Array.from({length: n}, (_, i) => i).filter((i) => useMoreBits(i, n))

describe('synth plan', () => {
  it('picks the layers of llama.cpp use_more_bits rule', () => {
    expect(layersWithMoreBits(32)).to.deep.equal([0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31])
    expect(layersWithMoreBits(40)).to.deep.equal([0, 1, 2, 3, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 34, 35, 36, 37, 38, 39])
    expect(layersWithMoreBits(2)).to.deep.equal([1])
    expect(layersWithMoreBits(1)).to.deep.equal([0])
  })

  it('orders tensor names as llama.cpp weight_name_comparer (blocks numerically, names byte-wise)', () => {
    const names = ['blk.10.attn_k.weight', 'token_embd.weight', 'blk.9.ffn_up.weight', 'output_norm.weight', 'blk.9.attn_k.weight', 'output.weight']
    expect(names.sort(compareTensorNames)).to.deep.equal([
      'output.weight', 'output_norm.weight', 'token_embd.weight', 'blk.9.attn_k.weight', 'blk.9.ffn_up.weight', 'blk.10.attn_k.weight',
    ])
  })

  for (const fixture of [TINY_MISTRAL, TINY_MAGISTRAL]) {
    it(`reproduces the tensor table of ${fixture.split('/').pop()} from its shape`, () => {
      const real = readGGUFHeader(fixture)
      const plan = planSynth(TINY[fixture])
      expect(plan.tensors.map((t) => [t.name, t.dims, ggmlTypeName(t.type), t.offset]))
        .to.deep.equal(real.tensors.map((t) => [t.name, t.dims, ggmlTypeName(t.type), t.offset]))
      expect(plan.dataBytes).to.equal(real.fileSize - real.dataOffset)
    })

    it(`writes the metadata keys of ${fixture.split('/').pop()} in its order and types`, () => {
      const real = readGGUFHeader(fixture)
      const plan = planSynth(TINY[fixture])
      const types = (h: Pick<GGUFHeader, 'kv'>): string[] => h.kv.map((e) => {
        const item = isGGUFArray(e.value) ? `[${GGUFValueType[e.value.itemType]}]` : ''
        return `${e.key} ${GGUFValueType[e.type]}${item}`
      })
      // tiny-mistral has head_dim = dim / heads and so no key_length/value_length; synth always writes them.
      const ours = types(plan).filter((k) => real.kv.some((e) => k.startsWith(e.key + ' ')))
      expect(ours).to.deep.equal(types(real))
      const extra = plan.kv.map((e) => e.key).filter((k) => !real.kv.some((e) => e.key === k))
      expect(extra).to.deep.equal(fixture === TINY_MISTRAL ? ['llama.attention.key_length', 'llama.attention.value_length'] : [])
      for (const key of ['general.architecture', 'llama.embedding_length', 'llama.block_count', 'llama.attention.head_count_kv',
        'llama.rope.freq_base', 'llama.attention.layer_norm_rms_epsilon', 'llama.context_length', 'general.file_type',
        'general.quantization_version', 'tokenizer.ggml.model', 'tokenizer.ggml.pre', 'tokenizer.ggml.bos_token_id', 'tokenizer.ggml.add_bos_token']) {
        const ours = plan.kv.find((e) => e.key === key)?.value
        // Floats go through f32 in the file: compare as f32.
        expect(typeof ours === 'number' ? Math.fround(ours) : ours, key).to.equal(real.kv.find((e) => e.key === key)?.value)
      }
    })
  }

  it('lays out full-size mistral_7b: 291 tensors, Q4_K_M types, DESIGN row widths', () => {
    const plan = planSynth({architecture: 'mistral_7b'})
    expect(plan.tensors).to.have.length(291)
    expect(plan.shape.label).to.equal('mistral_7b')
    expect(plan.params).to.equal(7_248_023_552)
    const type = (name: string): string => ggmlTypeName(plan.tensors.find((t) => t.name === name)?.type ?? -1)
    expect(type('token_embd.weight')).to.equal('Q4_K')
    expect(type('output.weight')).to.equal('Q6_K')
    expect(type('output_norm.weight')).to.equal('F32')
    const q6 = new Set(layersWithMoreBits(32))
    for (let i = 0; i < 32; i++) {
      const want = q6.has(i) ? 'Q6_K' : 'Q4_K'
      expect(type(`blk.${i}.attn_v.weight`), `blk.${i}.attn_v`).to.equal(want)
      expect(type(`blk.${i}.ffn_down.weight`), `blk.${i}.ffn_down`).to.equal(want)
      for (const n of ['attn_q', 'attn_k', 'attn_output', 'ffn_gate', 'ffn_up']) expect(type(`blk.${i}.${n}.weight`)).to.equal('Q4_K')
      for (const n of ['attn_norm', 'ffn_norm']) expect(type(`blk.${i}.${n}.weight`)).to.equal('F32')
    }
    expect(rowBytes(GGMLType.Q4_K, 4096)).to.equal(2304)
    const down = plan.tensors.find((t) => t.name === 'blk.0.ffn_down.weight')
    expect(down?.dims).to.deep.equal([14336, 4096])
    expect(down?.bytes).to.equal(4096 * 11760) // Q6_K rows of 14336
    expect(plan.fileBytes).to.equal(plan.header.length + plan.dataBytes)
    expect(plan.fileBytes).to.be.within(4.3e9, 4.5e9)
  })

  it('lays out full-size magistral: 363 tensors, attn_q [5120, 4096], Q6_K rows of 32768 are 26880 bytes', () => {
    const plan = planSynth({architecture: 'magistral'})
    expect(plan.tensors).to.have.length(363)
    const q = plan.tensors.find((t) => t.name === 'blk.39.attn_q.weight')
    expect(q?.dims).to.deep.equal([5120, 4096])
    const down = plan.tensors.find((t) => t.name === 'blk.39.ffn_down.weight')
    expect(ggmlTypeName(down?.type ?? -1)).to.equal('Q6_K')
    expect(down?.bytes).to.equal(5120 * 26880)
    expect(plan.tensors.at(-1)?.name).to.equal('blk.39.ffn_up.weight')
    expect(plan.params).to.equal(23_572_403_200)
  })

  it('keeps the profile label only for the profile\'s exact shape', () => {
    expect(resolveShape('magistral').label).to.equal('magistral')
    expect(resolveShape('magistral', {context: 4096}).label).to.equal('magistral')
    expect(resolveShape('magistral', {layers: 2}).label).to.equal('llama-family (custom)')
    expect(resolveShape('magistral', {heads: 32}).headDim).to.equal(128) // the profile's split is kept
    expect(resolveShape('magistral', {dim: 4096}).headDim).to.equal(128) // 4096 / 32
  })

  it('refuses shapes that cannot be quantized or attended, naming the option', () => {
    expectBadInput(() => resolveShape('mistral_7b', {dim: 300}), /^--dim: must be a multiple of 256, got 300/)
    expectBadInput(() => resolveShape('mistral_7b', {ffnHidden: 1000}), /^--ffn-hidden: must be a multiple of 256/)
    expectBadInput(() => resolveShape('mistral_7b', {dim: 256, heads: 3}), /^--head-dim: dim 256 is not divisible by 3 heads/)
    expectBadInput(() => resolveShape('mistral_7b', {dim: 256, heads: 2, kvHeads: 2, headDim: 96}), /^--heads: heads x head-dim \(2 x 96 = 192\)/)
    expectBadInput(() => resolveShape('mistral_7b', {kvHeads: 5}), /^--kv-heads: 32 heads are not a multiple of 5/)
    expectBadInput(() => resolveShape('mistral_7b', {vocab: 1000}), /^--vocab: must be at least 1123/)
    expectBadInput(() => resolveShape('magistral', {vocab: 1256}), /^--vocab: must be at least 1257/)
    expectBadInput(() => resolveShape('mistral_7b', {layers: 0}), /^--layers: must be a positive integer/)
    expectBadInput(() => resolveShape('llama_70b'), /unknown architecture "llama_70b"/)
    expectBadInput(() => planSynth({architecture: 'mistral_7b', seed: -1}), /^--seed: must be an integer/)
  })
})
