/**
 * The Engine on tiny-mistral: greedy generation from token ids reproduces the exact reference's
 * continuation, seeds reproduce text, stop strings and budgets end generation, the KV cache is
 * reused across calls, and prompts that do not fit fail with CONTEXT_FULL.
 */
import {expect} from 'chai'

import {Engine} from '../../src/engine/index.js'
import {GREEDY} from '../../src/sampling/index.js'
import {comparableSteps, maxAbsDiff, readFixture} from '../support/logits.js'

describe('engine: Engine on tiny-mistral', () => {
  const fixture = readFixture('tiny-mistral')
  const seq7 = fixture.sequences.find((s) => s.name === 'seq007')
  if (!seq7) throw new Error('fixture seq007 missing')
  let engine: Engine

  before(async () => {
    engine = await Engine.load(fixture.model, {ctx: 96, maxBatch: 16, kernels: 'reference'})
  })

  it('reports the model and context it loaded', () => {
    expect(engine.config).to.include({architecture: 'llama', dim: 256, layers: 2, vocab: 32768})
    expect(engine.ctx).to.equal(96)
    expect(engine.tokenizer.vocabSize).to.equal(32768)
  })

  it('evaluate returns every position\'s logits, equal to the exact reference within 1e-3', () => {
    const {logits, timings} = engine.evaluate(seq7.tokens)
    expect(logits?.length).to.equal(seq7.tokens.length * seq7.vocab)
    expect(maxAbsDiff(logits ?? new Float32Array(0), seq7.exact)).to.be.below(1e-3)
    expect(timings.promptTokens).to.equal(seq7.tokens.length)
    expect(engine.cachedTokens).to.deep.equal(seq7.tokens)
  })

  it('evaluate streams rows in batches of maxBatch when given a callback', () => {
    const seq33 = fixture.sequences.find((s) => s.name === 'seq033')
    if (!seq33) throw new Error('fixture seq033 missing')
    const seen: Array<[number, number]> = []
    const rows = new Float32Array(seq33.tokens.length * seq33.vocab)
    const r = engine.evaluate(seq33.tokens, (l, pos, n) => {
      seen.push([pos, n])
      rows.set(l.subarray(0, n * seq33.vocab), pos * seq33.vocab)
    })
    expect(r.logits).to.equal(undefined)
    expect(seen).to.deep.equal([[0, 16], [16, 16], [32, 1]])
    expect(maxAbsDiff(rows, seq33.exact)).to.be.below(1e-3)
  })

  it('greedy generation from token ids gives the exact reference continuation', async () => {
    const steps = comparableSteps(seq7.greedyExact, 1e-3)
    engine.reset()
    const r = await engine.generate(seq7.tokens, {maxTokens: steps, sampling: GREEDY})
    expect(r.tokens).to.deep.equal(seq7.greedyExact.tokens.slice(0, steps))
    expect(r.stopReason).to.equal('length')
    expect(r.promptTokens).to.equal(seq7.tokens.length)
    expect(r.timings.evalRuns).to.equal(steps - 1)
    // decode() drops SentencePiece's leading space; streamed text keeps it, as llama.cpp's pieces do
    expect(r.text.trimStart()).to.equal(engine.tokenizer.decode(r.tokens))
  })

  it('reuses the cached prefix: a longer prompt evaluates only its new tokens', async () => {
    engine.reset()
    await engine.generate(seq7.tokens, {maxTokens: 0})
    const longer = [...seq7.tokens, 400, 500]
    const r = await engine.generate(longer, {maxTokens: 1, sampling: GREEDY})
    expect(r.timings.promptTokens).to.equal(2)
    // the same prompt again re-evaluates just its last token (for its logits), with the same result
    const again = await engine.generate(longer, {maxTokens: 1, sampling: GREEDY})
    expect(again.timings.promptTokens).to.equal(1)
    expect(again.tokens).to.deep.equal(r.tokens)
    engine.reset()
    const fresh = await engine.generate(longer, {maxTokens: 1, sampling: GREEDY})
    expect(fresh.timings.promptTokens).to.equal(longer.length)
    expect(fresh.tokens).to.deep.equal(r.tokens)
  })

  it('gives the same text for the same seed, streamed piece by piece', async () => {
    const run = async (seed: number): Promise<{text: string; streamed: string}> => {
      let streamed = ''
      const r = await engine.generate('Once upon a time', {maxTokens: 12, sampling: {seed, temperature: 1}}, (t) => { streamed += t })
      return {text: r.text, streamed}
    }
    const a = await run(7), b = await run(7), c = await run(8)
    expect(a.text.length).to.be.greaterThan(0)
    expect(a).to.deep.equal(b)
    expect(a.streamed).to.equal(a.text)
    expect(c.text).to.not.equal(a.text)
  })

  it('ends at a stop string, which is not part of the text', async () => {
    const full = await engine.generate(seq7.tokens, {maxTokens: 8, sampling: GREEDY})
    const cut = full.text.slice(3, 7) // a piece of the greedy text
    const at = full.text.indexOf(cut)
    let streamed = ''
    const r = await engine.generate(seq7.tokens, {maxTokens: 8, sampling: GREEDY, stop: [cut]}, (t) => { streamed += t })
    expect(r.stopReason).to.equal('stop')
    expect(r.text).to.equal(full.text.slice(0, at))
    expect(streamed).to.equal(r.text)
  })

  it('stops after the current token when the signal is aborted', async () => {
    const ac = new AbortController()
    const r = await engine.generate(seq7.tokens, {maxTokens: 20, sampling: GREEDY, signal: ac.signal}, () => ac.abort())
    expect(r.stopReason).to.equal('abort')
    expect(r.tokens.length).to.be.lessThan(20)
    // an already aborted signal stops before evaluating the prompt's first batch
    const early = await engine.generate([...seq7.tokens, 42], {maxTokens: 5, sampling: GREEDY, signal: AbortSignal.abort()})
    expect(early).to.deep.include({stopReason: 'abort', tokens: [], text: ''})
  })

  it('refuses a prompt and budget that do not fit the context (CONTEXT_FULL), and an empty prompt', async () => {
    const tooLong = Array.from({length: 97}, () => 1000)
    let err: unknown
    try {
      await engine.generate(tooLong, {maxTokens: 0})
    } catch (e) {
      err = e
    }
    expect(err).to.have.property('code', 'CONTEXT_FULL')
    err = undefined
    try {
      await engine.generate(seq7.tokens, {maxTokens: 91}) // 7 + 90 positions > 96
    } catch (e) {
      err = e
    }
    expect(err).to.have.property('code', 'CONTEXT_FULL')
    const fits = await engine.generate(seq7.tokens, {maxTokens: 90, sampling: GREEDY, stop: []})
    expect(fits.tokens.length).to.be.at.most(90)
    expect(() => engine.evaluate([])).to.throw('empty').with.property('code', 'BAD_INPUT')
  })

  it('with no token budget, fails with CONTEXT_FULL when the context fills', async () => {
    // seq007's greedy continuation has no end-of-generation token: 7 prompt positions + 5 fill 12,
    // and the 6th token sampled cannot be evaluated
    const small = await Engine.load(fixture.model, {ctx: 12})
    let err: unknown
    try {
      await small.generate(seq7.tokens, {sampling: GREEDY})
    } catch (e) {
      err = e
    }
    expect(err).to.have.property('code', 'CONTEXT_FULL')
    expect(err).to.have.nested.property('details.generated', 6)
  })

  it('cacheContents gives the cache slot after slot, and restoreCache into an engine of another context size continues bit for bit (fast kernels)', async () => {
    const a = await Engine.load(fixture.model, {ctx: 96, maxBatch: 16, threads: 2})
    const b = await Engine.load(fixture.model, {ctx: 40, maxBatch: 16, threads: 2})
    try {
      a.evaluate(seq7.tokens) // one batch from position 0: the run state's k holds every position's keys of the last layer
      const {kvDim, layers} = a.config
      const contents = a.cacheContents()
      expect(contents.tokens).to.deep.equal(seq7.tokens)
      expect(contents.keys.map((k) => k.length)).to.deep.equal(Array(layers).fill(seq7.tokens.length * kvDim))
      const lastKeys = a.model.state.k.subarray(0, seq7.tokens.length * kvDim)
      expect(contents.keys[layers - 1].every((v, i) => v === lastKeys[i]), 'slot-major keys of the last layer').to.equal(true)
      b.restoreCache(contents)
      const next = [...seq7.tokens, 400]
      await a.generate(next, {maxTokens: 0})
      const want = a.model.state.logits.slice(0, seq7.vocab)
      const r = await b.generate(next, {maxTokens: 0})
      expect(r.timings.promptTokens, 'only the new token is evaluated').to.equal(1)
      expect(b.model.state.logits.subarray(0, seq7.vocab).every((v, i) => v === want[i])).to.equal(true)
    } finally {
      await a.close()
      await b.close()
    }
  })
})
