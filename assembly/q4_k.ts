/**
 * Q4_K weights (block_q4_K, 144 bytes / 256 values: fp16 d, fp16 dmin, 12 bytes of 6-bit scales
 * and mins, 128 bytes of nibbles) against Q8KX activations, bit-exact with vecDotQ4KQ8K. The float
 * path (F32X activations) is in float_k.ts.
 */
import {dot, dot4, half, halves, hsum4, loadPass, passStart, pin, POS_PASS, storePass} from './common'

// Speed notes (V8 TurboFan on x64, scripts/bench-kernels.mjs, one thread, CPU time).
// One position (generation, q4k_matvec_y): rows go one at a time (pairs of rows sharing the
// activation loads ran 25% slower on Zen 5 and 37% on Zen 4: register spills); a block is four
// one-chunk steps in straight-line code, each pinned (common.ts pin: V8 issues every load up to
// the next store first, and spills what it cannot hold). On Q8KY activations a chunk needs two
// accumulators instead of four and no shifts, and with a pin after each half nothing spills: on
// Zen 4, 14336 x 4096: Q8KX 7.8 GB/s, Q8KY with one pin a chunk 7.6, with the half pins 8.5, with
// d and dmin decoded as one vector 8.6 (the same pins on Q8KX: 7.8). V8 rebuilds a v128 constant
// (3 instructions) at each use inside a loop; masks made outside the loop from a value the
// optimizer cannot fold stayed in registers but gained nothing. At 8192 columns Q8KY (i16) runs as
// fast as the Q8KB bytes did (7.2 GB/s), so Q4_K has no byte kernel.
// Several positions (prompt): passes of up to 8 positions (q4kPass). Each 16 bytes of nibbles are
// decoded once per pass into four i16 vectors already multiplied by their sub-block scale, so a
// position costs only its loads, dot_i16x8 and adds: 9.8 -> ~19.5 GB/s (weight bytes x positions
// per second) at 8 positions, ~17.5 at 4, ~14 at 2. A chunk loop whose two halves are written
// out ran as fast as a fully unrolled block (within 3%); a loop over the halves ran 3% slower.

/**
 * Integer dot of 64 weights (32 bytes of nibbles at q: low nibbles sub-block A, high nibbles
 * sub-block B) with their Q8KY activations at x (groups A0 A1 B0 B1, 32 bytes each), scaled:
 * 256 * (scA * sum_A + scB * sum_B) as i32x4. The nibbles stay where they sit in their 16-bit
 * lanes (w & 0x000F: A evens, w & 0x0F00: 256 x A odds, w & 0x00F0: 16 x B evens, w >> 12: B odds)
 * and the activations carry the rest of a common factor 256 (quantize_q8ky), so the eight dots of
 * a sub-block pair add up in two accumulators. Bound: a lane holds at most 8 products of a
 * sub-block, each |15 * 256 * 127|, times a scale <= 63, over 8 sub-blocks: 1.97e9 < 2^31.
 * The pins after the first half keep V8 from issuing all ten loads first (see pin). m000F, m0F00,
 * m00F0: those masks in every 16-bit lane (q4kBlockY makes them).
 */
@inline function q4kChunkY(q: usize, x: usize, scA: v128, scB: v128, o: usize, m000F: v128, m0F00: v128, m00F0: v128): v128 {
  const w0 = v128.load(q)
  let sA = i32x4.add(dot(v128.and(w0, m000F), v128.load(x)), dot(v128.and(w0, m0F00), v128.load(x, 16)))
  let sB = i32x4.add(dot(v128.and(w0, m00F0), v128.load(x, 64)), dot(i16x8.shr_u(w0, 12), v128.load(x, 80)))
  pin(o, sA)
  pin(o, sB)
  const w1 = v128.load(q, 16)
  sA = i32x4.add(sA, i32x4.add(dot(v128.and(w1, m000F), v128.load(x, 32)), dot(v128.and(w1, m0F00), v128.load(x, 48))))
  sB = i32x4.add(sB, i32x4.add(dot(v128.and(w1, m00F0), v128.load(x, 96)), dot(i16x8.shr_u(w1, 12), v128.load(x, 112))))
  return i32x4.add(i32x4.mul(sA, scA), i32x4.mul(sB, scB))
}

/**
 * The 12 packed scale bytes of the Q4_K block at b as u8 lanes [sc0..7, mn0..7] (get_scale_min_k4
 * for all j at once): lanes 0-3 s[0..3] & 63; 4-7 (s[8..11] & 15) | (s[0..3] >> 6) << 4;
 * 8-11 s[4..7] & 63; 12-15 (s[8..11] >> 4) | (s[4..7] >> 6) << 4.
 */
@inline export function q4kScales(b: usize): v128 {
  const v = v128.load(b) // d, dmin, scales[12]
  const t1 = i8x16.shuffle(v, v, 4, 5, 6, 7, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15)
  const t2 = i8x16.shuffle(v, v, 0, 0, 0, 0, 4, 5, 6, 7, 0, 0, 0, 0, 8, 9, 10, 11)
  const a = v128.and(t1, i8x16(63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 0, 0, 0, 0))
  const h = v128.and(i16x8.shr_u(t1, 4), i8x16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 15, 15, 15))
  const c = v128.and(i16x8.shr_u(t2, 2), i8x16(0, 0, 0, 0, 0x30, 0x30, 0x30, 0x30, 0, 0, 0, 0, 0x30, 0x30, 0x30, 0x30))
  return v128.or(v128.or(a, h), c)
}

/**
 * One Q4_K block (at b) against one Q8KY block (at x), folded into sumf as vecDotQ4KQ8K does:
 * sumf + (d * dy) * isum - (dmin * dy) * imin, d and dmin decoded side by side (common.ts halves).
 * o: the caller's output slot, which the pins write before the result does.
 */
@inline export function q4kBlockY(b: usize, x: usize, sumf: f32, o: usize): f32 {
  const sm = q4kScales(b)
  const sc16 = i16x8.extend_low_i8x16_u(sm)
  const s03 = i32x4.extend_low_i16x8_u(sc16)
  const s47 = i32x4.extend_high_i16x8_u(sc16)
  // The nibble masks from all-ones lanes (a compare of a value with itself): 4 instructions, where
  // V8 rebuilds each v128 constant in the loop with 3 (measured: 8.4 -> 8.7 GB/s, Zen 4).
  const head = v128.load(b)
  const m000F = i16x8.shr_u(i16x8.eq(head, head), 12)
  const m0F00 = i16x8.shl(m000F, 8), m00F0 = i16x8.shl(m000F, 4)
  // Chunk c covers sub-blocks 2c and 2c + 1.
  let acc = q4kChunkY(b + 16, x + 16, i32x4.shuffle(s03, s03, 0, 0, 0, 0), i32x4.shuffle(s03, s03, 1, 1, 1, 1), o, m000F, m0F00, m00F0)
  pin(o, acc)
  acc = i32x4.add(acc, q4kChunkY(b + 48, x + 144, i32x4.shuffle(s03, s03, 2, 2, 2, 2), i32x4.shuffle(s03, s03, 3, 3, 3, 3), o, m000F, m0F00, m00F0))
  pin(o, acc)
  acc = i32x4.add(acc, q4kChunkY(b + 80, x + 272, i32x4.shuffle(s47, s47, 0, 0, 0, 0), i32x4.shuffle(s47, s47, 1, 1, 1, 1), o, m000F, m0F00, m00F0))
  pin(o, acc)
  acc = i32x4.add(acc, q4kChunkY(b + 112, x + 400, i32x4.shuffle(s47, s47, 2, 2, 2, 2), i32x4.shuffle(s47, s47, 3, 3, 3, 3), o, m000F, m0F00, m00F0))
  pin(o, acc)
  acc = i32x4.shr_s(acc, 8) // exact: every product carries the factor 256
  const md = dot(i16x8.extend_high_i8x16_u(sm), v128.load(x, 528)) // mins . bsum32
  const v = i32x4.add(i32x4.shuffle(acc, md, 0, 4, 1, 5), i32x4.shuffle(acc, md, 2, 6, 3, 7))
  const sums = f32x4.convert_i32x4_s(i32x4.add(v, i32x4.shuffle(v, v, 2, 3, 0, 1))) // isum, imin, isum, imin
  const p = f32x4.mul(f32x4.mul(halves(v128.load32_zero(b), false), v128.load32_splat(x)), sums)
  sumf = sumf + f32x4.extract_lane(p, 0)
  return sumf - f32x4.extract_lane(p, 1)
}

/**
 * P positions (1..8, a constant after inlining) of one Q4_K row (nb blocks at w) against the Q8KX
 * activations at x0 (xs bytes between positions): results to o + p * os. Per block, each 16 bytes
 * of nibbles (16-bit lane j: values 2j, 2j + 1 of a group of sub-block A in its low nibbles, of B
 * in the high ones) become four i16 vectors (A evens, A odds, B evens, B odds) times their scale
 * (q * sc <= 945; a block's 256 products with |x| <= 127 sum within i32), dotted with each
 * position: integer sums exact, so any order gives vecDotQ4KQ8K's isum.
 */
@inline function q4kPass(w: usize, nb: usize, x0: usize, xs: usize, o: usize, os: usize, P: i32, more: bool): void {
  let f0 = more ? loadPass(o, os, P, 0) : f32x4.splat(0) // sumf of positions 0-3 (with more: the sums so far)
  let f1 = more && P > 4 ? loadPass(o, os, P, 1) : f32x4.splat(0) // and 4-7
  const m = i16x8.splat(0x000f)
  for (let i: usize = 0; i < nb; i++) {
    const b = w + i * 144
    const x = x0 + i * 576
    const sm = q4kScales(b)
    let sc = i16x8.extend_low_i8x16_u(sm) // lanes 0, 1: the scales of the chunk at hand
    let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0)
    let a4 = i32x4.splat(0), a5 = i32x4.splat(0), a6 = i32x4.splat(0), a7 = i32x4.splat(0)
    for (let c: usize = 0; c < 4; c++) {
      const scA = i8x16.shuffle(sc, sc, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1)
      const scB = i8x16.shuffle(sc, sc, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3)
      sc = i8x16.shuffle(sc, sc, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3)
      const q = b + 16 + (c << 5)
      const xc = x + 16 + (c << 7) // groups A0, A1, B0, B1 of the chunk, 32 bytes each
      { // groups A0, B0
        const wv = v128.load(q)
        const ae = i16x8.mul(v128.and(wv, m), scA)
        const ao = i16x8.mul(v128.and(i16x8.shr_u(wv, 8), m), scA)
        const be = i16x8.mul(v128.and(i16x8.shr_u(wv, 4), m), scB)
        const bo = i16x8.mul(i16x8.shr_u(wv, 12), scB)
        let xp = xc
        a0 = dot4(a0, ae, ao, be, bo, xp); pin(o, a0)
        if (P > 1) { xp += xs; a1 = dot4(a1, ae, ao, be, bo, xp); pin(o, a1) }
        if (P > 2) { xp += xs; a2 = dot4(a2, ae, ao, be, bo, xp); pin(o, a2) }
        if (P > 3) { xp += xs; a3 = dot4(a3, ae, ao, be, bo, xp); pin(o, a3) }
        if (P > 4) { xp += xs; a4 = dot4(a4, ae, ao, be, bo, xp); pin(o, a4) }
        if (P > 5) { xp += xs; a5 = dot4(a5, ae, ao, be, bo, xp); pin(o, a5) }
        if (P > 6) { xp += xs; a6 = dot4(a6, ae, ao, be, bo, xp); pin(o, a6) }
        if (P > 7) { xp += xs; a7 = dot4(a7, ae, ao, be, bo, xp); pin(o, a7) }
      }
      { // groups A1, B1
        const wv = v128.load(q, 16)
        const ae = i16x8.mul(v128.and(wv, m), scA)
        const ao = i16x8.mul(v128.and(i16x8.shr_u(wv, 8), m), scA)
        const be = i16x8.mul(v128.and(i16x8.shr_u(wv, 4), m), scB)
        const bo = i16x8.mul(i16x8.shr_u(wv, 12), scB)
        let xp = xc + 32
        a0 = dot4(a0, ae, ao, be, bo, xp); pin(o, a0)
        if (P > 1) { xp += xs; a1 = dot4(a1, ae, ao, be, bo, xp); pin(o, a1) }
        if (P > 2) { xp += xs; a2 = dot4(a2, ae, ao, be, bo, xp); pin(o, a2) }
        if (P > 3) { xp += xs; a3 = dot4(a3, ae, ao, be, bo, xp); pin(o, a3) }
        if (P > 4) { xp += xs; a4 = dot4(a4, ae, ao, be, bo, xp); pin(o, a4) }
        if (P > 5) { xp += xs; a5 = dot4(a5, ae, ao, be, bo, xp); pin(o, a5) }
        if (P > 6) { xp += xs; a6 = dot4(a6, ae, ao, be, bo, xp); pin(o, a6) }
        if (P > 7) { xp += xs; a7 = dot4(a7, ae, ao, be, bo, xp); pin(o, a7) }
      }
    }
    // The mins (imin = mins . bsum32) and the float part, four positions per f32x4, each lane as
    // vecDotQ4KQ8K: sumf += (d * dy) * isum; sumf -= (dmin * dy) * imin.
    const mn = i16x8.extend_high_i8x16_u(sm)
    const d = f32x4.splat(half(load<u16>(b)))
    const dmin = f32x4.splat(half(load<u16>(b, 2)))
    let xq = x
    let m0 = dot(mn, v128.load(xq, 528))
    let dy = v128.load32_zero(xq)
    let m1 = i32x4.splat(0), m2 = i32x4.splat(0), m3 = i32x4.splat(0)
    if (P > 1) { xq += xs; m1 = dot(mn, v128.load(xq, 528)); dy = v128.load32_lane(xq, dy, 1) }
    if (P > 2) { xq += xs; m2 = dot(mn, v128.load(xq, 528)); dy = v128.load32_lane(xq, dy, 2) }
    if (P > 3) { xq += xs; m3 = dot(mn, v128.load(xq, 528)); dy = v128.load32_lane(xq, dy, 3) }
    f0 = f32x4.add(f0, f32x4.mul(f32x4.mul(d, dy), f32x4.convert_i32x4_s(hsum4(a0, a1, a2, a3))))
    f0 = f32x4.sub(f0, f32x4.mul(f32x4.mul(dmin, dy), f32x4.convert_i32x4_s(hsum4(m0, m1, m2, m3))))
    if (P > 4) {
      xq += xs; m0 = dot(mn, v128.load(xq, 528)); dy = v128.load32_zero(xq)
      m1 = i32x4.splat(0); m2 = i32x4.splat(0); m3 = i32x4.splat(0)
      if (P > 5) { xq += xs; m1 = dot(mn, v128.load(xq, 528)); dy = v128.load32_lane(xq, dy, 1) }
      if (P > 6) { xq += xs; m2 = dot(mn, v128.load(xq, 528)); dy = v128.load32_lane(xq, dy, 2) }
      if (P > 7) { xq += xs; m3 = dot(mn, v128.load(xq, 528)); dy = v128.load32_lane(xq, dy, 3) }
      f1 = f32x4.add(f1, f32x4.mul(f32x4.mul(d, dy), f32x4.convert_i32x4_s(hsum4(a4, a5, a6, a7))))
      f1 = f32x4.sub(f1, f32x4.mul(f32x4.mul(dmin, dy), f32x4.convert_i32x4_s(hsum4(m0, m1, m2, m3))))
    }
  }
  storePass(o, os, f0, f1, P)
}

/** q4kPass for n (1..8) positions: one compiled pass per count (inlined: see the speed notes). */
@inline export function q4kPassN(w: usize, nb: usize, x: usize, xs: usize, o: usize, os: usize, n: i32, more: bool = false): void {
  switch (n) {
    case 1: { q4kPass(w, nb, x, xs, o, os, 1, more); break }
    case 2: { q4kPass(w, nb, x, xs, o, os, 2, more); break }
    case 3: { q4kPass(w, nb, x, xs, o, os, 3, more); break }
    case 4: { q4kPass(w, nb, x, xs, o, os, 4, more); break }
    case 5: { q4kPass(w, nb, x, xs, o, os, 5, more); break }
    case 6: { q4kPass(w, nb, x, xs, o, os, 6, more); break }
    case 7: { q4kPass(w, nb, x, xs, o, os, 7, more); break }
    default: { q4kPass(w, nb, x, xs, o, os, 8, more); break }
  }
}

/**
 * out[p * rows + r] = row r of the Q4_K matrix at wPtr (rowBytes apart) . position p of the Q8KX
 * activations at xPtr (rowBytes / 144 blocks each), for r < rows, p < nPos: each equal to
 * vecDotQ4KQ8K bit for bit. Passes of up to POS_PASS positions, two passes per sweep over the rows
 * (see common.ts); the engine runs one position on q4k_matvec_y.
 */
export function q4k_matmul(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  const nb = <usize>(rowBytes / 144)
  const rb = <usize>rowBytes
  const xs = nb * 576
  const os = <usize>rows << 2
  const passes = (nPos + POS_PASS - 1) / POS_PASS
  for (let k = 0; k < passes; k += 2) {
    const pA = passStart(nPos, passes, k), pB = passStart(nPos, passes, k + 1), pC = passStart(nPos, passes, k + 2)
    for (let r = 0; r < rows; r++) {
      const w = wPtr + <usize>r * rb
      q4kPassN(w, nb, xPtr + <usize>pA * xs, xs, outPtr + (<usize>(pA * rows + r) << 2), os, pB - pA)
      if (pC > pB) q4kPassN(w, nb, xPtr + <usize>pB * xs, xs, outPtr + (<usize>(pB * rows + r) << 2), os, pC - pB)
    }
  }
}

/**
 * One position: out[r] = row r of the Q4_K matrix at wPtr . the Q8KY activations at xPtr
 * (quantize_q8ky), block by block, equal to vecDotQ4KQ8K bit for bit. nPos is ignored (1).
 */
export function q4k_matvec_y(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  const nb = <usize>(rowBytes / 144)
  for (let r = 0; r < rows; r++) {
    const w = wPtr + <usize>r * <usize>rowBytes
    const o = outPtr + (<usize>r << 2)
    let sumf: f32 = 0
    for (let i: usize = 0; i < nb; i++) sumf = q4kBlockY(w + i * 144, xPtr + i * 576, sumf, o)
    store<f32>(o, sumf)
  }
}
