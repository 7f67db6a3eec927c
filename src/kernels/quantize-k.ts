/**
 * Reference quantizers for Q4_K, Q5_K and Q6_K, following ggml-quants.c's quantize_row_q4_K_ref,
 * quantize_row_q5_K_ref and quantize_row_q6_K_ref (no importance weights). They build test blocks
 * and synthetic weights; intermediate maths is JS double, so a block may differ from ggml's in
 * rare rounding ties, never in layout.
 */
import {f32ToFp16, FP16_TABLE} from './fp16.js'
import {checkBlocks, getScaleMinK4, packScaleMinK4, QK_K} from './k-common.js'
import {nearestInt} from './q8_k.js'
import {Q4_K_BLOCK_BYTES} from './q4_k.js'
import {Q5_K_BLOCK_BYTES} from './q5_k.js'
import {Q6_K_BLOCK_BYTES} from './q6_k.js'

const GROUP_MAX_EPS = 1e-15
const f = Math.fround

/**
 * ggml's make_qkx2_quants: levels L in 0..nmax and (scale, min) minimising the weighted squared
 * error of x ~ scale * L - min over a small search of scales. Returns [scale, min] (min >= 0).
 */
function makeQkx2Quants(x: Float32Array, w: Float32Array, nmax: number, L: Uint8Array,
  rmin: number, rdelta: number, nstep: number): [number, number] {
  const n = x.length
  let min = x[0], max = x[0], sumW = w[0], sumX = w[0] * x[0]
  for (let i = 1; i < n; i++) {
    if (x[i] < min) min = x[i]
    if (x[i] > max) max = x[i]
    sumW += w[i]; sumX += w[i] * x[i]
  }
  if (min > 0) min = 0
  if (max === min) {
    L.fill(0)
    return [0, -min]
  }
  let iscale = f(nmax / (max - min))
  let scale = f(1 / iscale)
  let bestError = 0
  for (let i = 0; i < n; i++) {
    L[i] = Math.max(0, Math.min(nmax, nearestInt(f(iscale * (x[i] - min)))))
    const diff = scale * L[i] + min - x[i]
    bestError += w[i] * diff * diff
  }
  const aux = new Uint8Array(n)
  for (let is = 0; is <= nstep; is++) {
    iscale = f((rmin + rdelta * is + nmax) / (max - min))
    let sumL = 0, sumL2 = 0, sumXL = 0
    for (let i = 0; i < n; i++) {
      const l = Math.max(0, Math.min(nmax, nearestInt(f(iscale * (x[i] - min)))))
      aux[i] = l
      sumL += w[i] * l; sumL2 += w[i] * l * l; sumXL += w[i] * l * x[i]
    }
    const D = sumW * sumL2 - sumL * sumL
    if (D <= 0) continue
    let thisScale = (sumW * sumXL - sumX * sumL) / D
    let thisMin = (sumL2 * sumX - sumL * sumXL) / D
    if (thisMin > 0) {
      thisMin = 0
      thisScale = sumXL / sumL2
    }
    let err = 0
    for (let i = 0; i < n; i++) {
      const diff = thisScale * aux[i] + thisMin - x[i]
      err += w[i] * diff * diff
    }
    if (err < bestError) {
      L.set(aux)
      bestError = err; scale = thisScale; min = thisMin
    }
  }
  return [f(scale), f(-min)]
}

/**
 * Shared body of the Q4_K / Q5_K quantizers: per sub-block of 32 a (scale, min) from
 * makeQkx2Quants, both quantized to 6 bits against the block's largest; then the levels are
 * recomputed against the stored scales. Returns the 256 levels; writes d, dmin, scales[12] at b.
 */
function quantizeScalesMinsK(x: Float32Array, xb: number, nmax: number, rmin: number, nstep: number,
  out: Uint8Array, b: number, L: Uint8Array): void {
  const scales = new Float32Array(8), mins = new Float32Array(8)
  const w = new Float32Array(32)
  let maxScale = 0, maxMin = 0
  for (let j = 0; j < 8; j++) {
    const xs = x.subarray(xb + 32 * j, xb + 32 * j + 32)
    let sumX2 = 0
    for (let l = 0; l < 32; l++) sumX2 += xs[l] * xs[l]
    const avX = Math.sqrt(sumX2 / 32)
    for (let l = 0; l < 32; l++) w[l] = avX + Math.abs(xs[l])
    ;[scales[j], mins[j]] = makeQkx2Quants(xs, w, nmax, L.subarray(32 * j, 32 * j + 32), rmin, 0.1, nstep)
    maxScale = Math.max(maxScale, scales[j])
    maxMin = Math.max(maxMin, mins[j])
  }
  const invScale = maxScale > 0 ? f(63 / maxScale) : 0
  const invMin = maxMin > 0 ? f(63 / maxMin) : 0
  const ls = new Uint8Array(8), lm = new Uint8Array(8)
  for (let j = 0; j < 8; j++) {
    ls[j] = Math.min(63, nearestInt(f(invScale * scales[j])))
    lm[j] = Math.min(63, nearestInt(f(invMin * mins[j])))
  }
  const hd = f32ToFp16(maxScale / 63), hm = f32ToFp16(maxMin / 63)
  out[b] = hd & 0xff; out[b + 1] = hd >> 8; out[b + 2] = hm & 0xff; out[b + 3] = hm >> 8
  packScaleMinK4(ls, lm, out, b + 4)
  for (let j = 0; j < 8; j++) {
    const sm = getScaleMinK4(j, out, b + 4)
    const d = f(FP16_TABLE[hd] * (sm & 0xff))
    if (!d) continue
    const dm = f(FP16_TABLE[hm] * (sm >> 8))
    for (let l = 0; l < 32; l++) {
      L[32 * j + l] = Math.max(0, Math.min(nmax, nearestInt(f(f(x[xb + 32 * j + l] + dm) / d))))
    }
  }
}

/** As quantize_row_q4_K_ref: n values of x (a multiple of 256) to Q4_K blocks at out[outOffset ..]. */
export function quantizeRowQ4K(x: Float32Array, xOffset: number, n: number, out: Uint8Array, outOffset: number): void {
  const nb = checkBlocks('Q4_K', n, QK_K)
  const L = new Uint8Array(QK_K)
  for (let i = 0; i < nb; i++) {
    const b = outOffset + i * Q4_K_BLOCK_BYTES
    quantizeScalesMinsK(x, xOffset + i * QK_K, 15, -1, 20, out, b, L)
    for (let c = 0; c < 4; c++) {
      for (let l = 0; l < 32; l++) out[b + 16 + 32 * c + l] = L[64 * c + l] | (L[64 * c + 32 + l] << 4)
    }
  }
}

/** As quantize_row_q5_K_ref: n values of x to Q5_K blocks at out[outOffset ..]. */
export function quantizeRowQ5K(x: Float32Array, xOffset: number, n: number, out: Uint8Array, outOffset: number): void {
  const nb = checkBlocks('Q5_K', n, QK_K)
  const L = new Uint8Array(QK_K)
  for (let i = 0; i < nb; i++) {
    const b = outOffset + i * Q5_K_BLOCK_BYTES
    quantizeScalesMinsK(x, xOffset + i * QK_K, 31, -0.5, 15, out, b, L)
    out.fill(0, b + 16, b + 48)
    for (let c = 0; c < 4; c++) {
      for (let l = 0; l < 32; l++) {
        let l1 = L[64 * c + l], l2 = L[64 * c + 32 + l]
        if (l1 > 15) { l1 -= 16; out[b + 16 + l] |= 1 << (2 * c) }
        if (l2 > 15) { l2 -= 16; out[b + 16 + l] |= 2 << (2 * c) }
        out[b + 48 + 32 * c + l] = l1 | (l2 << 4)
      }
    }
  }
}

/**
 * ggml's make_qx_quants with rmse_type 1 (weights x^2): signed levels in -nmax..nmax-1 (stored
 * + nmax in L) and the scale; searches 18 scales around nmax / max.
 */
function makeQxQuants(x: Float32Array, nmax: number, L: Uint8Array): number {
  const n = x.length
  let max = 0, amax = 0
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[i])
    if (ax > amax) { amax = ax; max = x[i] }
  }
  if (amax < GROUP_MAX_EPS) {
    L.fill(0)
    return 0
  }
  const level = (iscale: number, v: number): number => Math.max(-nmax, Math.min(nmax - 1, nearestInt(f(iscale * v))))
  let iscale = f(-nmax / max)
  let sumLX = 0, sumL2 = 0
  for (let i = 0; i < n; i++) {
    const l = level(iscale, x[i])
    L[i] = l + nmax
    const w = x[i] * x[i]
    sumLX += w * x[i] * l; sumL2 += w * l * l
  }
  let scale = sumL2 ? sumLX / sumL2 : 0
  let best = scale * sumLX
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue
    iscale = f(-(nmax + 0.1 * is) / max)
    sumLX = 0; sumL2 = 0
    for (let i = 0; i < n; i++) {
      const l = level(iscale, x[i])
      const w = x[i] * x[i]
      sumLX += w * x[i] * l; sumL2 += w * l * l
    }
    if (sumL2 > 0 && sumLX * sumLX > best * sumL2) {
      for (let i = 0; i < n; i++) L[i] = nmax + level(iscale, x[i])
      scale = sumLX / sumL2
      best = scale * sumLX
    }
  }
  return f(scale)
}

/** As quantize_row_q6_K_ref: n values of x to Q6_K blocks at out[outOffset ..]. */
export function quantizeRowQ6K(x: Float32Array, xOffset: number, n: number, out: Uint8Array, outOffset: number): void {
  const nb = checkBlocks('Q6_K', n, QK_K)
  const L = new Uint8Array(QK_K)
  const scales = new Float32Array(16)
  for (let i = 0; i < nb; i++) {
    const xb = xOffset + i * QK_K
    const b = outOffset + i * Q6_K_BLOCK_BYTES
    let maxScale = 0, maxAbsScale = 0
    for (let g = 0; g < 16; g++) {
      scales[g] = makeQxQuants(x.subarray(xb + 16 * g, xb + 16 * g + 16), 32, L.subarray(16 * g, 16 * g + 16))
      if (Math.abs(scales[g]) > maxAbsScale) { maxAbsScale = Math.abs(scales[g]); maxScale = scales[g] }
    }
    out.fill(0, b, b + Q6_K_BLOCK_BYTES)
    if (maxAbsScale < GROUP_MAX_EPS) continue
    const iscale = f(-128 / maxScale)
    const hd = f32ToFp16(1 / iscale)
    out[b + 208] = hd & 0xff; out[b + 209] = hd >> 8
    for (let g = 0; g < 16; g++) out[b + 192 + g] = Math.min(127, nearestInt(f(iscale * scales[g]))) & 0xff
    for (let g = 0; g < 16; g++) {
      const d = f(FP16_TABLE[hd] * ((out[b + 192 + g] << 24) >> 24))
      if (!d) continue
      for (let l = 0; l < 16; l++) {
        L[16 * g + l] = 32 + Math.max(-32, Math.min(31, nearestInt(f(x[xb + 16 * g + l] / d))))
      }
    }
    for (let h = 0; h < 2; h++) {
      const j = 128 * h, ql = b + 64 * h, qh = b + 128 + 32 * h
      for (let l = 0; l < 32; l++) {
        out[ql + l] = (L[j + l] & 0xf) | ((L[j + l + 64] & 0xf) << 4)
        out[ql + l + 32] = (L[j + l + 32] & 0xf) | ((L[j + l + 96] & 0xf) << 4)
        out[qh + l] = (L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6)
      }
    }
  }
}
