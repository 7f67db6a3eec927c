/**
 * The in-place rearrangements of the weights that the fast kernels read (src/model/matmul-fast.ts):
 * the grouped layout of wide matrices (kernels/wasm/grouped.ts) and the lane order of Q4_K and
 * Q6_K (assembly/q4_k_lanes.ts, q6_k_lanes.ts). Both happen once, after loading, where the weights
 * lie in the arena; the WeakSets remember what was done, so a second FastMatmul over the same
 * weights (bench's other thread counts) finds it done. The token embedding is left alone: with a
 * tied output its rows are also looked up one by one by the reference dequantizer.
 */
import {GGMLType} from '../gguf/ggml-types.js'
import {Q4_K_BLOCK_BYTES} from '../kernels/q4_k.js'
import {Q6_K_BLOCK_BYTES} from '../kernels/q6_k.js'
import {groupRows, isGrouped, ROW_GROUP} from '../kernels/wasm/grouped.js'
import type {WasmKernelExports} from '../kernels/wasm/kernels-wasm.js'
import type {ModelWeights, WeightTensor} from './weights.js'

const inGroupedLayout = new WeakSet<WeightTensor>()
const inLaneOrder = new WeakSet<WeightTensor>()
const fileOrderOnly = new WeakSet<WeightTensor>() // Q4_K matrices with a non-finite scale (setLaneOrder)

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
 * The Q4_K and Q6_K matrices of `mats` that have an order to keep: all but the token embedding. The
 * base build's kernels read them in lane order (its one-position kernels run 22% (Q4_K) and 17%
 * (Q6_K) faster on it), the relaxed-SIMD kernels in file order; setLaneOrder puts them in either.
 */
export function laneOrderMatrices(w: ModelWeights, mats: readonly WeightTensor[]): Set<WeightTensor> {
  return new Set(mats.filter((m) => (m.type === GGMLType.Q4_K || m.type === GGMLType.Q6_K) && m !== w.tokenEmbd))
}

/**
 * Puts the Q4_K or Q6_K matrix m into lane order or file order, if it is not already, with k (an
 * instance over the memory m lies in); returns whether m is now in the order asked for. A Q4_K
 * matrix with an infinite or NaN d or dmin cannot go into lane order (the lane kernels widen them
 * exactly only when finite, assembly/q4_k_lanes.ts finiteHalves): it stays in file order, where
 * the kernels carry the inf into the products as the reference does, and false comes back. A
 * FastMatmul calls this for all of them when it is made, and again before each product, so that
 * fast kernels of both builds made over the same weights (tests do) each find the order they read;
 * in use there is one kind per loaded model, and the second call finds the order already right.
 */
export function setLaneOrder(m: WeightTensor, lanes: boolean, k: WasmKernelExports): boolean {
  if (inLaneOrder.has(m) === lanes) return true
  if (lanes && fileOrderOnly.has(m)) return false
  const bytes = m.rows * m.rowBytes
  if (m.type === GGMLType.Q6_K) k.q6k_lanes(m.slice.offset, bytes / Q6_K_BLOCK_BYTES, !lanes) // every Q6_K block goes both ways
  else if (k.q4k_lanes(m.slice.offset, bytes / Q4_K_BLOCK_BYTES, !lanes) >= 0) {
    fileOrderOnly.add(m)
    return false
  }
  if (lanes) inLaneOrder.add(m)
  else inLaneOrder.delete(m)
  return true
}

/** Whether m is in lane order now (for tests and diagnostics). */
export function isInLaneOrder(m: WeightTensor): boolean {
  return inLaneOrder.has(m)
}
