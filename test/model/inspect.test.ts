import {expect} from 'chai'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {LlmfragError} from '../../src/errors.js'
import {readGGUFHeader} from '../../src/gguf/reader.js'
import {inspect} from '../../src/inspect/inspect.js'
import {CUSTOM_PROFILE} from '../../src/profiles/detect.js'
import {synthesize} from '../../src/synth/index.js'

const FIXTURES = 'test/fixtures'
const TINY_MISTRAL = `${FIXTURES}/tiny-mistral/tiny-mistral-Q4_K_M.gguf`
const TINY_MAGISTRAL = `${FIXTURES}/tiny-magistral/tiny-magistral-Q4_K_M.gguf`

function caught(fn: () => unknown): LlmfragError {
  try {
    fn()
  } catch (err) {
    if (err instanceof LlmfragError) return err
    throw err
  }
  throw new Error('expected an LlmfragError')
}

describe('inspect', () => {
  let dir: string

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llmfrag-inspect-'))
    // Full-size models as header-only synth files: valid headers, sparse zero-filled data sections.
    await synthesize({architecture: 'magistral', headerOnly: true, output: join(dir, 'magistral.gguf')})
    await synthesize({architecture: 'mistral_7b', headerOnly: true, output: join(dir, 'mistral_7b.gguf')})
  })

  after(() => rmSync(dir, {recursive: true, force: true}))

  it('reports tiny-mistral: custom llama family, its dims, 21 tensors, types, parameters and memory', () => {
    const r = inspect(TINY_MISTRAL)
    const h = readGGUFHeader(TINY_MISTRAL)
    expect(r.kind).to.equal('gguf')
    expect(r.version).to.equal(3)
    expect(r.fileBytes).to.equal(13321984)
    expect(r.architecture.general).to.equal('llama')
    expect(r.architecture.profile).to.equal(CUSTOM_PROFILE)
    expect(r.architecture.problems).to.deep.equal([])
    expect(r.architecture.dims).to.deep.include({dim: 256, ffnHidden: 768, layers: 2, heads: 4, kvHeads: 2, headDim: 64, vocab: 32768, contextLength: 1024})
    expect(r.tensorCount).to.equal(21)
    expect(r.tensors).to.equal(undefined)
    // Histogram: norms F32; output, blk.1.attn_v and blk.1.ffn_down Q6_K; the rest Q4_K (fixtures README).
    expect(r.types.map((t) => [t.type, t.tensors])).to.have.deep.members([['Q4_K', 13], ['Q6_K', 3], ['F32', 5]])
    const weights = h.tensors.reduce((s, t) => s + t.bytes, 0)
    expect(r.types.reduce((s, t) => s + t.bytes, 0)).to.equal(weights)
    expect(r.parameters).to.equal(h.tensors.reduce((s, t) => s + t.dims.reduce((p, d) => p * d, 1), 0))
    // ctx = context_length 1024 (under the 4096 cap); KV = 2 * 2 layers * 1024 * 2 kv heads * 64 * 2 bytes.
    expect(r.memory).to.deep.equal({ctx: 1024, weightsBytes: weights, kvCacheBytes: 1048576, totalBytes: weights + 1048576})
  })

  it('cuts long arrays to their first items with the total count, and rounds float32 values', () => {
    const r = inspect(TINY_MISTRAL)
    const tokens = r.metadata.find((e) => e.key === 'tokenizer.ggml.tokens')
    expect(tokens).to.deep.equal({key: 'tokenizer.ggml.tokens', type: 'array', itemType: 'string', value: ['<unk>', '<s>', '</s>', '[INST]', '[/INST]'], count: 32768})
    expect(r.metadata.find((e) => e.key === 'llama.attention.layer_norm_rms_epsilon')?.value).to.equal(0.00001)
    expect(r.metadata).to.have.length(readGGUFHeader(TINY_MISTRAL).kv.length)
  })

  it('reports tiny-magistral with key_length 128 (q wider than dim) and lists tensors on request', () => {
    const r = inspect(TINY_MAGISTRAL, {tensors: true, ctx: 100})
    expect(r.architecture.dims).to.deep.include({dim: 512, ffnHidden: 1536, heads: 8, kvHeads: 2, headDim: 128, vocab: 16384})
    expect(r.architecture.nearest?.profile).to.equal('magistral')
    expect(r.tensors).to.have.length(21)
    expect(r.tensors?.find((t) => t.name === 'blk.0.attn_q.weight')).to.deep.include({type: 'Q4_K', shape: [512, 1024], bytes: 294912})
    expect(r.memory?.ctx).to.equal(100)
    expect(r.memory?.kvCacheBytes).to.equal(2 * 2 * 100 * 2 * 128 * 2)
  })

  it('reports a full-size magistral (header-only synth): profile, dims, 363 tensors, memory at ctx 4096', () => {
    const r = inspect(join(dir, 'magistral.gguf'))
    expect(r.architecture.profile).to.equal('magistral')
    expect(r.architecture.problems).to.deep.equal([])
    expect(r.architecture.dims).to.deep.include({dim: 5120, ffnHidden: 32768, layers: 40, heads: 32, kvHeads: 8, headDim: 128, vocab: 131072})
    expect(r.tensorCount).to.equal(363)
    expect(r.memory?.ctx).to.equal(4096) // context_length 131072 capped
    expect(r.memory?.kvCacheBytes).to.equal(2 * 40 * 4096 * 8 * 128 * 2) // 640 MiB
  })

  it('reports a full-size mistral_7b (header-only synth): profile, dims, 291 tensors', () => {
    const r = inspect(join(dir, 'mistral_7b.gguf'), {tensors: true})
    expect(r.architecture.profile).to.equal('mistral_7b')
    expect(r.architecture.dims).to.deep.include({dim: 4096, ffnHidden: 14336, layers: 32, heads: 32, kvHeads: 8, headDim: 128, vocab: 32768})
    expect(r.tensorCount).to.equal(291)
    expect(r.tensors?.find((t) => t.name === 'blk.31.ffn_down.weight')?.shape).to.deep.equal([14336, 4096])
    expect(r.memory?.kvCacheBytes).to.equal(2 * 32 * 4096 * 8 * 128 * 2)
  })

  it('fails with IO for a missing path and GGUF_FORMAT for a file that is not GGUF', () => {
    expect(caught(() => inspect(join(dir, 'nope.gguf'))).code).to.equal('IO')
    writeFileSync(join(dir, 'text.gguf'), 'hello, not a model')
    const err = caught(() => inspect(join(dir, 'text.gguf')))
    expect(err.code).to.equal('GGUF_FORMAT')
    expect(err.message).to.contain('magic')
    expect(caught(() => inspect(TINY_MISTRAL, {ctx: 0})).code).to.equal('BAD_INPUT')
  })
})
