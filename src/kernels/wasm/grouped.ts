/**
 * The grouped layout of a weight matrix (assembly/kernels.ts): Q4_K / Q6_K matrices whose rows are
 * wider than GROUP_MIN_BLOCKS blocks (Magistral's ffn_down: 128) are rearranged once after loading
 * so that the kernels' column chunks are contiguous. Rows go in groups of ROW_GROUP (the last one
 * may be smaller); a group holds its rows' first column chunk, row after row, then their second,
 * and so on, in the ROW_GROUP * rowBytes bytes it had before. One sweep of the kernels then reads
 * one contiguous run where plain rows read a piece of every row with gaps between them. Measured
 * (scripts/bench-kernels.mjs, one thread, 5120 x 32768, one position, byte activations, chunks
 * of 64 blocks): Q6_K 6.75 GB/s in one sweep of plain rows, 4.0 in column chunks of plain rows,
 * 7.81 grouped by 16 rows, 8.03 by 64, 7.93 by 256; Q4_K 8.60 in column chunks of plain rows,
 * 8.23 / 8.63 / 8.59 grouped. With chunks of 32 blocks, grouped by 64: Q6_K 9.5-9.6, Q4_K 9.8-10.1.
 * Batches of 8 positions run as fast as on plain rows.
 */

/** Rows per group (assembly/common.ts ROW_GROUP). */
export const ROW_GROUP = 64
/** Rows wider than this many blocks go in column chunks (assembly/common.ts BYTE_SWEEP_BLOCKS)... */
export const GROUP_MIN_BLOCKS = 64
/** ... of at most this many blocks, near-equal (assembly/common.ts BYTE_CHUNK_BLOCKS, sweepBlocks). */
export const CHUNK_BLOCKS = 32

/** The column chunks [start, count] of a row of nb blocks (assembly/common.ts sweepBlocks). */
export function columnChunks(nb: number): Array<[number, number]> {
  if (nb <= GROUP_MIN_BLOCKS) return [[0, nb]]
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
