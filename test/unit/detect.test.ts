import {expect} from 'chai'

import {LlmfragError} from '../../src/errors.js'
import {type GGUFKV, GGUFValueType} from '../../src/gguf/types.js'
import {
  analyzeArchitecture, CUSTOM_PROFILE, detectArchitecture, expectedTensorShapes, type LlamaDims, matchProfile,
  summarizeDims, type TensorShape,
} from '../../src/profiles/detect.js'
import {type ArchitectureProfile, profileByName} from '../../src/profiles/profiles.js'

const T = GGUFValueType

function profile(name: string): ArchitectureProfile {
  const p = profileByName(name)
  if (!p) throw new Error(`no profile ${name}`)
  return p
}

/** Metadata as a converter writes it for a llama-family model under `prefix`. */
function kvFor(p: Omit<ArchitectureProfile, 'name' | 'tokenizer'>, prefix = 'llama', extra: GGUFKV[] = []): GGUFKV[] {
  return [
    {key: 'general.architecture', type: T.STRING, value: prefix},
    {key: `${prefix}.vocab_size`, type: T.UINT32, value: p.vocab},
    {key: `${prefix}.context_length`, type: T.UINT32, value: p.contextLength},
    {key: `${prefix}.embedding_length`, type: T.UINT32, value: p.dim},
    {key: `${prefix}.block_count`, type: T.UINT32, value: p.layers},
    {key: `${prefix}.feed_forward_length`, type: T.UINT32, value: p.ffnHidden},
    {key: `${prefix}.rope.dimension_count`, type: T.UINT32, value: p.headDim},
    {key: `${prefix}.attention.head_count`, type: T.UINT32, value: p.heads},
    {key: `${prefix}.attention.head_count_kv`, type: T.UINT32, value: p.kvHeads},
    {key: `${prefix}.attention.key_length`, type: T.UINT32, value: p.headDim},
    {key: `${prefix}.attention.value_length`, type: T.UINT32, value: p.headDim},
    {key: `${prefix}.attention.layer_norm_rms_epsilon`, type: T.FLOAT32, value: 1e-5},
    {key: `${prefix}.rope.freq_base`, type: T.FLOAT32, value: p.ropeBase},
    ...extra,
  ]
}

function dimsOf(p: ArchitectureProfile): LlamaDims {
  return {
    dim: p.dim, ffnHidden: p.ffnHidden, layers: p.layers, heads: p.heads, kvHeads: p.kvHeads, headDim: p.headDim,
    valueDim: p.headDim, vocab: p.vocab, contextLength: p.contextLength, ropeBase: p.ropeBase, ropeDim: p.headDim, rmsEps: 1e-5,
  }
}

function tensorsFor(p: ArchitectureProfile, tied = false): TensorShape[] {
  return [...expectedTensorShapes(dimsOf(p), tied)].map(([name, dims]) => ({name, dims}))
}

const tiny = {dim: 256, ffnHidden: 768, layers: 2, heads: 4, kvHeads: 2, headDim: 64, vocab: 32768, ropeBase: 1e6, contextLength: 1024}

describe('profiles/detect', () => {
  it('lists 291 tensors for mistral_7b and 363 for magistral, with the shapes of DESIGN section 6', () => {
    const m7 = expectedTensorShapes(dimsOf(profile('mistral_7b')), false)
    const mg = expectedTensorShapes(dimsOf(profile('magistral')), false)
    expect(m7.size).to.equal(291)
    expect(mg.size).to.equal(363)
    expect(mg.get('token_embd.weight')).to.deep.equal([5120, 131072])
    expect(mg.get('blk.39.attn_q.weight')).to.deep.equal([5120, 4096]) // heads*head_dim = 32*128, not dim
    expect(mg.get('blk.0.attn_k.weight')).to.deep.equal([5120, 1024])
    expect(mg.get('blk.0.attn_v.weight')).to.deep.equal([5120, 1024])
    expect(mg.get('blk.0.attn_output.weight')).to.deep.equal([4096, 5120])
    expect(mg.get('blk.0.ffn_gate.weight')).to.deep.equal([5120, 32768])
    expect(mg.get('blk.0.ffn_up.weight')).to.deep.equal([5120, 32768])
    expect(mg.get('blk.0.ffn_down.weight')).to.deep.equal([32768, 5120])
    expect(mg.get('blk.0.attn_norm.weight')).to.deep.equal([5120])
    expect(mg.get('output_norm.weight')).to.deep.equal([5120])
    expect(mg.get('output.weight')).to.deep.equal([5120, 131072])
    expect(m7.get('blk.31.ffn_down.weight')).to.deep.equal([14336, 4096])
    expect(expectedTensorShapes(dimsOf(profile('mistral_7b')), true).has('output.weight')).to.equal(false)
  })

  for (const name of ['magistral', 'mistral_7b']) {
    for (const prefix of ['llama', 'mistral3']) {
      it(`detects ${name} under the ${prefix}.* prefix`, () => {
        const p = profile(name)
        const a = analyzeArchitecture(kvFor(p, prefix), tensorsFor(p))
        expect(a.metadataProblems).to.deep.equal([])
        expect(a.shapeProblems).to.deep.equal([])
        expect(a.detection?.name).to.equal(name)
        expect(a.detection?.architecture).to.equal(prefix)
        expect(a.detection?.dims).to.deep.include({dim: p.dim, ffnHidden: p.ffnHidden, layers: p.layers, heads: p.heads, kvHeads: p.kvHeads, headDim: p.headDim, vocab: p.vocab})
      })
    }
  }

  it('summarizes dims as the verify line shows them', () => {
    expect(summarizeDims(dimsOf(profile('magistral')))).to.equal('dim 5120, hidden 32768, 40 layers')
  })

  it('reports a model matching no profile as llama-family (custom) with its dims and nearest profile', () => {
    const kv = kvFor(tiny).filter((e) => !e.key.endsWith('key_length') && !e.key.endsWith('value_length'))
    const d = detectArchitecture({kv, tensors: [...expectedTensorShapes({...tiny, valueDim: 64, ropeDim: 64, rmsEps: 1e-5}, false)].map(([name, dims]) => ({name, dims}))})
    expect(d.name).to.equal(CUSTOM_PROFILE)
    expect(d.profile).to.equal(undefined)
    expect(d.dims.headDim).to.equal(64) // dim / heads when key_length is absent
    expect(d.nearest?.profile).to.equal('mistral_7b') // same vocab
    expect(d.nearest?.differences).to.include('dim 256 (mistral_7b: 4096)')
  })

  it('a shortened profile (2 layers) is custom, differing only in layers', () => {
    const p = {...profile('magistral'), layers: 2}
    const a = analyzeArchitecture(kvFor(p), tensorsFor(p))
    expect(a.detection?.name).to.equal(CUSTOM_PROFILE)
    expect(a.detection?.nearest).to.deep.equal({profile: 'magistral', differences: ['layers 2 (magistral: 40)']})
    expect(matchProfile(dimsOf(profile('magistral')))?.name).to.equal('magistral')
  })

  it('accepts a tied output (no output.weight)', () => {
    const p = profile('mistral_7b')
    const a = analyzeArchitecture(kvFor(p), tensorsFor(p, true))
    expect(a.shapeProblems).to.deep.equal([])
    expect(a.detection?.tiedOutput).to.equal(true)
  })

  it('names a wrong shape, a missing and an unexpected tensor with expected and actual', () => {
    const p = profile('mistral_7b')
    const tensors = tensorsFor(p)
      .filter((t) => t.name !== 'blk.3.ffn_up.weight')
      .map((t) => (t.name === 'blk.7.attn_k.weight' ? {...t, dims: [4096, 4096], fragment: 'm-00009-of-00034.gguf'} : t))
    tensors.push({name: 'blk.32.attn_q.weight', dims: [4096, 4096]})
    const a = analyzeArchitecture(kvFor(p), tensors)
    expect(a.detection?.name).to.equal('mistral_7b')
    expect(a.shapeProblems).to.deep.equal([
      {code: 'shape', tensor: 'blk.7.attn_k.weight', fragment: 'm-00009-of-00034.gguf', expected: '[4096, 1024]', actual: '[4096, 4096]'},
      {code: 'tensor_unexpected', tensor: 'blk.32.attn_q.weight', expected: 'no such tensor', actual: '[4096, 4096]'},
      {code: 'tensor_missing', tensor: 'blk.3.ffn_up.weight', expected: '[4096, 14336]', actual: 'missing'},
    ])
  })

  it('names a missing hyper-parameter key', () => {
    const p = profile('magistral')
    const kv = kvFor(p, 'mistral3').filter((e) => e.key !== 'mistral3.feed_forward_length')
    const a = analyzeArchitecture(kv, tensorsFor(p))
    expect(a.detection).to.equal(undefined)
    expect(a.metadataProblems).to.deep.equal([{code: 'metadata', field: 'mistral3.feed_forward_length', expected: 'a number', actual: 'missing'}])
  })

  it('takes the vocab from the tokenizer when vocab_size is absent, and flags a disagreement', () => {
    const p = profile('mistral_7b')
    const tokens: GGUFKV = {key: 'tokenizer.ggml.tokens', type: T.ARRAY, value: {itemType: T.STRING, items: Array.from({length: 32768}, (_, i) => `t${i}`)}}
    const noSize = kvFor(p, 'llama', [tokens]).filter((e) => e.key !== 'llama.vocab_size')
    expect(analyzeArchitecture(noSize, tensorsFor(p)).detection?.name).to.equal('mistral_7b')
    const wrongSize = kvFor({...p, vocab: 32000}, 'llama', [tokens])
    expect(analyzeArchitecture(wrongSize, tensorsFor(p)).metadataProblems).to.deep.equal([
      {code: 'metadata', field: 'llama.vocab_size', expected: '32768 (the length of tokenizer.ggml.tokens)', actual: 32000},
    ])
  })

  it('refuses an architecture outside the llama family', () => {
    const kv: GGUFKV[] = [{key: 'general.architecture', type: T.STRING, value: 'qwen2'}]
    const a = analyzeArchitecture(kv, [])
    expect(a.metadataProblems).to.deep.equal([{code: 'architecture_unsupported', field: 'general.architecture', expected: 'llama or mistral3', actual: 'qwen2'}])
    let caught: unknown
    try {
      detectArchitecture({kv, tensors: []}, 'x.gguf')
    } catch (err) {
      caught = err
    }
    expect(caught).to.be.instanceOf(LlmfragError)
    expect((caught as LlmfragError).code).to.equal('UNSUPPORTED')
    expect((caught as LlmfragError).message).to.contain('x.gguf').and.contain('qwen2')
  })

  it('detectArchitecture throws naming a wrong shape', () => {
    const p = profile('magistral')
    const tensors = tensorsFor(p).map((t) => (t.name === 'token_embd.weight' ? {...t, dims: [5120, 131000]} : t))
    expect(() => detectArchitecture({kv: kvFor(p), tensors})).to.throw(LlmfragError, /token_embd\.weight.*\[5120, 131072\].*\[5120, 131000\]/)
  })
})
