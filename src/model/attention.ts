/**
 * Causal grouped-query attention over the KV cache (Ainslie et al. 2023, as llama.cpp applies it):
 * query head h reads kv head floor(h / (heads / kvHeads)) -- consecutive query heads share a kv
 * head, NOT h % kvHeads. Position pos attends to cache slots 0..pos, which the caller has filled.
 *
 *   q:      (n, qDim)         rows of the batch, already rotated
 *   cache:  keyCache[layer] (ctx, kvDim), valueCache[layer] (ctx, kvDimV)
 *   out:    (n, attnOutDim)   head h's result at columns h*headDimV ..
 */
import type {ModelConfig} from './config.js'
import {softmax} from './ops.js'
import type {RunState} from './state.js'

export function attention(c: ModelConfig, s: RunState, layer: number, n: number, pos0: number): void {
  const {heads, headDim, headDimV, kvDim, kvDimV, qDim, attnOutDim} = c
  const group = heads / c.kvHeads // query heads per kv head
  const scale = 1 / Math.sqrt(headDim)
  const keys = s.keyCache[layer]
  const values = s.valueCache[layer]
  const {q, att, attAcc, attOut} = s
  for (let p = 0; p < n; p++) {
    const len = pos0 + p + 1 // causal: slots 0..pos
    for (let h = 0; h < heads; h++) {
      const kvh = Math.floor(h / group)
      const qo = p * qDim + h * headDim
      for (let t = 0; t < len; t++) {
        const ko = t * kvDim + kvh * headDim
        let dot = 0
        for (let i = 0; i < headDim; i++) dot += q[qo + i] * keys[ko + i]
        att[t] = dot * scale
      }
      softmax(att, 0, len)
      attAcc.fill(0)
      for (let t = 0; t < len; t++) {
        const a = att[t]
        const vo = t * kvDimV + kvh * headDimV
        for (let i = 0; i < headDimV; i++) attAcc[i] += a * values[vo + i]
      }
      const oo = p * attnOutDim + h * headDimV
      for (let i = 0; i < headDimV; i++) attOut[oo + i] = attAcc[i]
    }
  }
}
