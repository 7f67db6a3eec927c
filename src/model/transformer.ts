/**
 * The llama-family forward pass (llama2.c's `forward`, batched): config, weights and run state
 * kept apart, every buffer preallocated in `RunState`, every matrix product through one MatmulFn.
 *
 *   x = embed(tokens)                                       (n, dim)
 *   per block: x += Wo · attention(rope(Wq·norm(x)), rope(Wk·norm(x)), Wv·norm(x))
 *              x += Wdown · (silu(Wgate·norm(x)) * Wup·norm(x))
 *   logits = Wout · norm(x)                                  (n or 1, vocab)
 */
import {LlmfragError} from '../errors.js'
import type {ModelConfig} from './config.js'
import type {Matmul} from './matmul.js'
import {addInPlace, rmsnorm, rope, ropeAngles} from './ops.js'
import type {RunState} from './state.js'
import type {ModelWeights} from './weights.js'

export class Transformer {
  constructor(
    readonly config: ModelConfig,
    readonly weights: ModelWeights,
    readonly state: RunState,
    /** Every matrix product (reference or fast, see matmul.ts); the model owns it and closes it. */
    readonly matmul: Matmul,
  ) {}

  /** Stops the matmul's worker threads (idempotent); the model must not be used after. */
  close(): Promise<void> {
    return this.matmul.close()
  }

  get ctx(): number {
    return this.state.ctx
  }

  get maxBatch(): number {
    return this.state.maxBatch
  }

  /**
   * Evaluates tokens[0..n) at positions pos..pos+n-1 (1 <= n <= maxBatch, causal), writing their
   * keys and values into cache slots pos..pos+n-1; slots 0..pos-1 must hold earlier positions.
   * Logits land in state.logits: (n, vocab) when allLogits, else row 0 holds the last position's.
   */
  forward(tokens: ArrayLike<number>, pos: number, allLogits = false): void {
    const c = this.config
    const s = this.state
    const w = this.weights
    const mm = this.matmul
    const n = tokens.length
    this.check(tokens, pos)
    const {dim, qDim, kvDim, kvDimV, kvHeads, headDim, headDimV, normEps} = c
    const ctx = s.ctx
    const half = c.ropeDims >>> 1

    for (let p = 0; p < n; p++) {
      const e = w.tokenEmbd
      e.kernel.dequantizeRow(e.data, tokens[p] * e.rowBytes, dim, s.x, p * dim)
      ropeAngles(pos + p, c.ropeBase, c.ropeDims, c.ropeScale, s.ropeCos, s.ropeSin, p * half)
    }

    for (let l = 0; l < c.layers; l++) {
      const L = w.layers[l]
      for (let p = 0; p < n; p++) rmsnorm(s.xb, p * dim, s.x, p * dim, L.attnNorm, dim, normEps)
      mm.run([L.wq, L.wk, L.wv], s.xb, [s.q, s.k, s.v], n)
      const keys = s.keyCache[l]
      const values = s.valueCache[l]
      for (let p = 0; p < n; p++) {
        rope(s.q, p * qDim, c.heads, c.headDim, c.ropeDims, s.ropeCos, s.ropeSin, p * half)
        rope(s.k, p * kvDim, c.kvHeads, c.headDim, c.ropeDims, s.ropeCos, s.ropeSin, p * half)
        for (let g = 0; g < kvHeads; g++) { // the cache is head-major (state.ts)
          const ko = (g * ctx + pos + p) * headDim, kb = p * kvDim + g * headDim
          for (let i = 0; i < headDim; i++) keys[ko + i] = s.k[kb + i]
          const vo = (g * ctx + pos + p) * headDimV, vb = p * kvDimV + g * headDimV
          for (let i = 0; i < headDimV; i++) values[vo + i] = s.v[vb + i]
        }
      }
      mm.attention(l, n, pos)
      mm.run([L.wo], s.attOut, [s.xb], n)
      addInPlace(s.x, s.xb, n * dim)

      for (let p = 0; p < n; p++) rmsnorm(s.xb, p * dim, s.x, p * dim, L.ffnNorm, dim, normEps)
      mm.glu(L.gate, L.up, s.xb, s.hb, s.hb2, n)
      mm.run([L.down], s.hb, [s.xb], n)
      addInPlace(s.x, s.xb, n * dim)
    }

    if (allLogits) {
      for (let p = 0; p < n; p++) rmsnorm(s.xb, p * dim, s.x, p * dim, w.outputNorm, dim, normEps)
      mm.run([w.output], s.xb, [s.logits], n)
    } else {
      rmsnorm(s.xb, 0, s.x, (n - 1) * dim, w.outputNorm, dim, normEps)
      mm.run([w.output], s.xb, [s.logits], 1)
    }
  }

  private check(tokens: ArrayLike<number>, pos: number): void {
    const n = tokens.length
    if (n < 1 || n > this.state.maxBatch) {
      throw new LlmfragError('INTERNAL', `forward got ${n} tokens; expected 1..${this.state.maxBatch} (the batch size)`)
    }
    if (!Number.isInteger(pos) || pos < 0) throw new LlmfragError('INTERNAL', `forward got position ${pos}`)
    if (pos + n > this.state.ctx) {
      throw new LlmfragError('CONTEXT_FULL', `context is full: positions ${pos}..${pos + n - 1} do not fit a context of ${this.state.ctx} tokens`, {
        hints: ['raise -c/--ctx-size (up to the model\'s context length), or shorten the prompt or -n'],
        details: {pos, n, ctx: this.state.ctx},
      })
    }
    const vocab = this.config.vocab
    for (let i = 0; i < n; i++) {
      const t = tokens[i]
      if (!Number.isInteger(t) || t < 0 || t >= vocab) {
        throw new LlmfragError('BAD_INPUT', `token id ${t} at prompt index ${i} is outside the vocabulary (0..${vocab - 1})`, {
          details: {token: t, index: i, vocab},
        })
      }
    }
  }
}
