/**
 * The relaxed-SIMD build (dist/wasm/kernels-relaxed.wasm, `asc --enable relaxed-simd`): every export
 * of kernels.ts, the same memory contract, plus the kernels of relaxed.ts. The engine loads it only
 * with --relaxed-simd (src/kernels/wasm/relaxed.ts).
 */
import {groupedOne} from './grouped'
import {rowsPair} from './rows_pair'

export * from './kernels'

/** One position: out[r] = row r of the Q4_K matrix at wPtr . the Q8KN activations at xPtr, equal to vecDotQ4KQ8K bit for bit (as q4k_matvec_y). */
export function q4k_matvec_r(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  rowsPair(wPtr, <usize>rowBytes, rows, <usize>(rowBytes / 144), xPtr, outPtr, false, false, false, true)
}

/** q4k_matvec_r for a grouped matrix. */
export function q4k_matvec_r_g(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  groupedOne(wPtr, rowBytes, rows, xPtr, outPtr, false, true)
}
