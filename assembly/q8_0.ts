/** Q8_0 weights (block_q8_0, 34 bytes / 32 values) against Q80X activations (bit-exact with vecDotQ8_0Q8_0). */
import {dot, half, hsum, hsum4, passStart, pin, POS_PASS, storePass} from './common'

/** One block, one position, folded into sumf (one-position products: 16.5 GB/s as it is). */
@inline function q8_0Block(b: usize, x: usize, sumf: f32): f32 {
  const lo = v128.load(b, 2)
  const hi = v128.load(b, 18)
  let acc = dot(i16x8.extend_low_i8x16_s(lo), v128.load(x, 16))
  acc = i32x4.add(acc, dot(i16x8.extend_high_i8x16_s(lo), v128.load(x, 32)))
  acc = i32x4.add(acc, dot(i16x8.extend_low_i8x16_s(hi), v128.load(x, 48)))
  acc = i32x4.add(acc, dot(i16x8.extend_high_i8x16_s(hi), v128.load(x, 64)))
  return sumf + (half(load<u16>(b)) * load<f32>(x)) * <f32>hsum(acc)
}

/** The integer dot of one block's 32 widened weights (w0..w3, i16) with the Q80X block at x. */
@inline function q8_0Dot(w0: v128, w1: v128, w2: v128, w3: v128, x: usize): v128 {
  return i32x4.add(
    i32x4.add(dot(w0, v128.load(x, 16)), dot(w1, v128.load(x, 32))),
    i32x4.add(dot(w2, v128.load(x, 48)), dot(w3, v128.load(x, 64))))
}

/**
 * P positions (1..8, a constant after inlining) of one Q8_0 row (nb blocks at w) against the Q80X
 * activations at x0 (xs bytes between positions): results to o + p * os. Each block is widened
 * once and dotted with every position; positions 0-3 and 4-7 finish in f32x4 lanes, each lane as
 * vecDotQ8_0Q8_0: sumf += (d * dy) * isum. Measured 15 -> ~33 GB/s (weight bytes x positions
 * per second) at 8 positions.
 */
@inline function q8_0Pass(w: usize, nb: usize, x0: usize, xs: usize, o: usize, os: usize, P: i32): void {
  let f0 = f32x4.splat(0)
  let f1 = f32x4.splat(0)
  for (let i: usize = 0; i < nb; i++) {
    const b = w + i * 34
    const lo = v128.load(b, 2)
    const hi = v128.load(b, 18)
    const w0 = i16x8.extend_low_i8x16_s(lo)
    const w1 = i16x8.extend_high_i8x16_s(lo)
    const w2 = i16x8.extend_low_i8x16_s(hi)
    const w3 = i16x8.extend_high_i8x16_s(hi)
    const d = f32x4.splat(half(load<u16>(b)))
    let xp = x0 + i * 80
    let s0 = q8_0Dot(w0, w1, w2, w3, xp); pin(o, s0)
    let dy = v128.load32_zero(xp)
    let s1 = i32x4.splat(0), s2 = i32x4.splat(0), s3 = i32x4.splat(0)
    if (P > 1) { xp += xs; s1 = q8_0Dot(w0, w1, w2, w3, xp); pin(o, s1); dy = v128.load32_lane(xp, dy, 1) }
    if (P > 2) { xp += xs; s2 = q8_0Dot(w0, w1, w2, w3, xp); pin(o, s2); dy = v128.load32_lane(xp, dy, 2) }
    if (P > 3) { xp += xs; s3 = q8_0Dot(w0, w1, w2, w3, xp); pin(o, s3); dy = v128.load32_lane(xp, dy, 3) }
    f0 = f32x4.add(f0, f32x4.mul(f32x4.mul(d, dy), f32x4.convert_i32x4_s(hsum4(s0, s1, s2, s3))))
    if (P > 4) {
      xp += xs; s0 = q8_0Dot(w0, w1, w2, w3, xp); pin(o, s0); dy = v128.load32_zero(xp)
      s1 = i32x4.splat(0); s2 = i32x4.splat(0); s3 = i32x4.splat(0)
      if (P > 5) { xp += xs; s1 = q8_0Dot(w0, w1, w2, w3, xp); pin(o, s1); dy = v128.load32_lane(xp, dy, 1) }
      if (P > 6) { xp += xs; s2 = q8_0Dot(w0, w1, w2, w3, xp); pin(o, s2); dy = v128.load32_lane(xp, dy, 2) }
      if (P > 7) { xp += xs; s3 = q8_0Dot(w0, w1, w2, w3, xp); pin(o, s3); dy = v128.load32_lane(xp, dy, 3) }
      f1 = f32x4.add(f1, f32x4.mul(f32x4.mul(d, dy), f32x4.convert_i32x4_s(hsum4(s0, s1, s2, s3))))
    }
  }
  storePass(o, os, f0, f1, P)
}

/** q8_0Pass for n (1..8) positions: one compiled pass per count (inlined, as in q4_k.ts). */
@inline function q8_0PassN(w: usize, nb: usize, x: usize, xs: usize, o: usize, os: usize, n: i32): void {
  switch (n) {
    case 1: { q8_0Pass(w, nb, x, xs, o, os, 1); break }
    case 2: { q8_0Pass(w, nb, x, xs, o, os, 2); break }
    case 3: { q8_0Pass(w, nb, x, xs, o, os, 3); break }
    case 4: { q8_0Pass(w, nb, x, xs, o, os, 4); break }
    case 5: { q8_0Pass(w, nb, x, xs, o, os, 5); break }
    case 6: { q8_0Pass(w, nb, x, xs, o, os, 6); break }
    case 7: { q8_0Pass(w, nb, x, xs, o, os, 7); break }
    default: { q8_0Pass(w, nb, x, xs, o, os, 8); break }
  }
}

/** As q4k_matmul for Q8_0 weights (rowBytes / 34 blocks a row) and Q80X activations. */
export function q8_0_matmul(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  const nb = <usize>(rowBytes / 34)
  const rb = <usize>rowBytes
  const xs = nb * 80
  const os = <usize>rows << 2
  if (nPos == 1) {
    for (let r = 0; r < rows; r++) {
      const w = wPtr + <usize>r * rb
      let sumf: f32 = 0
      for (let i: usize = 0; i < nb; i++) sumf = q8_0Block(w + i * 34, xPtr + i * 80, sumf)
      store<f32>(outPtr + (<usize>r << 2), sumf)
    }
    return
  }
  const passes = (nPos + POS_PASS - 1) / POS_PASS
  for (let k = 0; k < passes; k += 2) {
    const pA = passStart(nPos, passes, k), pB = passStart(nPos, passes, k + 1), pC = passStart(nPos, passes, k + 2)
    for (let r = 0; r < rows; r++) {
      const w = wPtr + <usize>r * rb
      q8_0PassN(w, nb, xPtr + <usize>pA * xs, xs, outPtr + (<usize>(pA * rows + r) << 2), os, pB - pA)
      if (pC > pB) q8_0PassN(w, nb, xPtr + <usize>pB * xs, xs, outPtr + (<usize>(pB * rows + r) << 2), os, pC - pB)
    }
  }
}
