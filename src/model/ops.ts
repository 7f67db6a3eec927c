/**
 * The element-wise and per-vector operations of the llama block, on float32 vectors addressed by
 * (array, offset) so they run on one row of a batch buffer without making subarray views. Sums
 * are accumulated in float64 (JS numbers); results are stored as float32.
 */

/**
 * RMSNorm (Zhang & Sennrich 2019, as llama.cpp's ggml_rms_norm then a multiply by the weight):
 * out[i] = x[i] / sqrt(mean(x^2) + eps) * w[i], for i < n. `out` may be `x`.
 */
export function rmsnorm(out: Float32Array, outOff: number, x: Float32Array, xOff: number, w: Float32Array, n: number, eps: number): void {
  let ss = 0
  for (let i = 0; i < n; i++) {
    const v = x[xOff + i]
    ss += v * v
  }
  const scale = 1 / Math.sqrt(ss / n + eps)
  for (let i = 0; i < n; i++) out[outOff + i] = x[xOff + i] * scale * w[i]
}

/**
 * Rotation angles of one position for RoPE (Su et al. 2021) in llama.cpp's llama layout:
 * theta_i = (pos / scale) * base^(-2i/ropeDims) for i < ropeDims/2, written as float64 cos/sin at
 * cos[off + i], sin[off + i] (computed in float64; llama.cpp uses float32, the exact reference float64).
 */
export function ropeAngles(pos: number, base: number, ropeDims: number, scale: number, cos: Float64Array, sin: Float64Array, off: number): void {
  const p = pos / scale
  const half = ropeDims >>> 1
  for (let i = 0; i < half; i++) {
    const theta = p * Math.pow(base, (-2 * i) / ropeDims)
    cos[off + i] = Math.cos(theta)
    sin[off + i] = Math.sin(theta)
  }
}

/**
 * Applies RoPE to `nHeads` heads of `headDim` values starting at v[off]: the non-NeoX layout,
 * which rotates adjacent pairs (x[2i], x[2i+1]) of the first `ropeDims` dims of each head by
 * theta_i (angles at cos/sin[csOff + i], from ropeAngles) and leaves the rest unchanged. (NeoX
 * would pair x[i] with x[i + ropeDims/2].)
 */
export function rope(v: Float32Array, off: number, nHeads: number, headDim: number, ropeDims: number, cos: Float64Array, sin: Float64Array, csOff: number): void {
  const half = ropeDims >>> 1
  for (let h = 0; h < nHeads; h++) {
    const base = off + h * headDim
    for (let i = 0; i < half; i++) {
      const j = base + 2 * i
      const x0 = v[j]
      const x1 = v[j + 1]
      const c = cos[csOff + i]
      const s = sin[csOff + i]
      v[j] = x0 * c - x1 * s
      v[j + 1] = x0 * s + x1 * c
    }
  }
}

/** In-place softmax of v[off .. off+n), max-subtracted for stability. */
export function softmax(v: Float32Array | Float64Array, off: number, n: number): void {
  let max = -Infinity
  for (let i = 0; i < n; i++) if (v[off + i] > max) max = v[off + i]
  let sum = 0
  for (let i = 0; i < n; i++) {
    const e = Math.exp(v[off + i] - max)
    v[off + i] = e
    sum += e
  }
  const inv = 1 / sum
  for (let i = 0; i < n; i++) v[off + i] *= inv
}

/** 2^k for k = -1024 .. 1023, at k + 1024 (expNeg's scale). */
const POW2 = Float64Array.from({length: 2048}, (_, i) => 2 ** (i - 1024))

/**
 * e^-g in float64, within 3e-10 relative of Math.exp (whose result it replaces in swiglu: nearly twice as
 * fast, 134 -> 74 µs for 14336 values; as float32 the silu differs from Math.exp's in the last bit
 * for about 0.5% of values): -g = k ln2 + r with |r| <= ln2/2, e^r by its Taylor series to r^8.
 * |g| is clamped to 700 (e^700 is near the float64 limit and far past where silu is g or 0 in
 * float32); NaN stays NaN.
 */
function expNeg(g: number): number {
  const x = g > 700 ? -700 : g < -700 ? 700 : -g
  const k = Math.round(x * Math.LOG2E)
  const r = x - k * Math.LN2
  const p = 1 + r * (1 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r * (1 / 5040 + r * (1 / 40320))))))))
  return p * POW2[k + 1024]
}

/**
 * SwiGLU (Shazeer 2020): gate[gateAt + i] = silu(gate[gateAt + i]) * up[upAt + i] for i < n,
 * silu(g) = g / (1 + e^-g).
 */
export function swiglu(gate: Float32Array, up: Float32Array, n: number, gateAt = 0, upAt = 0): void {
  for (let i = 0; i < n; i++) {
    const g = gate[gateAt + i]
    gate[gateAt + i] = (g / (1 + expNeg(g))) * up[upAt + i]
  }
}

/** Residual connection: x[i] += y[i] for i < n. */
export function addInPlace(x: Float32Array, y: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) x[i] += y[i]
}
