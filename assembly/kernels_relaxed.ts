/**
 * The relaxed-SIMD build (dist/wasm/kernels-relaxed.wasm, `asc --enable relaxed-simd`): every export
 * of kernels.ts, the same memory contract, plus Q4_K and Q6_K against Q8KN activations on the
 * kernels of relaxed.ts. The engine loads it only with --relaxed-simd (src/kernels/wasm/relaxed.ts).
 *
 * The sweeps over rows for several positions repeat those of q4_k.ts q4k_matmul and grouped.ts
 * groupedPasses with the relaxed passes. One shared sweep choosing its kind of pass by flags was
 * tried twice (the choice in a helper the sweep inlined, and written in the sweep itself): the
 * builds took 1.5 minutes (base) and 6.5-10 (relaxed) instead of 17 and 26 seconds, with each
 * sweep calling its pass directly as here. Where asc / Binaryen spend that time was not pinned down.
 */
import {passStart, POS_PASS, Q8KB_BYTES} from './common'
import {groupChunkBlocks, groupedOne, ROW_GROUP} from './grouped'
import {q4kPassRN, q6kPassRN} from './relaxed'
import {rowsPair} from './rows_pair'

export * from './kernels'

/** nPos (2+) positions of plain Q4_K (Q6 false) or Q6_K rows on the relaxed passes, two passes per sweep. */
@inline function passesR(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize, Q6: bool): void {
  const nb = <usize>rowBytes / (Q6 ? 210 : 144)
  const rb = <usize>rowBytes
  const xs = nb * Q8KB_BYTES
  const os = <usize>rows << 2
  const passes = (nPos + POS_PASS - 1) / POS_PASS
  for (let k = 0; k < passes; k += 2) {
    const pA = passStart(nPos, passes, k), pB = passStart(nPos, passes, k + 1), pC = passStart(nPos, passes, k + 2)
    for (let r = 0; r < rows; r++) {
      const w = wPtr + <usize>r * rb
      const oA = outPtr + (<usize>(pA * rows + r) << 2), oB = outPtr + (<usize>(pB * rows + r) << 2)
      if (Q6) {
        q6kPassRN(w, nb, xPtr + <usize>pA * xs, xs, oA, os, pB - pA, false)
        if (pC > pB) q6kPassRN(w, nb, xPtr + <usize>pB * xs, xs, oB, os, pC - pB, false)
      } else {
        q4kPassRN(w, nb, xPtr + <usize>pA * xs, xs, oA, os, pB - pA, false)
        if (pC > pB) q4kPassRN(w, nb, xPtr + <usize>pB * xs, xs, oB, os, pC - pB, false)
      }
    }
  }
}

/** nPos (2+) positions of a grouped Q4_K (Q6 false) or Q6_K matrix on the relaxed passes (grouped.ts groupedPasses). */
@inline function groupedPassesR(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize, Q6: bool): void {
  const blockBytes: usize = Q6 ? 210 : 144
  const nb = <usize>rowBytes / blockBytes
  const xs = nb * Q8KB_BYTES
  const os = <usize>rows << 2
  const chunk = groupChunkBlocks(nb)
  const passes = (nPos + POS_PASS - 1) / POS_PASS
  for (let k = 0; k < passes; k += 2) {
    const pA = passStart(nPos, passes, k), pB = passStart(nPos, passes, k + 1), pC = passStart(nPos, passes, k + 2)
    for (let g0 = 0; g0 < rows; g0 += ROW_GROUP) {
      const g = <usize>min<i32>(ROW_GROUP, rows - g0)
      const base = wPtr + <usize>g0 * <usize>rowBytes
      for (let c0: usize = 0; c0 < nb; c0 += chunk) {
        const n = min<usize>(nb, c0 + chunk) - c0
        const x = xPtr + c0 * Q8KB_BYTES
        for (let lr: usize = 0; lr < g; lr++) {
          const w = base + (g * c0 + lr * n) * blockBytes
          const r = <usize>g0 + lr
          const oA = outPtr + ((<usize>pA * <usize>rows + r) << 2), oB = outPtr + ((<usize>pB * <usize>rows + r) << 2)
          if (Q6) {
            q6kPassRN(w, n, x + <usize>pA * xs, xs, oA, os, pB - pA, c0 > 0)
            if (pC > pB) q6kPassRN(w, n, x + <usize>pB * xs, xs, oB, os, pC - pB, c0 > 0)
          } else {
            q4kPassRN(w, n, x + <usize>pA * xs, xs, oA, os, pB - pA, c0 > 0)
            if (pC > pB) q4kPassRN(w, n, x + <usize>pB * xs, xs, oB, os, pC - pB, c0 > 0)
          }
        }
      }
    }
  }
}

/**
 * out[p * rows + r] = row r of the Q4_K matrix at wPtr . position p of the Q8KN activations at xPtr,
 * equal to vecDotQ4KQ8K bit for bit: one position two rows at a time (q4kBlockPairR), more in the
 * passes of q4kPassRN.
 */
export function q4k_matmul_r(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  if (nPos == 1) rowsPair(wPtr, <usize>rowBytes, rows, <usize>(rowBytes / 144), xPtr, outPtr, false, false, false, true, false)
  else passesR(wPtr, rowBytes, rows, xPtr, nPos, outPtr, false)
}

/** q4k_matmul_r for a grouped matrix (rows: whole groups, as q4k_matmul_g). */
export function q4k_matmul_r_g(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  if (nPos == 1) groupedOne(wPtr, rowBytes, rows, xPtr, outPtr, false, true, false)
  else groupedPassesR(wPtr, rowBytes, rows, xPtr, nPos, outPtr, false)
}

/** q6k_matmul against Q8KN activations on relaxed SIMD: one position two rows at a time (q6kBlockPairR), more in the passes of q6kPassRN. */
export function q6k_matmul_r(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  if (nPos == 1) rowsPair(wPtr, <usize>rowBytes, rows, <usize>(rowBytes / 210), xPtr, outPtr, false, true, false, true, false)
  else passesR(wPtr, rowBytes, rows, xPtr, nPos, outPtr, true)
}

/** q6k_matmul_r for a grouped matrix. */
export function q6k_matmul_r_g(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  if (nPos == 1) groupedOne(wPtr, rowBytes, rows, xPtr, outPtr, true, true, false)
  else groupedPassesR(wPtr, rowBytes, rows, xPtr, nPos, outPtr, true)
}
