/**
 * The relaxed-SIMD build (dist/wasm/kernels-relaxed.wasm, `asc --enable relaxed-simd`): every export
 * of kernels.ts, the same memory contract, plus Q4_K against Q8KN activations on the kernels of
 * relaxed.ts. The engine loads it only with --relaxed-simd (src/kernels/wasm/relaxed.ts).
 */
import {groupedOne, groupedPasses} from './grouped'
import {rowsPair, rowsPasses} from './rows_pair'

export * from './kernels'

/**
 * out[p * rows + r] = row r of the Q4_K matrix at wPtr . position p of the Q8KN activations at xPtr,
 * equal to vecDotQ4KQ8K bit for bit: one position two rows at a time (q4kBlockPairR), more in the
 * passes of q4kPassRN.
 */
export function q4k_matmul_r(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  if (nPos == 1) rowsPair(wPtr, <usize>rowBytes, rows, <usize>(rowBytes / 144), xPtr, outPtr, false, false, false, true)
  else rowsPasses(wPtr, rowBytes, rows, xPtr, nPos, outPtr, false, true)
}

/** q4k_matmul_r for a grouped matrix (rows: whole groups, as q4k_matmul_g). */
export function q4k_matmul_r_g(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  if (nPos == 1) groupedOne(wPtr, rowBytes, rows, xPtr, outPtr, false, true)
  else groupedPasses(wPtr, rowBytes, rows, xPtr, nPos, outPtr, false, true)
}
