/**
 * The float path of Q4_K and Q6_K: weights against F32X activations (f32, see kernels.ts), for an
 * engine mode without 8-bit activations; within 1e-5 of dotRowQ4K / dotRowQ6K.
 */
import {fdot8, fsum, half, POS_TILE} from './common'
import {q4kScales} from './q4_k'

/**
 * Float dot of one Q4_K chunk (64 weights at q) with F32X activations at x (groups A0 A1 B0 B1,
 * 64 bytes each), scaled: dA * sum_A + dB * sum_B (f32x4). As in q4_k.ts q4kChunk, the odd low nibbles
 * are taken as 256 q and the even high nibbles as 16 q; scaling back by a power of two is exact.
 */
@inline function q4kChunkF(q: usize, x: usize, dA: v128, dB: v128): v128 {
  const w0 = v128.load(q)
  const w1 = v128.load(q, 16)
  const m000F = i16x8.splat(0x000f)
  const m0F00 = i16x8.splat(0x0f00)
  const m00F0 = i16x8.splat(0x00f0)
  // 0x0F00 lanes reach 3840 and 0x00F0 lanes 240: both fit i16 and convert exactly.
  const a1 = f32x4.add(fdot8(v128.and(w0, m000F), x), fdot8(v128.and(w1, m000F), x + 64))
  const a256 = f32x4.add(fdot8(v128.and(w0, m0F00), x + 32), fdot8(v128.and(w1, m0F00), x + 96))
  const b16 = f32x4.add(fdot8(v128.and(w0, m00F0), x + 128), fdot8(v128.and(w1, m00F0), x + 192))
  const b1 = f32x4.add(fdot8(i16x8.shr_u(w0, 12), x + 160), fdot8(i16x8.shr_u(w1, 12), x + 224))
  const sA = f32x4.add(a1, f32x4.mul(a256, f32x4.splat(<f32>1 / 256)))
  const sB = f32x4.add(b1, f32x4.mul(b16, f32x4.splat(<f32>1 / 16)))
  return f32x4.add(f32x4.mul(sA, dA), f32x4.mul(sB, dB))
}

/**
 * out[p * rows + r] = row r of the Q4_K matrix . position p of the F32X activations at xPtr
 * (rowBytes / 144 blocks each, 1120 bytes a block): float sums in f32x4 lanes.
 */
export function q4k_f32_matmul(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  const nb = <usize>(rowBytes / 144)
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
          const b = w + i * 144
          const x = x0 + i * 1120
          const sm = q4kScales(b)
          const sc16 = i16x8.extend_low_i8x16_u(sm)
          const mn16 = i16x8.extend_high_i8x16_u(sm)
          const d = f32x4.splat(half(load<u16>(b)))
          const dmin = f32x4.splat(half(load<u16>(b, 2)))
          // d * scale_j and dmin * min_j as f32 (exact products of an fp16 and a 6-bit integer
          // rounded once, as the reference's Math.fround(d * sc)).
          let ds = f32x4.mul(d, f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(sc16)))
          const ds47 = f32x4.mul(d, f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(sc16)))
          const mins = f32x4.add(
            f32x4.mul(f32x4.mul(dmin, f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(mn16))), v128.load(x, 1024)),
            f32x4.mul(f32x4.mul(dmin, f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(mn16))), v128.load(x, 1040)))
          acc = f32x4.sub(acc, mins)
          for (let c: usize = 0; c < 4; c++) {
            acc = f32x4.add(acc, q4kChunkF(b + 16 + (c << 5), x + (c << 8), f32x4.shuffle(ds, ds, 0, 0, 0, 0), f32x4.shuffle(ds, ds, 1, 1, 1, 1)))
            ds = c == 1 ? ds47 : f32x4.shuffle(ds, ds, 2, 3, 0, 1)
          }
        }
        store<f32>(outPtr + (<usize>(p * rows + r) << 2), fsum(acc))
      }
    }
  }
}

/**
 * 64 Q6_K weights: 16 at each of offsets 0, 32, 64, 96 of a 128-value half, from ql bytes qa
 * (offsets 0 / 64 in low / high nibbles), qb (32 / 96) and qh bytes hv (2 bits each), against F32X
 * groups g0, g0+2, g0+4, g0+6 from x, with f32 group scales d * sc: returns sum_k ds_k * sum q x
 * (q in 0..63; the -32 is applied by the caller).
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
