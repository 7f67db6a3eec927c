/**
 * Every matrix product of the forward pass goes through one `MatmulFn`:
 *   out[p * w.rows + r] = sum_i W[r, i] * x[p * w.cols + i]   for p < nRows, r < w.rows
 * x: (nRows, w.cols) float32, out: (nRows, w.rows) float32. nRows is 1 when decoding and the
 * number of prompt positions in a batch.
 *
 * `matmulRows` is the loop over one range of weight rows, the unit of work a worker pool splits a
 * product into; `createMatmul` runs it over all rows on the calling thread. A pool or WebAssembly
 * kernel only has to provide another `MatmulFn`.
 */
import type {WeightTensor} from './weights.js'

export type MatmulFn = (w: WeightTensor, x: Float32Array, out: Float32Array, nRows: number) => void

/**
 * Rows [r0, r1) of the product. One position: the kernel's quantized dot per row. Several: each
 * weight row is dequantized once into `scratch` (w.cols floats) and dotted with every position
 * (the matrix-matrix form, so the dequantization cost is shared by the batch).
 */
export function matmulRows(w: WeightTensor, x: Float32Array, out: Float32Array, nRows: number, r0: number, r1: number, scratch: Float32Array): void {
  const {cols, rows, rowBytes, data, kernel} = w
  if (nRows === 1) {
    for (let r = r0; r < r1; r++) out[r] = kernel.dotRow(data, r * rowBytes, cols, x, 0)
    return
  }
  for (let r = r0; r < r1; r++) {
    kernel.dequantizeRow(data, r * rowBytes, cols, scratch, 0)
    let p = 0
    // Four positions per pass: each dequantized weight is loaded once for four products.
    for (; p + 3 < nRows; p += 4) {
      const x0 = p * cols, x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0
      for (let i = 0; i < cols; i++) {
        const w = scratch[i]
        s0 += w * x[x0 + i]
        s1 += w * x[x1 + i]
        s2 += w * x[x2 + i]
        s3 += w * x[x3 + i]
      }
      out[p * rows + r] = s0
      out[(p + 1) * rows + r] = s1
      out[(p + 2) * rows + r] = s2
      out[(p + 3) * rows + r] = s3
    }
    for (; p < nRows; p++) {
      const xo = p * cols
      let s = 0
      for (let i = 0; i < cols; i++) s += scratch[i] * x[xo + i]
      out[p * rows + r] = s
    }
  }
}

/** A single-threaded MatmulFn for matrices up to maxCols wide (its scratch row is allocated once). */
export function createMatmul(maxCols: number): MatmulFn {
  const scratch = new Float32Array(maxCols) // (maxCols): one dequantized weight row
  return (w, x, out, nRows) => matmulRows(w, x, out, nRows, 0, w.rows, scratch)
}
