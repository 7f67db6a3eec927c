/**
 * Q6_K weights (block_q6_K, 210 bytes / 256 values) against Q8KX activations (bit-exact with
 * vecDotQ6KQ8K) and against F32X activations (the float path, within 1e-5 of dotRowQ6K).
 */
import {dot, fdot8, fsum, half, hsum, POS_TILE} from './common'

/**
 * 64 weights: 16 at each of offsets 0, 32, 64, 96 of a 128-value half, from ql bytes qa (offsets
 * 0 / 64 in low / high nibbles), qb (32 / 96) and qh bytes hv (2 bits each), against Q8KX groups
 * g0, g0+2, g0+4, g0+6 starting at x, scaled by s0..s3. Returns sum_k s_k * sum q * x (q in 0..63).
 */
@inline function q6kQuad(qa: v128, qb: v128, hv: v128, x: usize, s0: v128, s1: v128, s2: v128, s3: v128): v128 {
  const m0F = i16x8.splat(0x000f)
  const m30 = i16x8.splat(0x0030)
  const e0 = v128.or(v128.and(qa, m0F), v128.and(i16x8.shl(hv, 4), m30))
  const o0 = v128.or(v128.and(i16x8.shr_u(qa, 8), m0F), v128.and(i16x8.shr_u(hv, 4), m30))
  const e1 = v128.or(v128.and(qb, m0F), v128.and(i16x8.shl(hv, 2), m30))
  const o1 = v128.or(v128.and(i16x8.shr_u(qb, 8), m0F), v128.and(i16x8.shr_u(hv, 6), m30))
  const e2 = v128.or(v128.and(i16x8.shr_u(qa, 4), m0F), v128.and(hv, m30))
  const o2 = v128.or(i16x8.shr_u(qa, 12), v128.and(i16x8.shr_u(hv, 8), m30))
  const e3 = v128.or(v128.and(i16x8.shr_u(qb, 4), m0F), v128.and(i16x8.shr_u(hv, 2), m30))
  const o3 = v128.or(i16x8.shr_u(qb, 12), v128.and(i16x8.shr_u(hv, 10), m30))
  let acc = i32x4.mul(i32x4.add(dot(e0, v128.load(x)), dot(o0, v128.load(x, 16))), s0)
  acc = i32x4.add(acc, i32x4.mul(i32x4.add(dot(e1, v128.load(x, 64)), dot(o1, v128.load(x, 80))), s1))
  acc = i32x4.add(acc, i32x4.mul(i32x4.add(dot(e2, v128.load(x, 128)), dot(o2, v128.load(x, 144))), s2))
  return i32x4.add(acc, i32x4.mul(i32x4.add(dot(e3, v128.load(x, 192)), dot(o3, v128.load(x, 208))), s3))
}

/** One Q6_K block against one Q8KX block, folded into sumf as vecDotQ6KQ8K does. */
@inline function q6kBlock(b: usize, x: usize, sumf: f32): f32 {
  const s8 = v128.load(b, 192)
  const s16lo = i16x8.extend_low_i8x16_s(s8) // scales 0-7
  const s16hi = i16x8.extend_high_i8x16_s(s8) // scales 8-15
  // sum_g sc_g * sum (q - 32) x = sum_g sc_g * sum q x - 32 * sum_g sc_g * bsum16_g
  const bias = hsum(i32x4.add(dot(s16lo, v128.load(x, 544)), dot(s16hi, v128.load(x, 560))))
  // Four passes (a loop, see the Q4_K speed notes): pass i is half h = i >> 1 (ql 64 bytes, qh 32,
  // groups 8h .. 8h+7) and sub-pass is = i & 1, covering groups 8h + is + {0, 2, 4, 6} (activations
  // at x + 16 + 32 g); lanes 0 and 2 of sA / sB hold those groups' scales.
  let sA = i32x4.extend_low_i16x8_s(s16lo)
  let sB = i32x4.extend_high_i16x8_s(s16lo)
  let acc = i32x4.splat(0)
  for (let i: usize = 0; i < 4; i++) {
    const ql = b + ((i >> 1) << 6) + ((i & 1) << 4)
    const qh = b + 128 + ((i >> 1) << 5) + ((i & 1) << 4)
    const xq = x + 16 + ((i >> 1) << 8) + ((i & 1) << 5)
    acc = i32x4.add(acc, q6kQuad(v128.load(ql), v128.load(ql, 32), v128.load(qh), xq,
      i32x4.shuffle(sA, sA, 0, 0, 0, 0), i32x4.shuffle(sA, sA, 2, 2, 2, 2), i32x4.shuffle(sB, sB, 0, 0, 0, 0), i32x4.shuffle(sB, sB, 2, 2, 2, 2)))
    if (i == 1) {
      sA = i32x4.extend_low_i16x8_s(s16hi)
      sB = i32x4.extend_high_i16x8_s(s16hi)
    } else {
      sA = i32x4.shuffle(sA, sA, 1, 2, 3, 0)
      sB = i32x4.shuffle(sB, sB, 1, 2, 3, 0)
    }
  }
  const isum = hsum(acc) - 32 * bias
  return sumf + (half(load<u16>(b, 208)) * load<f32>(x)) * <f32>isum
}

/** As q4k_matmul for Q6_K weights (rowBytes / 210 blocks a row), equal to vecDotQ6KQ8K bit for bit. */
export function q6k_matmul(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  const nb = <usize>(rowBytes / 210)
  const rb = <usize>rowBytes
  const xStride = nb * 576
  for (let p0 = 0; p0 < nPos; p0 += POS_TILE) {
    const p1 = min<i32>(nPos, p0 + POS_TILE)
    for (let r = 0; r < rows; r++) {
      const w = wPtr + <usize>r * rb
      for (let p = p0; p < p1; p++) {
        const x = xPtr + <usize>p * xStride
        let s0: f32 = 0
        for (let i: usize = 0; i < nb; i++) s0 = q6kBlock(w + i * 210, x + i * 576, s0)
        store<f32>(outPtr + (<usize>(p * rows + r) << 2), s0)
      }
    }
  }
}

/**
 * As q6kQuad with f32 activations (F32X groups g0, g0+2, g0+4, g0+6 from x) and f32 group scales
 * d * sc: returns sum_k ds_k * sum q x (q in 0..63; the -32 is applied by the caller).
 */
@inline function q6kQuadF(qa: v128, qb: v128, hv: v128, x: usize, s0: v128, s1: v128, s2: v128, s3: v128): v128 {
  const m0F = i16x8.splat(0x000f)
  const m30 = i16x8.splat(0x0030)
  const e0 = v128.or(v128.and(qa, m0F), v128.and(i16x8.shl(hv, 4), m30))
  const o0 = v128.or(v128.and(i16x8.shr_u(qa, 8), m0F), v128.and(i16x8.shr_u(hv, 4), m30))
  const e1 = v128.or(v128.and(qb, m0F), v128.and(i16x8.shl(hv, 2), m30))
  const o1 = v128.or(v128.and(i16x8.shr_u(qb, 8), m0F), v128.and(i16x8.shr_u(hv, 6), m30))
  const e2 = v128.or(v128.and(i16x8.shr_u(qa, 4), m0F), v128.and(hv, m30))
  const o2 = v128.or(i16x8.shr_u(qa, 12), v128.and(i16x8.shr_u(hv, 8), m30))
  const e3 = v128.or(v128.and(i16x8.shr_u(qb, 4), m0F), v128.and(i16x8.shr_u(hv, 2), m30))
  const o3 = v128.or(i16x8.shr_u(qb, 12), v128.and(i16x8.shr_u(hv, 10), m30))
  let acc = f32x4.mul(f32x4.add(fdot8(e0, x), fdot8(o0, x + 32)), s0)
  acc = f32x4.add(acc, f32x4.mul(f32x4.add(fdot8(e1, x + 128), fdot8(o1, x + 160)), s1))
  acc = f32x4.add(acc, f32x4.mul(f32x4.add(fdot8(e2, x + 256), fdot8(o2, x + 288)), s2))
  return f32x4.add(acc, f32x4.mul(f32x4.add(fdot8(e3, x + 384), fdot8(o3, x + 416)), s3))
}

/** As q4k_f32_matmul for Q6_K weights (rowBytes / 210 blocks a row). */
export function q6k_f32_matmul(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  const nb = <usize>(rowBytes / 210)
  const rb = <usize>rowBytes
  const xStride = nb * 1120
  for (let p0 = 0; p0 < nPos; p0 += POS_TILE) {
    const p1 = min<i32>(nPos, p0 + POS_TILE)
    for (let r = 0; r < rows; r++) {
      const w = wPtr + <usize>r * rb
      for (let p = p0; p < p1; p++) {
        const x0 = xPtr + <usize>p * xStride
        let acc = f32x4.splat(0)
        for (let i: usize = 0; i < nb; i++) {
          const b = w + i * 210
          const x = x0 + i * 1120
          const d = f32x4.splat(half(load<u16>(b, 208)))
          const s8 = v128.load(b, 192)
          const s16lo = i16x8.extend_low_i8x16_s(s8)
          const s16hi = i16x8.extend_high_i8x16_s(s8)
          // d * scale_g for the 16 groups, and the -32 offset: 32 * sum_g ds_g * sum16_g.
          const dsA = f32x4.mul(d, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(s16lo)))
          const dsB = f32x4.mul(d, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(s16lo)))
          const dsC = f32x4.mul(d, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(s16hi)))
          const dsD = f32x4.mul(d, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(s16hi)))
          const bias = f32x4.add(
            f32x4.add(f32x4.mul(dsA, v128.load(x, 1056)), f32x4.mul(dsB, v128.load(x, 1072))),
            f32x4.add(f32x4.mul(dsC, v128.load(x, 1088)), f32x4.mul(dsD, v128.load(x, 1104))))
          acc = f32x4.sub(acc, f32x4.mul(bias, f32x4.splat(32)))
          let sA = dsA
          let sB = dsB
          for (let k: usize = 0; k < 4; k++) {
            const ql = b + ((k >> 1) << 6) + ((k & 1) << 4)
            const qh = b + 128 + ((k >> 1) << 5) + ((k & 1) << 4)
            const xq = x + ((k >> 1) << 9) + ((k & 1) << 6)
            acc = f32x4.add(acc, q6kQuadF(v128.load(ql), v128.load(ql, 32), v128.load(qh), xq,
              f32x4.shuffle(sA, sA, 0, 0, 0, 0), f32x4.shuffle(sA, sA, 2, 2, 2, 2), f32x4.shuffle(sB, sB, 0, 0, 0, 0), f32x4.shuffle(sB, sB, 2, 2, 2, 2)))
            if (k == 1) {
              sA = dsC
              sB = dsD
            } else {
              sA = f32x4.shuffle(sA, sA, 1, 2, 3, 0)
              sB = f32x4.shuffle(sB, sB, 1, 2, 3, 0)
            }
          }
        }
        store<f32>(outPtr + (<usize>(p * rows + r) << 2), fsum(acc))
      }
    }
  }
}
