/**
 * Activation preparation, once per activation vector and shared by every row and thread: Q8_K
 * (standard and the widened Q8KX), Q8_0 (widened Q80X) and F32X. Layouts: see kernels.ts.
 */
import {F32_2P112, FINITE_HALF_MASK, half, toHalf} from './common'

/** The value of largest magnitude (the first such) among 256 f32 at x: ggml's `max`. */
@inline function maxAbsValue(x: usize): f32 {
  let amax: f32 = 0
  let max: f32 = 0
  for (let j: usize = 0; j < 256; j++) {
    const v = load<f32>(x + (j << 2))
    const a = abs<f32>(v)
    if (a > amax) { amax = a; max = v }
  }
  return max
}

/** quantize_row_q8_K_ref: n f32 at xPtr (n a multiple of 256) into standard 292-byte Q8_K blocks. */
export function quantize_q8k(xPtr: usize, n: i32, outPtr: usize): void {
  const nb = <usize>(n >> 8)
  for (let i: usize = 0; i < nb; i++) {
    const x = xPtr + (i << 10)
    const y = outPtr + i * 292
    const max = maxAbsValue(x)
    if (max == 0) { memory.fill(y, 0, 292); continue }
    const iscale: f32 = <f32>-127 / max
    for (let g: usize = 0; g < 16; g++) {
      let s: i32 = 0
      for (let k: usize = 0; k < 16; k++) {
        const v = min<i32>(127, <i32>nearest<f32>(iscale * load<f32>(x + ((g * 16 + k) << 2))))
        store<i8>(y + 4 + g * 16 + k, <i8>v)
        s += v
      }
      store<i16>(y + 260 + (g << 1), <i16>s)
    }
    store<f32>(y, <f32>1 / iscale)
  }
}

/**
 * maxAbsValue in SIMD: the largest magnitude (NaN ignored, as the scalar compare does), then the
 * first value of that magnitude, its sign included.
 */
@inline function maxAbsValueX4(x: usize): f32 {
  let m = f32x4.splat(0)
  for (let j: usize = 0; j < 1024; j += 64) {
    m = f32x4.pmax(m, f32x4.abs(v128.load(x + j)))
    m = f32x4.pmax(m, f32x4.abs(v128.load(x + j, 16)))
    m = f32x4.pmax(m, f32x4.abs(v128.load(x + j, 32)))
    m = f32x4.pmax(m, f32x4.abs(v128.load(x + j, 48)))
  }
  m = f32x4.pmax(m, f32x4.shuffle(m, m, 2, 3, 0, 1))
  const amax = max<f32>(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1))
  if (amax == 0) return 0
  const a = f32x4.splat(amax)
  for (let j: usize = 0; j < 1024; j += 16) {
    if (v128.any_true(f32x4.eq(f32x4.abs(v128.load(x + j)), a))) {
      for (let i: usize = 0; i < 4; i++) if (abs<f32>(load<f32>(x + j + (i << 2))) == amax) return load<f32>(x + j + (i << 2))
    }
  }
  return 0 // unreachable: amax is one of the values
}

/** Q8KLY's constants of q4_k_lanes.ts finiteHalves in the block at y: 2^112 (f32) at 4, its mask 0x8fffffff at 8. */
@inline function laneConstants(y: usize): void {
  store<u32>(y, F32_2P112, 4)
  store<u32>(y, FINITE_HALF_MASK, 8)
}

/**
 * As quantize_q8k, into the Q8KX layout (576 bytes per block: i16 values), with Y into Q8KY (Q8KX
 * with each group's values times the factor of the Q4_K lanes they meet), or with B into Q8KB (320
 * bytes: i8 values in the same order, bsums at 272 and 288), with B and N into Q8KN (Q8KB's layout,
 * the values in their natural order), with L into Q8KL (Q8KX's values in the lane order of
 * q4_k_lanes.ts; with Y too, Q8KLY: times the same factors, and the constants of its finiteHalves at
 * 4 and 8); see the top of kernels.ts. Four
 * values a step: round to nearest even (f32x4.nearest, as nearest<f32>), at most 127, narrowed
 * and de-interleaved by shuffles (evens, then odds, per group of 16). The sums are of the values.
 */
@inline function quantizeK(xPtr: usize, n: i32, outPtr: usize, B: bool, Y: bool = false, N: bool = false, L: bool = false): void {
  const nb = <usize>(n >> 8)
  const bytes: usize = B ? 320 : 576
  const bsum32: usize = B ? 272 : 528
  const bsum16: usize = B ? 288 : 544
  const top = i32x4.splat(127)
  for (let i: usize = 0; i < nb; i++) {
    const x = xPtr + (i << 10)
    const y = outPtr + i * bytes
    const max = maxAbsValueX4(x)
    if (max == 0) { memory.fill(y, 0, bytes); if (L && Y) laneConstants(y); continue }
    const iscale: f32 = <f32>-127 / max
    const sc = f32x4.splat(iscale)
    for (let g: usize = 0; g < 16; g++) {
      const xg = x + (g << 6)
      const v0 = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(sc, v128.load(xg)))), top)
      const v1 = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(sc, v128.load(xg, 16)))), top)
      const v2 = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(sc, v128.load(xg, 32)))), top)
      const v3 = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(sc, v128.load(xg, 48)))), top)
      const lo = i16x8.narrow_i32x4_s(v0, v1) // values 0-7 of the group
      const hi = i16x8.narrow_i32x4_s(v2, v3) // 8-15
      if (B && N) {
        v128.store(y + 16 + (g << 4), i8x16.narrow_i16x8_s(lo, hi))
      } else if (B) {
        v128.store(y + 16 + (g << 4), i8x16.shuffle(i8x16.narrow_i16x8_s(lo, hi), lo, 0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15))
      } else {
        let ev = i8x16.shuffle(lo, hi, 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29)
        let od = i8x16.shuffle(lo, hi, 2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31)
        if (Y) { // the factors of the Q4_K nibble lanes these values meet (q4_k.ts q4kBlockPairY)
          if ((g & 2) == 0) ev = i16x8.shl(ev, 8) // sub-block A: evens x 256, odds x 1
          else { ev = i16x8.shl(ev, 4); od = i16x8.shl(od, 8) } // B: evens x 16, odds x 256
        }
        if (L) { // group g is half (g & 1) of sub-block g >> 1: steps 4 (g & 1) .. + 3 (chunks 2 (g & 1), + 1), kinds A or B, lane pair g >> 2
          const at = y + 16 + ((g & 1) << 8) + ((g & 2) << 5) + ((g >> 2) << 2)
          v128.store32_lane(at, ev, 0); v128.store32_lane(at, ev, 1, 32); v128.store32_lane(at, ev, 2, 128); v128.store32_lane(at, ev, 3, 160)
          v128.store32_lane(at, od, 0, 16); v128.store32_lane(at, od, 1, 48); v128.store32_lane(at, od, 2, 144); v128.store32_lane(at, od, 3, 176)
        } else {
          v128.store(y + 16 + (g << 5), ev)
          v128.store(y + 32 + (g << 5), od)
        }
      }
      const t = i32x4.add(i32x4.add(v0, v1), i32x4.add(v2, v3))
      const u = i32x4.add(t, i32x4.shuffle(t, t, 2, 3, 0, 1))
      store<i16>(y + bsum16 + (g << 1), <i16>(i32x4.extract_lane(u, 0) + i32x4.extract_lane(u, 1)))
    }
    for (let j: usize = 0; j < 8; j++) {
      store<i16>(y + bsum32 + (j << 1), <i16>(load<i16>(y + bsum16 + (j << 2)) + load<i16>(y + bsum16 + 2 + (j << 2))))
    }
    if (L && Y) laneConstants(y)
    store<f32>(y, <f32>1 / iscale)
  }
}

/** n f32 -> Q8KX (Q8_K widened to i16, pairs de-interleaved). */
export function quantize_q8kx(xPtr: usize, n: i32, outPtr: usize): void {
  quantizeK(xPtr, n, outPtr, false)
}

/** n f32 -> Q8KY (Q8KX scaled for the Q4_K lanes), for one position of Q4_K (q4k_matvec_y). */
export function quantize_q8ky(xPtr: usize, n: i32, outPtr: usize): void {
  quantizeK(xPtr, n, outPtr, false, true)
}

/** n f32 -> Q8KL (Q8KX in lane order), for Q4_K in lane order, several positions (q4k_matmul_l). */
export function quantize_q8kl(xPtr: usize, n: i32, outPtr: usize): void {
  quantizeK(xPtr, n, outPtr, false, false, false, true)
}

/** n f32 -> Q8KLY (Q8KL times the lane factors of Q8KY), for one position of Q4_K in lane order (q4k_matvec_l). */
export function quantize_q8kly(xPtr: usize, n: i32, outPtr: usize): void {
  quantizeK(xPtr, n, outPtr, false, true, false, true)
}

/** n f32 -> Q8KB (the Q8KX order in bytes), for the one-position kernels of wide Q6_K rows. */
export function quantize_q8kb(xPtr: usize, n: i32, outPtr: usize): void {
  quantizeK(xPtr, n, outPtr, true)
}

/** n f32 -> Q8KN (Q8KB's layout, values in their natural order), for the relaxed-SIMD kernels (relaxed.ts). */
export function quantize_q8kn(xPtr: usize, n: i32, outPtr: usize): void {
  quantizeK(xPtr, n, outPtr, true, false, true)
}

/** roundf: nearest, halves away from zero. */
@inline function roundAway(v: f32): i32 {
  const t = trunc<f32>(v)
  return <i32>t + (abs<f32>(v - t) >= 0.5 ? (v < 0 ? -1 : 1) : 0)
}

/** quantize_row_q8_0_ref into the widened Q80X layout (80 bytes per 32 values). */
export function quantize_q8_0x(xPtr: usize, n: i32, outPtr: usize): void {
  const nb = <usize>(n >> 5)
  for (let i: usize = 0; i < nb; i++) {
    const x = xPtr + (i << 7)
    const y = outPtr + i * 80
    let amax: f32 = 0
    for (let j: usize = 0; j < 32; j++) amax = max<f32>(amax, abs<f32>(load<f32>(x + (j << 2))))
    const d: f32 = amax / 127
    const id: f32 = d != 0 ? <f32>1 / d : 0
    store<f32>(y, half(toHalf(d)))
    for (let j: usize = 0; j < 32; j++) store<i16>(y + 16 + (j << 1), <i16>roundAway(load<f32>(x + (j << 2)) * id))
  }
}

/** n f32 at xPtr (n a multiple of 256) into F32X at outPtr. */
export function prepare_f32x(xPtr: usize, n: i32, outPtr: usize): void {
  const nb = <usize>(n >> 8)
  for (let i: usize = 0; i < nb; i++) {
    const x = xPtr + (i << 10)
    const y = outPtr + i * 1120
    for (let g: usize = 0; g < 16; g++) {
      let s: f32 = 0
      for (let k: usize = 0; k < 16; k++) {
        const v = load<f32>(x + ((g * 16 + k) << 2))
        store<f32>(y + g * 64 + ((k & 1) << 5) + ((k >> 1) << 2), v)
        s += v
      }
      store<f32>(y + 1056 + (g << 2), s)
    }
    for (let j: usize = 0; j < 8; j++) store<f32>(y + 1024 + (j << 2), load<f32>(y + 1056 + (j << 3)) + load<f32>(y + 1060 + (j << 3)))
  }
}
