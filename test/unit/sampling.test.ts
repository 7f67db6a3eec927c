import {expect} from 'chai'

import {LlmfragError} from '../../src/errors.js'
import {DEFAULT_SAMPLING, resolveSampling, Rng, Sampler, type SamplingParams} from '../../src/sampling/index.js'

/** Plain sampling with no truncation: temperature 1, every filter off. */
const PLAIN: Partial<SamplingParams> = {temperature: 1, topK: 0, topP: 1, minP: 0, repeatPenalty: 1}

function logitsOf(probs: number[]): Float32Array {
  return Float32Array.from(probs, (p) => Math.log(p))
}

function frequencies(s: Sampler, logits: Float32Array, draws: number): number[] {
  const f = new Array<number>(logits.length).fill(0)
  for (let i = 0; i < draws; i++) f[s.sample(logits)]++
  return f.map((c) => c / draws)
}

describe('sampling: Rng', () => {
  it('repeats its stream for the same seed and differs for another', () => {
    const a = new Rng(42), b = new Rng(42), c = new Rng(43)
    const xa = Array.from({length: 8}, () => a.nextU32())
    const xb = Array.from({length: 8}, () => b.nextU32())
    const xc = Array.from({length: 8}, () => c.nextU32())
    expect(xa).to.deep.equal(xb)
    expect(xa).to.not.deep.equal(xc)
  })

  it('draws floats in [0, 1) with mean near 1/2', () => {
    const r = new Rng(7)
    let sum = 0
    for (let i = 0; i < 20000; i++) {
      const u = r.nextFloat()
      expect(u).to.be.at.least(0).and.below(1)
      sum += u
    }
    expect(sum / 20000).to.be.closeTo(0.5, 0.01)
  })

  it('uses the high bits of a large seed', () => {
    expect(new Rng(2 ** 32 + 5).nextU32()).to.not.equal(new Rng(5).nextU32())
  })
})

describe('sampling: Sampler', () => {
  it('is greedy at temperature 0, ties going to the lowest id', () => {
    const s = new Sampler({temperature: 0}, 5, 16)
    expect(s.sample(Float32Array.from([0.1, 3, -2, 3, 1]))).to.equal(1)
    expect(s.sample(Float32Array.from([0, 0, 5, 0, 0, 0, 0, 9]), 3)).to.equal(4) // offset: row starts at index 3
  })

  it('gives the same tokens for the same seed', () => {
    const logits = logitsOf([0.2, 0.2, 0.2, 0.2, 0.2])
    const run = (seed: number): number[] => {
      const s = new Sampler({...PLAIN, seed}, 5, 16)
      return Array.from({length: 32}, () => s.sample(logits))
    }
    expect(run(1234)).to.deep.equal(run(1234))
    expect(run(1234)).to.not.deep.equal(run(4321))
  })

  it('draws a random seed when none is given and reports it', () => {
    const s = new Sampler({...PLAIN}, 4, 16)
    expect(Number.isInteger(s.seed)).to.equal(true)
    const again = new Sampler({...PLAIN, seed: s.seed}, 4, 16)
    const logits = logitsOf([0.25, 0.25, 0.25, 0.25])
    expect(Array.from({length: 16}, () => s.sample(logits))).to.deep.equal(Array.from({length: 16}, () => again.sample(logits)))
  })

  it('samples the softmax distribution at temperature 1', () => {
    const f = frequencies(new Sampler({...PLAIN, seed: 1}, 3, 16), logitsOf([0.5, 0.3, 0.2]), 20000)
    expect(f[0]).to.be.closeTo(0.5, 0.015)
    expect(f[1]).to.be.closeTo(0.3, 0.015)
    expect(f[2]).to.be.closeTo(0.2, 0.015)
  })

  it('divides logits by the temperature', () => {
    // probs 0.6 / 0.4 at T = 0.5 become 0.36 / 0.16 normalised: 0.692 / 0.308
    const f = frequencies(new Sampler({...PLAIN, temperature: 0.5, seed: 2}, 2, 16), logitsOf([0.6, 0.4]), 20000)
    expect(f[0]).to.be.closeTo(0.36 / 0.52, 0.015)
  })

  it('top-k keeps the k most likely tokens', () => {
    const f = frequencies(new Sampler({...PLAIN, topK: 2, seed: 3}, 4, 16), logitsOf([0.1, 0.4, 0.2, 0.3]), 20000)
    expect(f[0]).to.equal(0)
    expect(f[2]).to.equal(0)
    expect(f[1]).to.be.closeTo(0.4 / 0.7, 0.015)
    expect(new Sampler({...PLAIN, topK: 1, seed: 3}, 4, 16).sample(logitsOf([0.1, 0.4, 0.2, 0.3]))).to.equal(1)
  })

  it('top-k ranks equal logits by id and sorts a large vocabulary', () => {
    const v = 5000
    const logits = new Float32Array(v)
    for (let i = 0; i < v; i++) logits[i] = Math.sin(i * 12.9898) * 3 // distinct, unordered
    const best = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a])[0]
    expect(new Sampler({...PLAIN, topK: 1, seed: 9}, v, 16).sample(logits)).to.equal(best)
    expect(new Sampler({...PLAIN, topK: 1, seed: 9}, 3, 16).sample(Float32Array.from([1, 2, 2]))).to.equal(1)
  })

  it('top-p keeps the smallest set reaching p, before temperature', () => {
    // cumulative 0.5, 0.8, 0.95, 1.0: p = 0.75 keeps tokens 0 and 1
    const probs = [0.5, 0.3, 0.15, 0.05]
    const f = frequencies(new Sampler({...PLAIN, topP: 0.75, seed: 4}, 4, 16), logitsOf(probs), 20000)
    expect(f[2] + f[3]).to.equal(0)
    expect(f[0]).to.be.closeTo(0.5 / 0.8, 0.015)
    // A high temperature flattens the survivors but cannot bring back the cut tokens.
    const g = frequencies(new Sampler({...PLAIN, topP: 0.75, temperature: 100, seed: 4}, 4, 16), logitsOf(probs), 4000)
    expect(g[2] + g[3]).to.equal(0)
  })

  it('min-p drops tokens below min_p times the top probability', () => {
    // threshold 0.2 * 0.5 = 0.1: token 3 (0.05) goes
    const f = frequencies(new Sampler({...PLAIN, minP: 0.2, seed: 5}, 4, 16), logitsOf([0.5, 0.3, 0.15, 0.05]), 20000)
    expect(f[3]).to.equal(0)
    expect(f[2]).to.be.closeTo(0.15 / 0.95, 0.015)
  })

  it('repeat penalty divides positive and multiplies negative logits of recent tokens', () => {
    const s = new Sampler({temperature: 0, repeatPenalty: 2, repeatLastN: 4}, 3, 16)
    s.accept(0)
    expect(s.sample(Float32Array.from([2, 1.9, -1]))).to.equal(1) // 2 / 2 = 1 < 1.9
    const t = new Sampler({temperature: 0, repeatPenalty: 2, repeatLastN: 4}, 3, 16)
    t.accept(0)
    expect(t.sample(Float32Array.from([-1, -1.5, -3]))).to.equal(1) // -1 * 2 = -2 < -1.5
    // a token repeated in the window is penalised once, not once per occurrence
    const u = new Sampler({temperature: 0, repeatPenalty: 2, repeatLastN: 4}, 3, 16)
    u.accept(0); u.accept(0)
    expect(u.sample(Float32Array.from([2, 0.9, -1]))).to.equal(0) // 2 / 2 = 1 > 0.9
  })

  it('looks only at the last repeat_last_n tokens', () => {
    const s = new Sampler({temperature: 0, repeatPenalty: 10, repeatLastN: 2}, 8, 16)
    s.accept(0); s.accept(5); s.accept(6) // 0 has left the window
    expect(s.sample(Float32Array.from([2, 1, 0, 0, 0, 3, 3, 0]))).to.equal(0)
    const off = new Sampler({temperature: 0, repeatPenalty: 10, repeatLastN: 0}, 2, 16)
    off.accept(0)
    expect(off.sample(Float32Array.from([2, 1]))).to.equal(0)
    const all = new Sampler({temperature: 0, repeatPenalty: 10, repeatLastN: -1}, 2, 4) // -1: the context size
    all.accept(0); all.accept(1); all.accept(1); all.accept(1)
    expect(all.sample(Float32Array.from([2, 1]))).to.equal(0) // 0 still in the window of 4: 0.2 vs 0.1
    all.accept(1)
    expect(all.sample(Float32Array.from([2, 1]))).to.equal(0) // 0 left: 2 vs 0.1
  })

  it('applies frequency and presence penalties by count', () => {
    const s = new Sampler({temperature: 0, frequencyPenalty: 0.5, presencePenalty: 0.25, repeatLastN: 8}, 3, 16)
    s.accept(0); s.accept(0); s.accept(1)
    // token 0: 3 - 2*0.5 - 0.25 = 1.75; token 1: 2.5 - 0.5 - 0.25 = 1.75 (tie: lower id); token 2: 1.7
    expect(s.sample(Float32Array.from([3, 2.5, 1.7]))).to.equal(0)
    expect(s.sample(Float32Array.from([3, 2.51, 1.7]))).to.equal(1)
    s.reset()
    expect(s.sample(Float32Array.from([3, 2.51, 1.7]))).to.equal(0)
  })

  it('uses llama.cpp defaults', () => {
    expect(DEFAULT_SAMPLING).to.include({temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: 1, repeatLastN: 64})
  })

  it('refuses out-of-range parameters naming them', () => {
    const bad: Array<Partial<SamplingParams>> = [{minP: 2}, {repeatPenalty: 0}, {repeatLastN: -2}, {topK: 1.5}, {seed: -1}, {temperature: Number.NaN}]
    for (const p of bad) {
      const name = Object.keys(p)[0]
      expect(() => resolveSampling(p)).to.throw(LlmfragError, name)
    }
    expect(resolveSampling({temperature: undefined}).temperature).to.equal(0.8)
  })
})
