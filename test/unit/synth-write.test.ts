import {expect} from 'chai'
import {createHash} from 'node:crypto'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {LlmfragError} from '../../src/errors.js'
import {GGMLType} from '../../src/gguf/ggml-types.js'
import {readGGUFHeader} from '../../src/gguf/reader.js'
import {isGGUFArray} from '../../src/gguf/types.js'
import {kernelFor} from '../../src/kernels/index.js'
import {planSynth, synthesize, type SynthOptions} from '../../src/synth/index.js'

/** A small custom model: 2 blocks of dim 256, both tensor types and both halves of use_more_bits. */
const SMALL = {architecture: 'mistral_7b', layers: 2, dim: 256, ffnHidden: 512, heads: 4, kvHeads: 2, vocab: 2048} as const
const SMALL_TEKKEN = {architecture: 'magistral', layers: 2, dim: 512, ffnHidden: 768, heads: 4, kvHeads: 2, headDim: 128, vocab: 2048} as const

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex')

describe('synthesize', () => {
  let dir: string
  before(() => { dir = mkdtempSync(join(tmpdir(), 'llmfrag-synth-')) })
  after(() => rmSync(dir, {recursive: true, force: true}))

  it('writes the planned header and exactly the planned size, reporting progress to the end', async () => {
    const output = join(dir, 'small.gguf')
    const seen: Array<[number, number]> = []
    const r = await synthesize({...SMALL, output, seed: 3}, (done, total) => seen.push([done, total]))
    const plan = planSynth({...SMALL, seed: 3})
    expect(r).to.include({file: output, bytes: plan.fileBytes, tensors: 21, params: plan.params, architecture: 'llama-family (custom)',
      profile: 'mistral_7b', layers: 2, seed: 3, headerOnly: false})
    expect(r.seconds).to.be.a('number')
    const data = readFileSync(output)
    expect(data.length).to.equal(plan.fileBytes)
    expect(data.subarray(0, plan.header.length).equals(plan.header)).to.equal(true)
    expect(seen.at(-1)).to.deep.equal([plan.fileBytes, plan.fileBytes])
    expect(seen.every(([d], i) => i === 0 || d >= seen[i - 1][0])).to.equal(true)
    expect(readdirSync(dir)).to.deep.equal(['small.gguf']) // no partial file left behind
  })

  it('gives the same bytes for the same seed and different bytes for another seed', async () => {
    const a = join(dir, 'a.gguf'), b = join(dir, 'b.gguf'), c = join(dir, 'c.gguf')
    await synthesize({...SMALL_TEKKEN, output: a, seed: 11})
    await synthesize({...SMALL_TEKKEN, output: b, seed: 11})
    await synthesize({...SMALL_TEKKEN, output: c, seed: 12})
    expect(sha256(a)).to.equal(sha256(b))
    expect(sha256(a)).to.not.equal(sha256(c))
  })

  it('writes valid blocks: finite fp16 scales, values about N(0, 0.02), norms about 1', async () => {
    const output = join(dir, 'values.gguf')
    await synthesize({...SMALL_TEKKEN, output, seed: 1})
    const h = readGGUFHeader(output)
    const data = readFileSync(output)
    const types = new Set<GGMLType>()
    for (const t of h.tensors) {
      types.add(t.type)
      const n = t.dims.reduce((a, b) => a * b, 1)
      const values = new Float32Array(n)
      const src = new Uint8Array(data.buffer, data.byteOffset + h.dataOffset + t.offset, t.bytes)
      kernelFor(t.type).dequantizeRow(src, 0, n, values, 0)
      let sum = 0, sq = 0
      for (const v of values) { sum += v; sq += v * v }
      const mean = sum / n, std = Math.sqrt(sq / n - mean * mean)
      expect(values.every(Number.isFinite), t.name).to.equal(true)
      if (t.type === GGMLType.F32) {
        expect(mean, t.name).to.be.closeTo(1, 0.01)
        expect(std, t.name).to.be.closeTo(0.05, 0.01)
      } else {
        expect(mean, t.name).to.be.closeTo(0, 0.002)
        expect(std, t.name).to.be.closeTo(0.02, 0.002)
      }
    }
    expect([...types].sort()).to.deep.equal([GGMLType.F32, GGMLType.Q4_K, GGMLType.Q6_K])
    // Alignment padding between tensors is zero.
    for (const [i, t] of h.tensors.entries()) {
      const end = h.dataOffset + t.offset + t.bytes
      const next = i + 1 < h.tensors.length ? h.dataOffset + h.tensors[i + 1].offset : h.fileSize
      expect(data.subarray(end, next).every((x) => x === 0), t.name).to.equal(true)
    }
  })

  it('writes a full-size magistral header with a sparse data section (--header-only)', async () => {
    const output = join(dir, 'magistral-header.gguf')
    const r = await synthesize({architecture: 'magistral', output, headerOnly: true})
    expect(r).to.include({tensors: 363, architecture: 'magistral', layers: 40, headerOnly: true})
    const st = statSync(output)
    expect(st.size).to.equal(r.bytes)
    expect(r.bytes).to.be.greaterThan(14e9)
    expect(st.blocks * 512).to.be.lessThan(64 << 20) // the data section takes no disk blocks
    const h = readGGUFHeader(output)
    expect(h.tensors).to.have.length(363)
    expect(h.dataOffset + (h.tensors.at(-1)?.offset ?? 0) + (h.tensors.at(-1)?.bytes ?? 0)).to.equal(st.size)
    const tokens = h.kv.find((e) => e.key === 'tokenizer.ggml.tokens')?.value
    expect(tokens !== undefined && isGGUFArray(tokens) ? tokens.items.length : 0).to.equal(131072)
  })

  it('writes a full-size mistral_7b header (291 tensors, 32 layers) with --header-only', async () => {
    const output = join(dir, 'mistral-header.gguf')
    const r = await synthesize({architecture: 'mistral_7b', output, headerOnly: true})
    expect(r).to.include({tensors: 291, architecture: 'mistral_7b', layers: 32, params: 7_248_023_552})
    expect(readGGUFHeader(output).fileSize).to.equal(r.bytes)
  })

  it('refuses to replace a file unless forced, and to write into a missing directory', async () => {
    const output = join(dir, 'exists.gguf')
    writeFileSync(output, 'keep me')
    const opts: SynthOptions = {...SMALL, output}
    const err = await synthesize(opts).catch((e: unknown) => e)
    expect(err).to.be.instanceOf(LlmfragError)
    expect((err as LlmfragError).code).to.equal('BAD_INPUT')
    expect((err as LlmfragError).message).to.match(/already exists/)
    expect(readFileSync(output, 'utf8')).to.equal('keep me')
    await synthesize({...opts, force: true})
    expect(statSync(output).size).to.equal(planSynth(SMALL).fileBytes)
    const missing = await synthesize({...SMALL, output: join(dir, 'no', 'such', 'x.gguf')}).catch((e: unknown) => e)
    expect((missing as LlmfragError).code).to.equal('IO')
  })

  it('stops when aborted and leaves neither the output nor a partial file', async () => {
    const sub = mkdtempSync(join(dir, 'abort-'))
    const output = join(sub, 'aborted.gguf')
    const abort = new AbortController()
    const err = await synthesize({architecture: 'mistral_7b', layers: 1, output, signal: abort.signal}, (done) => {
      if (done > 20 << 20) abort.abort(new Error('stop'))
    }).catch((e: unknown) => e)
    expect((err as Error).message).to.equal('stop')
    expect(existsSync(output)).to.equal(false)
    expect(readdirSync(sub)).to.deep.equal([])
  })
})
