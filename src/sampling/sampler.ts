/**
 * Token sampling in llama.cpp's default chain order (common/sampling.cpp): penalties -> top-k ->
 * top-p -> min-p -> temperature -> draw. Temperature comes last, so top-p and min-p see the
 * untempered distribution, as in llama.cpp. Temperature <= 0 is greedy: the argmax after the
 * penalties (ties go to the lowest id). Candidate buffers are allocated once per sampler.
 */
import {randomInt} from 'node:crypto'

import {LlmfragError} from '../errors.js'
import {resolveSampling, type SamplingParams} from './params.js'
import {Rng} from './rng.js'

export class Sampler {
  readonly params: SamplingParams
  /** The seed in use (drawn at random when params.seed is undefined). */
  readonly seed: number
  private readonly rng: Rng
  private readonly ids: Int32Array // (vocab) candidate token ids
  private readonly vals: Float64Array // (vocab) candidate logits, parallel to ids
  private readonly heapIds: Int32Array // (vocab) top-k selection heap
  private readonly heapVals: Float64Array // (vocab)
  private readonly window: Int32Array // (penalty window) ring of the last tokens accepted
  private windowLen = 0
  private windowAt = 0
  private readonly counts: Int32Array // (vocab) occurrences of each token in the window
  private readonly seen: Int32Array // (vocab) stamp of the last sample() that penalised a token
  private stamp = 0

  /** vocab: logits per position; ctx: the context size (the window when repeatLastN is -1). */
  constructor(params: Partial<SamplingParams>, readonly vocab: number, ctx: number) {
    this.params = resolveSampling(params)
    this.seed = this.params.seed ?? randomInt(0, 2 ** 32)
    this.rng = new Rng(this.seed)
    this.ids = new Int32Array(vocab)
    this.vals = new Float64Array(vocab)
    this.heapIds = new Int32Array(vocab)
    this.heapVals = new Float64Array(vocab)
    const n = this.params.repeatLastN === -1 ? ctx : this.params.repeatLastN
    this.window = new Int32Array(Math.max(0, n))
    this.counts = new Int32Array(vocab)
    this.seen = new Int32Array(vocab)
  }

  /** Records a token (prompt or generated) for the repetition penalties. */
  accept(token: number): void {
    const w = this.window
    if (w.length === 0) return
    if (token < 0 || token >= this.vocab) throw new LlmfragError('INTERNAL', `sampler accepted token ${token} outside 0..${this.vocab - 1}`)
    if (this.windowLen === w.length) this.counts[w[this.windowAt]]--
    else this.windowLen++
    w[this.windowAt] = token
    this.counts[token]++
    this.windowAt = (this.windowAt + 1) % w.length
  }

  /** Forgets the penalty window (a new conversation); the PRNG stream continues. */
  reset(): void {
    this.counts.fill(0)
    this.windowLen = 0
    this.windowAt = 0
  }

  /** Picks the next token from logits[offset .. offset + vocab). Does not accept it. */
  sample(logits: Float32Array, offset = 0): number {
    const {ids, vals, vocab} = this
    const p = this.params
    for (let i = 0; i < vocab; i++) {
      ids[i] = i
      vals[i] = logits[offset + i]
    }
    this.applyPenalties()
    if (p.temperature <= 0) return this.argmax()

    let n = vocab
    let sorted = false
    const k = p.topK > 0 ? Math.min(p.topK, n) : n
    if (k < n || p.topP < 1) {
      n = this.selectTop(k)
      sorted = true
    }
    if (p.topP < 1) n = this.topP(n, p.topP)
    if (p.minP > 0) n = this.minP(n, p.minP, sorted)
    return this.draw(n, p.temperature)
  }

  /** llama.cpp's penalties sampler over the window: repeat (divide/multiply), frequency, presence. */
  private applyPenalties(): void {
    const p = this.params
    if (this.windowLen === 0 || (p.repeatPenalty === 1 && p.frequencyPenalty === 0 && p.presencePenalty === 0)) return
    this.stamp++
    for (let j = 0; j < this.windowLen; j++) {
      const t = this.window[j]
      if (this.seen[t] === this.stamp) continue
      this.seen[t] = this.stamp
      const count = this.counts[t]
      let v = this.vals[t] // ids are still the identity here
      v = v <= 0 ? v * p.repeatPenalty : v / p.repeatPenalty
      v -= count * p.frequencyPenalty + (count > 0 ? p.presencePenalty : 0)
      this.vals[t] = v
    }
  }

  private argmax(): number {
    let best = 0
    for (let i = 1; i < this.vocab; i++) if (this.vals[i] > this.vals[best]) best = i
    return best
  }

  /**
   * Moves the k best candidates to ids/vals[0..k) in descending order (ties: lower id first),
   * with a size-k min-heap over all candidates: O(vocab log k).
   */
  private selectTop(k: number): number {
    const {ids, vals, heapIds: hi, heapVals: hv} = this
    const below = (a: number, b: number): boolean => hv[a] < hv[b] || (hv[a] === hv[b] && hi[a] > hi[b])
    const siftDown = (i: number, size: number): void => {
      for (;;) {
        const l = 2 * i + 1
        if (l >= size) return
        const m = l + 1 < size && below(l + 1, l) ? l + 1 : l
        if (!below(m, i)) return
        swap(hi, hv, i, m)
        i = m
      }
    }
    let size = 0
    for (let i = 0; i < this.vocab; i++) {
      if (size < k) {
        let c = size++
        hi[c] = ids[i]
        hv[c] = vals[i]
        while (c > 0) {
          const parent = (c - 1) >> 1
          if (!below(c, parent)) break
          swap(hi, hv, c, parent)
          c = parent
        }
      } else if (vals[i] > hv[0] || (vals[i] === hv[0] && ids[i] < hi[0])) {
        hi[0] = ids[i]
        hv[0] = vals[i]
        siftDown(0, size)
      }
    }
    // Pop the minimum to the back: the heap area ends up sorted descending.
    for (let end = size - 1; end > 0; end--) {
      swap(hi, hv, 0, end)
      siftDown(0, end)
    }
    for (let i = 0; i < size; i++) {
      ids[i] = hi[i]
      vals[i] = hv[i]
    }
    return size
  }

  /** Keeps the shortest prefix (of n sorted candidates) whose softmax mass reaches topP; at least one. */
  private topP(n: number, topP: number): number {
    const {vals} = this
    const max = vals[0]
    let sum = 0
    for (let i = 0; i < n; i++) sum += Math.exp(vals[i] - max)
    let cum = 0
    for (let i = 0; i < n; i++) {
      cum += Math.exp(vals[i] - max) / sum
      if (cum >= topP) return i + 1
    }
    return n
  }

  /** Keeps candidates with probability >= minP * the top probability (logit >= max + ln minP). */
  private minP(n: number, minP: number, sorted: boolean): number {
    const {ids, vals} = this
    let max = vals[0]
    if (!sorted) for (let i = 1; i < n; i++) if (vals[i] > max) max = vals[i]
    const threshold = max + Math.log(minP)
    let kept = 0
    for (let i = 0; i < n; i++) {
      if (vals[i] >= threshold) {
        ids[kept] = ids[i]
        vals[kept] = vals[i]
        kept++
      }
    }
    return Math.max(kept, 1)
  }

  /** Softmax of logits / temperature over n candidates, then one draw from the PRNG. */
  private draw(n: number, temperature: number): number {
    const {ids, vals} = this
    let max = -Infinity
    for (let i = 0; i < n; i++) if (vals[i] > max) max = vals[i]
    let sum = 0
    for (let i = 0; i < n; i++) {
      const e = Math.exp((vals[i] - max) / temperature)
      vals[i] = e
      sum += e
    }
    let u = this.rng.nextFloat() * sum
    for (let i = 0; i < n; i++) {
      u -= vals[i]
      if (u < 0) return ids[i]
    }
    return ids[n - 1]
  }
}

function swap(ids: Int32Array, vals: Float64Array, a: number, b: number): void {
  const ti = ids[a]
  ids[a] = ids[b]
  ids[b] = ti
  const tv = vals[a]
  vals[a] = vals[b]
  vals[b] = tv
}
