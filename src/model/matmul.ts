/**
 * Every matrix product of the forward pass goes through one `Matmul` (and so does the attention,
 * the other part worth splitting over threads):
 *   outs[j][p * w.rows + r] = sum_i W_j[r, i] * x[p * w.cols + i]   for p < nRows, r < W_j.rows
 * x: (nRows, cols) float32, outs[j]: (nRows, ws[j].rows) float32. nRows is 1 when decoding and the
 * number of prompt positions in a batch. Several matrices that read the same input (Q, K and V;
 * gate and up) come in one call, so the fast path prepares (quantizes) that input once and runs
 * all of them as one job on the thread pool.
 *
 * Two implementations: the reference (this file: scalar kernels, float activations, one thread,
 * what --safe-mode runs) and the fast one (matmul-fast.ts: WebAssembly SIMD with 8-bit
 * activations, split by rows over a worker pool).
 */
import {attention} from './attention.js'
import {swiglu} from './ops.js'
import type {RunState} from './state.js'
import type {WeightTensor} from './weights.js'

/** What runs a model's products, in bench's JSON vocabulary: the base SIMD kernels, the relaxed-SIMD ones, or the scalar reference. */
export type KernelsInUse = 'fast' | 'relaxed' | 'reference'

/** How `run` and `bench` name each for people. */
export const KERNEL_LABELS: Readonly<Record<KernelsInUse, string>> = {
  fast: 'WebAssembly SIMD (base build)',
  relaxed: 'WebAssembly relaxed SIMD (Q4_K and Q6_K on a byte dot product)',
  reference: 'scalar reference (--safe-mode)',
}

export interface Matmul {
  /** The kernels behind this Matmul. */
  readonly kernels: KernelsInUse
  /** Compute threads, the calling thread included. */
  readonly threads: number
  run(ws: readonly WeightTensor[], x: Float32Array, outs: readonly Float32Array[], nRows: number): void
  /**
   * The gated FFN's first half: out = swiglu(x gate^T, x up^T) for nRows positions; `upOut` (the
   * size of out) may be used as scratch.
   */
  glu(gate: WeightTensor, up: WeightTensor, x: Float32Array, out: Float32Array, upOut: Float32Array, nRows: number): void
  /** A layer's attention for batch positions 0..n-1 at pos0.. (src/model/attention.ts), on the same threads. */
  attention(layer: number, n: number, pos0: number): void
  /** Stops worker threads, if any (idempotent). */
  close(): Promise<void>
}

/**
 * Rows [r0, r1) of one product with the reference kernels. One position: the kernel's dot per row.
 * Several: each weight row is dequantized once into `scratch` (w.cols floats) and dotted with
 * every position (the matrix-matrix form, so the dequantization cost is shared by the batch).
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

/** The reference Matmul over a run state (its scratch row, for the widest matrix input, is allocated once). */
export function referenceMatmul(state: RunState): Matmul {
  const c = state.config
  const scratch = new Float32Array(Math.max(c.dim, c.ffnHidden, c.attnOutDim)) // one dequantized weight row
  return {
    kernels: 'reference',
    threads: 1,
    run(ws, x, outs, nRows) {
      ws.forEach((w, j) => matmulRows(w, x, outs[j], nRows, 0, w.rows, scratch))
    },
    glu(gate, up, x, out, upOut, nRows) {
      this.run([gate, up], x, [out, upOut], nRows)
      swiglu(out, upOut, nRows * gate.rows)
    },
    attention: (layer, n, pos0) => attention(c, state, layer, n, pos0),
    close: async () => {},
  }
}
