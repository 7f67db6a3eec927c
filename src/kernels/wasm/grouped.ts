/**
 * The grouped layout of a weight matrix (assembly/kernels.ts): Q4_K / Q6_K matrices whose rows are
 * wider than GROUP_MIN_BLOCKS blocks (ffn_down: 56 blocks in Mistral 7B, 128 in Magistral) are
 * rearranged once after loading so that the kernels can take them in short column chunks, each one
 * contiguous. Rows go in groups of ROW_GROUP (the last one may be smaller); a group holds its rows'
 * first column chunk, row after row, then their second, and so on, in the ROW_GROUP * rowBytes
 * bytes it had before. A chunk's Q8KX activations (16 blocks, 9 KB) stay in L1 beside the
 * streaming weights, and each sweep reads one contiguous run (on plain rows, column chunks leave
 * gaps that defeat the prefetchers). Measured (scripts/bench-kernels.mjs, one thread, one position,
 * Zen 5, one row at a time in groups of 64; the group size now is measured in assembly/grouped.ts):
 *   4096 x 14336: Q4_K 10.5 GB/s (bytes, one sweep of plain rows) -> 11.9-12.1 grouped; Q6_K 10.2 -> 11.2
 *   5120 x 32768: Q4_K 8.7 -> 11.4-11.9; Q6_K 6.8 (one sweep) or 4.0 (column chunks of plain rows) -> 11.1
 * Batches of 8 or 16 positions run within 3% of plain rows (assembly/grouped.ts).
 */

/** Rows per group (assembly/grouped.ts ROW_GROUP). */
export const ROW_GROUP = 256
/** Rows wider than this many blocks are grouped. */
export const GROUP_MIN_BLOCKS = 32
/** Column chunks of at most this many blocks, near-equal (assembly/grouped.ts GROUP_CHUNK_BLOCKS). */
export const CHUNK_BLOCKS = 16

/** The column chunks [start, count] of a grouped row of nb blocks (assembly/grouped.ts). */
export function columnChunks(nb: number): Array<[number, number]> {
  const sweeps = Math.ceil(nb / CHUNK_BLOCKS)
  const per = Math.ceil(nb / sweeps)
  const out: Array<[number, number]> = []
  for (let c0 = 0; c0 < nb; c0 += per) out.push([c0, Math.min(nb, c0 + per) - c0])
  return out
}

/** Whether a matrix with rows of nb blocks is kept in the grouped layout. */
export function isGrouped(nb: number): boolean {
  return nb > GROUP_MIN_BLOCKS
}

/**
 * Rearranges `m` (rows of nb blocks of blockBytes, plain) into the grouped layout, in place, a
 * group at a time through `scratch` (at least ROW_GROUP * nb * blockBytes bytes; made if absent).
 */
export function groupRows(m: Uint8Array, rows: number, nb: number, blockBytes: number, scratch?: Uint8Array): void {
  const rowBytes = nb * blockBytes
  const tmp = scratch ?? new Uint8Array(ROW_GROUP * rowBytes)
  const chunks = columnChunks(nb)
  for (let g0 = 0; g0 < rows; g0 += ROW_GROUP) {
    const g = Math.min(ROW_GROUP, rows - g0)
    const base = g0 * rowBytes
    tmp.set(m.subarray(base, base + g * rowBytes))
    let at = base
    for (const [c0, n] of chunks) {
      for (let r = 0; r < g; r++) {
        const from = r * rowBytes + c0 * blockBytes
        m.set(tmp.subarray(from, from + n * blockBytes), at)
        at += n * blockBytes
      }
    }
  }
}
