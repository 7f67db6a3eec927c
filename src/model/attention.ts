/**
 * Causal grouped-query attention over the KV cache (Ainslie et al. 2023, as llama.cpp applies it):
 * query head h reads kv head floor(h / (heads / kvHeads)) -- consecutive query heads share a kv
 * head, NOT h % kvHeads. Position pos attends to cache slots 0..pos, which the caller has filled.
 *
 *   q:      (n, qDim)         rows of the batch, already rotated
 *   cache:  keys (kvHeads, ctx, headDim), values (kvHeads, ctx, headDimV) of one layer (state.ts)
 *   out:    (n, attnOutDim)   head h's result at columns h*headDimV ..
 *
 * The unit of work is one position and one kv head with its group of query heads (`attendGroup`),
 * so the compute pool can split a layer's attention over threads (src/parallel) with the same code
 * and the same result, bit for bit, as `attention` here on one thread.
 */
import type {ModelConfig} from './config.js'
import {softmax} from './ops.js'
import type {RunState} from './state.js'

/** The widths attention needs (a subset of ModelConfig, plain numbers so they cross to workers). */
export interface AttentionDims {
  readonly heads: number
  readonly kvHeads: number
  readonly headDim: number
  readonly headDimV: number
}

/**
 * Batch position p (absolute position pos0 + p), kv head g: every query head of its group.
 * q and out are addressed from qOff / outOff (float offsets of the batch's row 0); `att` holds at
 * least pos0 + p + 1 scores, `acc` headDimV sums (both float64 scratch of the calling thread).
 */
export function attendGroup(d: AttentionDims, q: Float32Array, qOff: number, keys: Float32Array, values: Float32Array,
  out: Float32Array, outOff: number, p: number, pos0: number, g: number, att: Float64Array, acc: Float64Array): void {
  const {heads, kvHeads, headDim, headDimV} = d
  const group = heads / kvHeads
  const qDim = heads * headDim, outDim = heads * headDimV
  const ctx = keys.length / (kvHeads * headDim)
  const kBase = g * ctx * headDim, vBase = g * ctx * headDimV // kv head g's slots, one after another
  const scale = 1 / Math.sqrt(headDim)
  const len = pos0 + p + 1 // causal: slots 0..pos
  const body = headDim & ~1
  for (let h = g * group; h < (g + 1) * group; h++) {
    const qo = qOff + p * qDim + h * headDim
    let t = 0
    // Two positions per pass: each q value loaded once for two keys, four independent sums.
    for (; t + 1 < len; t += 2) {
      const k0 = kBase + t * headDim, k1 = k0 + headDim
      let a0 = 0, a1 = 0, b0 = 0, b1 = 0
      let i = 0
      for (; i < body; i += 2) {
        const x0 = q[qo + i], x1 = q[qo + i + 1]
        a0 += x0 * keys[k0 + i]
        a1 += x1 * keys[k0 + i + 1]
        b0 += x0 * keys[k1 + i]
        b1 += x1 * keys[k1 + i + 1]
      }
      for (; i < headDim; i++) {
        a0 += q[qo + i] * keys[k0 + i]
        b0 += q[qo + i] * keys[k1 + i]
      }
      att[t] = (a0 + a1) * scale
      att[t + 1] = (b0 + b1) * scale
    }
    for (; t < len; t++) {
      const ko = kBase + t * headDim
      let s0 = 0, s1 = 0
      let i = 0
      for (; i < body; i += 2) {
        s0 += q[qo + i] * keys[ko + i]
        s1 += q[qo + i + 1] * keys[ko + i + 1]
      }
      for (; i < headDim; i++) s0 += q[qo + i] * keys[ko + i]
      att[t] = (s0 + s1) * scale
    }
    softmax(att, 0, len)
    acc.fill(0, 0, headDimV)
    // Four positions per pass over acc: a quarter of the loads and stores of acc.
    for (t = 0; t + 3 < len; t += 4) {
      const a0 = att[t], a1 = att[t + 1], a2 = att[t + 2], a3 = att[t + 3]
      const v0 = vBase + t * headDimV, v1 = v0 + headDimV, v2 = v1 + headDimV, v3 = v2 + headDimV
      for (let i = 0; i < headDimV; i++) acc[i] += a0 * values[v0 + i] + a1 * values[v1 + i] + (a2 * values[v2 + i] + a3 * values[v3 + i])
    }
    for (; t < len; t++) {
      const a = att[t]
      const vo = vBase + t * headDimV
      for (let i = 0; i < headDimV; i++) acc[i] += a * values[vo + i]
    }
    const oo = outOff + p * outDim + h * headDimV
    for (let i = 0; i < headDimV; i++) out[oo + i] = acc[i]
  }
}

/** Attention of `layer` for batch positions 0..n-1 (absolute pos0..pos0+n-1), on the calling thread. */
export function attention(c: ModelConfig, s: RunState, layer: number, n: number, pos0: number): void {
  const keys = s.keyCache[layer]
  const values = s.valueCache[layer]
  for (let p = 0; p < n; p++) {
    for (let g = 0; g < c.kvHeads; g++) attendGroup(c, s.q, 0, keys, values, s.attOut, 0, p, pos0, g, s.att, s.attAcc)
  }
}
