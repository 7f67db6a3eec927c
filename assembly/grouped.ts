/**
 * The kernels of the grouped layout (see kernels.ts), which the engine gives Q4_K / Q6_K matrices
 * with rows wider than 32 blocks (ffn_down; src/kernels/wasm/grouped.ts rearranges them): rows in
 * groups of ROW_GROUP, each group holding its rows' first column chunk (groupChunkBlocks), row
 * after row, then their second, and so on. A sweep over one chunk of a group is one contiguous
 * run, and the chunk's Q8KX activations stay in L1 beside it. Each row's sum is carried over from
 * chunk to chunk in the output, so the block order, and every result, stays the plain kernels'.
 */
import {FileOrder, LaneOrder, passStart, POS_PASS} from './common'
import {q4kPassN} from './q4_k'
import {q6kPassN} from './q6_k'
import {actBlockBytes, rowsPair} from './rows_pair'

/**
 * Rows per group (src/kernels/wasm/grouped.ts ROW_GROUP). With two rows at a time (half a group
 * apart), measured on Zen 4, one thread, one position, groups of 32 / 64 / 128 / 256 / 512 rows:
 * 4096 x 14336 Q4_K 8.8 / 9.4 / 9.8 / 10.2 / 10.1 GB/s, Q6_K 8.5 / 9.0-9.1 / 9.4 / 9.7 / 9.6;
 * 5120 x 32768 Q4_K 8.9 / 9.2-9.4 / 9.8 / 10.0 / 9.9, Q6_K 8.4 / 9.0 / 9.3 / 9.6 / 9.6; 16
 * positions within 3% of 64 or better. Chunks of 8 or 32 blocks ran slower than 16 at 64 and 256.
 */
export const ROW_GROUP: i32 = 256

/**
 * Most blocks in a column chunk; the chunks of a row are near-equal. Measured (Zen 5, one row at
 * a time, groups of 64), one thread, one position, chunks of at most 8 / 12 / 16 / 20 blocks: 4096 x 14336 Q4_K 12.1 / 12.1 / 11.9 / 12.0
 * GB/s, Q6_K 11.5 / 11.2 / 11.2 / 10.9 (plain rows on bytes in one sweep: 10.5 / 10.2); 5120 x
 * 32768 Q4_K 12.1 / 12.0 / 11.9 / 11.7, Q6_K 11.5 / 11.1 / 11.1 / 10.8 (plain rows: 8.7 / 6.8 on
 * bytes in one sweep; column chunks of plain rows, whose gaps defeat the prefetchers: Q6_K 4.0).
 * Batches of 8 or 16 positions run within 3% of plain rows at any of these. In the engine, 8 and
 * 16 were alike (Magistral decode step at 2 threads: 656-661 ms against 649-652). On the byte
 * path, chunks of 28 blocks ran Q4_K at 3.7-5.8 (28 x 144 bytes is just under 4 KiB, which looks
 * like 4K aliasing): measure any new width on its own.
 */
export const GROUP_CHUNK_BLOCKS: usize = 16

/** Blocks per column chunk of a grouped row of nb blocks (src/kernels/wasm/grouped.ts columnChunks). */
@inline export function groupChunkBlocks(nb: usize): usize {
  const sweeps = (nb + GROUP_CHUNK_BLOCKS - 1) / GROUP_CHUNK_BLOCKS
  return (nb + sweeps - 1) / sweeps
}

/**
 * One position of a grouped Q4_K matrix against Q8KY activations (Q6 false; with R on relaxed SIMD
 * against Q8KN; with L in lane order against Q8KLY), or of a Q6_K one against Q8KX, at x, results to
 * out, two rows at a time as the plain one-position kernels: each column chunk of a group is `g`
 * rows of n blocks, one after another.
 */
@inline export function groupedOne(wPtr: usize, rowBytes: i32, rows: i32, x: usize, out: usize, Q6: bool, R: bool, L: bool): void {
  const blockBytes: usize = Q6 ? 210 : 144
  const nb = <usize>rowBytes / blockBytes
  const chunk = groupChunkBlocks(nb)
  for (let g0 = 0; g0 < rows; g0 += ROW_GROUP) {
    const g = <usize>min<i32>(ROW_GROUP, rows - g0)
    const base = wPtr + <usize>g0 * <usize>rowBytes
    const o0 = out + (<usize>g0 << 2)
    for (let c0: usize = 0; c0 < nb; c0 += chunk) {
      const n = min<usize>(nb, c0 + chunk) - c0
      rowsPair(base + g * c0 * blockBytes, n * blockBytes, <i32>g, n, x + c0 * actBlockBytes(false, R), o0, c0 > 0, Q6, false, R, L)
    }
  }
}

/**
 * nPos positions of a grouped Q4_K (Q6 false; with O = LaneOrder in lane order against Q8KL) or Q6_K
 * matrix (with O = LaneOrder in lane order) against Q8KX activations, in the
 * passes of the plain kernels (common.ts POS_PASS, two per sweep), each pass over one column chunk
 * of one row, starting from the row's sums so far after the first chunk. (kernels_relaxed.ts has
 * the same sweep for the relaxed passes: one sweep choosing its pass by flags made the builds take
 * minutes; see there.)
 */
@inline function groupedPasses<O>(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize, Q6: bool): void {
  const blockBytes: usize = Q6 ? 210 : 144
  const nb = <usize>rowBytes / blockBytes
  const xs = nb * 576
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
        const x = xPtr + c0 * 576
        for (let lr: usize = 0; lr < g; lr++) {
          const w = base + (g * c0 + lr * n) * blockBytes
          const r = <usize>g0 + lr
          const oA = outPtr + ((<usize>pA * <usize>rows + r) << 2), oB = outPtr + ((<usize>pB * <usize>rows + r) << 2)
          if (Q6) {
            q6kPassN<O>(w, n, x + <usize>pA * xs, xs, oA, os, pB - pA, c0 > 0)
            if (pC > pB) q6kPassN<O>(w, n, x + <usize>pB * xs, xs, oB, os, pC - pB, c0 > 0)
          } else {
            q4kPassN<O>(w, n, x + <usize>pA * xs, xs, oA, os, pB - pA, c0 > 0)
            if (pC > pB) q4kPassN<O>(w, n, x + <usize>pB * xs, xs, oB, os, pC - pB, c0 > 0)
          }
        }
      }
    }
  }
}

/** q4k_matmul for a grouped matrix, rows a whole number of groups but for the matrix's last: equal to vecDotQ4KQ8K bit for bit. */
export function q4k_matmul_g(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  groupedPasses<FileOrder>(wPtr, rowBytes, rows, xPtr, nPos, outPtr, false)
}

/** q4k_matvec_y for a grouped matrix (one position, Q8KY activations). */
export function q4k_matvec_y_g(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  groupedOne(wPtr, rowBytes, rows, xPtr, outPtr, false, false, false)
}

/** q6k_matmul for a grouped matrix (as q4k_matmul_g; one position block by block, as in q6k_matmul). */
export function q6k_matmul_g(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  if (nPos == 1) groupedOne(wPtr, rowBytes, rows, xPtr, outPtr, true, false, false)
  else groupedPasses<FileOrder>(wPtr, rowBytes, rows, xPtr, nPos, outPtr, true)
}

/** q4k_matmul_g for a matrix in lane order against Q8KL activations (q4_k_lanes.ts). */
export function q4k_matmul_l_g(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  groupedPasses<LaneOrder>(wPtr, rowBytes, rows, xPtr, nPos, outPtr, false)
}

/** q4k_matvec_y_g for a matrix in lane order (one position, Q8KLY activations). */
export function q4k_matvec_l_g(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  groupedOne(wPtr, rowBytes, rows, xPtr, outPtr, false, false, true)
}

/** q6k_matmul_g for a matrix in lane order (q6_k_lanes.ts), Q8KX activations, any number of positions. */
export function q6k_matmul_l_g(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  if (nPos == 1) groupedOne(wPtr, rowBytes, rows, xPtr, outPtr, true, false, true)
  else groupedPasses<LaneOrder>(wPtr, rowBytes, rows, xPtr, nPos, outPtr, true)
}
