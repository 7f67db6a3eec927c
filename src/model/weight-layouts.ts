/**
 * The in-place rearrangements of the weights that the fast kernels read (src/model/matmul-fast.ts):
 * the grouped layout of wide matrices (kernels/wasm/grouped.ts) and the lane order of Q4_K
 * (assembly/q4_k_lanes.ts). Both happen once, after loading, where the weights lie in the arena;
 * the WeakSets remember what was done, so a second FastMatmul over the same weights (bench's other
 * thread counts) finds it done. The token embedding is left alone: with a tied output its rows are
 * also looked up one by one by the reference dequantizer.
 */
import {GGMLType} from '../gguf/ggml-types.js'
import {groupRows, isGrouped, ROW_GROUP} from '../kernels/wasm/grouped.js'
import type {WasmKernelExports} from '../kernels/wasm/kernels-wasm.js'
import {LlmfragError} from '../errors.js'
import type {ModelWeights, WeightTensor} from './weights.js'

const inGroupedLayout = new WeakSet<WeightTensor>()
const inLaneOrder = new WeakSet<WeightTensor>()

/**
 * Puts the Q4_K / Q6_K matrices whose rows the kernels take in column chunks into the grouped
 * layout, once: from here on only the grouped kernels read them. Returns those matrices.
 */
export function groupWideMatrices(w: ModelWeights, mats: readonly WeightTensor[]): Set<WeightTensor> {
  const grouped = new Set<WeightTensor>()
  let scratch: Uint8Array | undefined
  for (const m of mats) {
    const nb = m.cols / 256
    if ((m.type !== GGMLType.Q4_K && m.type !== GGMLType.Q6_K) || m === w.tokenEmbd || !isGrouped(nb)) continue
    if (!inGroupedLayout.has(m)) {
      if (!scratch || scratch.length < ROW_GROUP * m.rowBytes) scratch = new Uint8Array(ROW_GROUP * m.rowBytes)
      groupRows(m.data, m.rows, nb, m.rowBytes / nb, scratch)
      inGroupedLayout.add(m)
    }
    grouped.add(m)
  }
  return grouped
}

/**
 * The Q4_K matrices of `mats` that have an order to keep: all but the token embedding. The base
 * build's kernels read them in lane order (its one-position kernel runs 22% faster on it), the
 * relaxed-SIMD kernels in file order; setLaneOrder puts them in either.
 */
export function q4kMatrices(w: ModelWeights, mats: readonly WeightTensor[]): Set<WeightTensor> {
  return new Set(mats.filter((m) => m.type === GGMLType.Q4_K && m !== w.tokenEmbd))
}

/**
 * Whether the Q4_K matrix m can go into lane order: every block's d and dmin is finite (the lane
 * kernels widen them in a way exact for finite halves only, assembly/q4_k_lanes.ts finiteHalves).
 * A matrix with an infinite or NaN scale, which llama.cpp multiplies through into inf / NaN sums,
 * stays in file order, where the kernels give those sums as the reference does.
 */
export function laneOrderable(m: WeightTensor): boolean {
  if (inLaneOrder.has(m)) return true
  const d = m.data
  for (let o = 0; o < d.length; o += 144) {
    if ((d[o + 1] & 0x7c) === 0x7c || (d[o + 3] & 0x7c) === 0x7c) return false // exponent bits of d, dmin all ones
  }
  return true
}

/**
 * Puts the Q4_K matrix m into lane order or file order, if it is not already, with k (an instance
 * over the memory m lies in). A FastMatmul calls this for all of them when it is made, and again
 * before each product, so that fast kernels of both builds made over the same weights (tests do)
 * each find the order they read; in use there is one kind per loaded model, and the second call
 * finds the order already right.
 */
export function setLaneOrder(m: WeightTensor, lanes: boolean, k: WasmKernelExports): void {
  if (inLaneOrder.has(m) === lanes) return
  if (lanes && !laneOrderable(m)) throw new LlmfragError('INTERNAL', `${m.name} has an infinite or NaN scale and cannot go into lane order`)
  k.q4k_lanes(m.slice.offset, (m.rows * m.rowBytes) / 144, !lanes)
  if (lanes) inLaneOrder.add(m)
  else inLaneOrder.delete(m)
}
