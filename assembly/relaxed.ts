/**
 * Kernels on relaxed SIMD (i16x8.relaxed_dot_i8x16_i7x16_s: pmaddubsw on x64), built only into
 * dist/wasm/kernels-relaxed.wasm (kernels_relaxed.ts), which the engine runs with --relaxed-simd
 * (Node 20 validates these instructions only after V8's --experimental-wasm-relaxed-simd; see
 * src/kernels/wasm/relaxed.ts). Every result equals the base kernels' bit for bit: the byte dots
 * are exact for these operands (weights 0..63, activations -127..127: a pair sums to at most
 * 2 * 63 * 127, far from the i16 saturation that makes the instruction "relaxed").
 */
import {dot, foldPair, half, halves, hsum4, loadPass, pin, Q8KB_BSUM16, Q8KB_BSUM32, Q8KB_BYTES, storePass} from './common'
import {q4kScales} from './q4_k'
import {q6kHigh, q6kLow} from './q6_k'

// Speed notes (Zen 4, V8 11.3, 14336 x 4096, one thread, one position): Q4_K two rows at a time
// on Q8KN 13.4-14.2 GB/s, against 10.3-10.4 for q4kBlockPairY on Q8KY. With each sub-block's scale
// taken by i16x8 shuffles (three instructions each on x64) it ran 11.2; as i32 lanes holding the
// scale twice (sc | sc << 16), one vpshufd. q4kBlockPairR's four chunks are written out: each row's
// chunk through chunkDot (the pass's helper; the activations then loaded once per row) ran 13.1-13.2
// against 14.1-14.2, and 4096 x 14336 grouped 12.2 against 13.3-13.4.

/** Both halves of a sub-block: the byte dots of 32 activations (x0, x1) with 32 weights (q0, q1), as i16 pairs. */
@inline function nibbleDots(x0: v128, x1: v128, q0: v128, q1: v128): v128 {
  if (!ASC_FEATURE_RELAXED_SIMD) return unreachable() // the base build compiles no relaxed instruction
  return i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(x0, q0), i16x8.relaxed_dot_i8x16_i7x16_s(x1, q1))
}

/** The byte dots of 16 activations x with 16 weights q (bytes 0..63), as i16 pairs. */
@inline function byteDots(x: v128, q: v128): v128 {
  if (!ASC_FEATURE_RELAXED_SIMD) return unreachable() // the base build compiles no relaxed instruction
  return i16x8.relaxed_dot_i8x16_i7x16_s(x, q)
}

/** The high nibbles of 16 bytes w as bytes. */
@inline function high(w: v128, m: v128): v128 {
  return v128.and(i16x8.shr_u(w, 4), m)
}

/** The eight 6-bit values of u8 lanes 0-7 of sm, in i32 lanes lo (0-3) and hi (4-7) as v | v << 16: an i16 splat is one i32 shuffle. */
@inline function twiceLow(sm: v128): v128 {
  const v = i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(sm))
  return v128.or(v, i32x4.shl(v, 16))
}
@inline function twiceHigh(sm: v128): v128 {
  const v = i32x4.extend_high_i16x8_u(i16x8.extend_low_i8x16_u(sm))
  return v128.or(v, i32x4.shl(v, 16))
}

/**
 * q4_k.ts q4kBlockPairY on relaxed SIMD: two Q4_K blocks (rows r at b, s at b2) against one Q8KN
 * block at x (Q8_K values as bytes in their natural order: a nibble meets its activation byte for
 * byte). A sub-block's 32 products sum in i16 pairs (|lane| <= 4 * 15 * 127), which one i16 dot
 * with the scale splat widens, scales and sums: isum = sum of sc * products exactly, as
 * vecDotQ4KQ8K. S, o and the float steps as q4kBlockPairY.
 */
@inline export function q4kBlockPairR(b: usize, b2: usize, x: usize, S: v128, o: usize): v128 {
  const m = i8x16.splat(0x0f)
  const smR = q4kScales(b), smS = q4kScales(b2)
  const rlo = twiceLow(smR), rhi = twiceHigh(smR), slo = twiceLow(smS), shi = twiceHigh(smS)
  let accR = i32x4.splat(0), accS = i32x4.splat(0)
  { // chunk 0: sub-blocks 0 (A, low nibbles) and 1 (B, high nibbles)
    const q = b + 16, q2 = b2 + 16, xc = x + 16
    const w0 = v128.load(q), w1 = v128.load(q, 16), v0 = v128.load(q2), v1 = v128.load(q2, 16)
    let x0 = v128.load(xc), x1 = v128.load(xc, 16)
    const aR = nibbleDots(x0, x1, v128.and(w0, m), v128.and(w1, m)), aS = nibbleDots(x0, x1, v128.and(v0, m), v128.and(v1, m))
    pin(o, aR); pin(o, aS)
    x0 = v128.load(xc, 32); x1 = v128.load(xc, 48)
    const bR = nibbleDots(x0, x1, high(w0, m), high(w1, m)), bS = nibbleDots(x0, x1, high(v0, m), high(v1, m))
    accR = i32x4.add(accR, i32x4.add(dot(aR, i32x4.shuffle(rlo, rlo, 0, 0, 0, 0)), dot(bR, i32x4.shuffle(rlo, rlo, 1, 1, 1, 1))))
    accS = i32x4.add(accS, i32x4.add(dot(aS, i32x4.shuffle(slo, slo, 0, 0, 0, 0)), dot(bS, i32x4.shuffle(slo, slo, 1, 1, 1, 1))))
    pin(o, accR); pin(o, accS)
  }
  { // chunk 1: sub-blocks 2 (A, low nibbles) and 3 (B, high nibbles)
    const q = b + 48, q2 = b2 + 48, xc = x + 80
    const w0 = v128.load(q), w1 = v128.load(q, 16), v0 = v128.load(q2), v1 = v128.load(q2, 16)
    let x0 = v128.load(xc), x1 = v128.load(xc, 16)
    const aR = nibbleDots(x0, x1, v128.and(w0, m), v128.and(w1, m)), aS = nibbleDots(x0, x1, v128.and(v0, m), v128.and(v1, m))
    pin(o, aR); pin(o, aS)
    x0 = v128.load(xc, 32); x1 = v128.load(xc, 48)
    const bR = nibbleDots(x0, x1, high(w0, m), high(w1, m)), bS = nibbleDots(x0, x1, high(v0, m), high(v1, m))
    accR = i32x4.add(accR, i32x4.add(dot(aR, i32x4.shuffle(rlo, rlo, 2, 2, 2, 2)), dot(bR, i32x4.shuffle(rlo, rlo, 3, 3, 3, 3))))
    accS = i32x4.add(accS, i32x4.add(dot(aS, i32x4.shuffle(slo, slo, 2, 2, 2, 2)), dot(bS, i32x4.shuffle(slo, slo, 3, 3, 3, 3))))
    pin(o, accR); pin(o, accS)
  }
  { // chunk 2: sub-blocks 4 (A, low nibbles) and 5 (B, high nibbles)
    const q = b + 80, q2 = b2 + 80, xc = x + 144
    const w0 = v128.load(q), w1 = v128.load(q, 16), v0 = v128.load(q2), v1 = v128.load(q2, 16)
    let x0 = v128.load(xc), x1 = v128.load(xc, 16)
    const aR = nibbleDots(x0, x1, v128.and(w0, m), v128.and(w1, m)), aS = nibbleDots(x0, x1, v128.and(v0, m), v128.and(v1, m))
    pin(o, aR); pin(o, aS)
    x0 = v128.load(xc, 32); x1 = v128.load(xc, 48)
    const bR = nibbleDots(x0, x1, high(w0, m), high(w1, m)), bS = nibbleDots(x0, x1, high(v0, m), high(v1, m))
    accR = i32x4.add(accR, i32x4.add(dot(aR, i32x4.shuffle(rhi, rhi, 0, 0, 0, 0)), dot(bR, i32x4.shuffle(rhi, rhi, 1, 1, 1, 1))))
    accS = i32x4.add(accS, i32x4.add(dot(aS, i32x4.shuffle(shi, shi, 0, 0, 0, 0)), dot(bS, i32x4.shuffle(shi, shi, 1, 1, 1, 1))))
    pin(o, accR); pin(o, accS)
  }
  { // chunk 3: sub-blocks 6 (A, low nibbles) and 7 (B, high nibbles)
    const q = b + 112, q2 = b2 + 112, xc = x + 208
    const w0 = v128.load(q), w1 = v128.load(q, 16), v0 = v128.load(q2), v1 = v128.load(q2, 16)
    let x0 = v128.load(xc), x1 = v128.load(xc, 16)
    const aR = nibbleDots(x0, x1, v128.and(w0, m), v128.and(w1, m)), aS = nibbleDots(x0, x1, v128.and(v0, m), v128.and(v1, m))
    pin(o, aR); pin(o, aS)
    x0 = v128.load(xc, 32); x1 = v128.load(xc, 48)
    const bR = nibbleDots(x0, x1, high(w0, m), high(w1, m)), bS = nibbleDots(x0, x1, high(v0, m), high(v1, m))
    accR = i32x4.add(accR, i32x4.add(dot(aR, i32x4.shuffle(rhi, rhi, 2, 2, 2, 2)), dot(bR, i32x4.shuffle(rhi, rhi, 3, 3, 3, 3))))
    accS = i32x4.add(accS, i32x4.add(dot(aS, i32x4.shuffle(shi, shi, 2, 2, 2, 2)), dot(bS, i32x4.shuffle(shi, shi, 3, 3, 3, 3))))
    pin(o, accR); pin(o, accS)
  }
  const bsum = v128.load(x, Q8KB_BSUM32)
  const ints = hsum4(accR, dot(i16x8.extend_high_i8x16_u(smR), bsum), accS, dot(i16x8.extend_high_i8x16_u(smS), bsum))
  const dd = halves(v128.load32_lane(b2, v128.load32_zero(b), 1), false) // dR, dminR, dS, dminS
  const p = f32x4.mul(f32x4.mul(dd, v128.load32_splat(x)), f32x4.convert_i32x4_s(ints))
  return f32x4.sub(f32x4.add(S, i32x4.shuffle(p, p, 0, 2, 0, 2)), i32x4.shuffle(p, p, 1, 3, 1, 3))
}

/**
 * A chunk's dot for one position (q4kPassR): sub-block A (low nibbles lo0, lo1) and B (high, hi0,
 * hi1) against the 64 Q8KN bytes at xc, scaled (sA, sB: the scales as i16 splats) and added to acc.
 */
@inline function chunkDot(acc: v128, lo0: v128, lo1: v128, hi0: v128, hi1: v128, xc: usize, sA: v128, sB: v128): v128 {
  const a = nibbleDots(v128.load(xc), v128.load(xc, 16), lo0, lo1)
  const b = nibbleDots(v128.load(xc, 32), v128.load(xc, 48), hi0, hi1)
  return i32x4.add(acc, i32x4.add(dot(a, sA), dot(b, sB)))
}

/**
 * q4_k.ts q4kPass on relaxed SIMD: P positions (1..8, a constant after inlining) of one Q4_K row
 * (nb blocks at w) against the Q8KN activations at x0 (xs bytes between positions), results to
 * o + p * os (with more: added to the sums there). Each chunk's nibbles are split into bytes once
 * per pass (three operations per 16 bytes) and dotted with every position: four byte dots, two i16
 * dots with the scales and three adds a position and chunk. The float steps as q4kPass.
 */
@inline function q4kPassR(w: usize, nb: usize, x0: usize, xs: usize, o: usize, os: usize, P: i32, more: bool): void {
  let f0 = more ? loadPass(o, os, P, 0) : f32x4.splat(0)
  let f1 = more && P > 4 ? loadPass(o, os, P, 1) : f32x4.splat(0)
  for (let i: usize = 0; i < nb; i++) {
    const b = w + i * 144
    const x = x0 + i * Q8KB_BYTES
    const m = i8x16.splat(0x0f)
    const sm = q4kScales(b)
    let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0)
    let a4 = i32x4.splat(0), a5 = i32x4.splat(0), a6 = i32x4.splat(0), a7 = i32x4.splat(0)
    for (let c: usize = 0; c < 4; c++) {
      const tw = c < 2 ? twiceLow(sm) : twiceHigh(sm)
      const sA = (c & 1) == 0 ? i32x4.shuffle(tw, tw, 0, 0, 0, 0) : i32x4.shuffle(tw, tw, 2, 2, 2, 2)
      const sB = (c & 1) == 0 ? i32x4.shuffle(tw, tw, 1, 1, 1, 1) : i32x4.shuffle(tw, tw, 3, 3, 3, 3)
      const q = b + 16 + (c << 5)
      const w0 = v128.load(q), w1 = v128.load(q, 16)
      const lo0 = v128.and(w0, m), lo1 = v128.and(w1, m), hi0 = high(w0, m), hi1 = high(w1, m)
      let xc = x + 16 + (c << 6)
      a0 = chunkDot(a0, lo0, lo1, hi0, hi1, xc, sA, sB); pin(o, a0)
      if (P > 1) { xc += xs; a1 = chunkDot(a1, lo0, lo1, hi0, hi1, xc, sA, sB); pin(o, a1) }
      if (P > 2) { xc += xs; a2 = chunkDot(a2, lo0, lo1, hi0, hi1, xc, sA, sB); pin(o, a2) }
      if (P > 3) { xc += xs; a3 = chunkDot(a3, lo0, lo1, hi0, hi1, xc, sA, sB); pin(o, a3) }
      if (P > 4) { xc += xs; a4 = chunkDot(a4, lo0, lo1, hi0, hi1, xc, sA, sB); pin(o, a4) }
      if (P > 5) { xc += xs; a5 = chunkDot(a5, lo0, lo1, hi0, hi1, xc, sA, sB); pin(o, a5) }
      if (P > 6) { xc += xs; a6 = chunkDot(a6, lo0, lo1, hi0, hi1, xc, sA, sB); pin(o, a6) }
      if (P > 7) { xc += xs; a7 = chunkDot(a7, lo0, lo1, hi0, hi1, xc, sA, sB); pin(o, a7) }
    }
    // q4_k.ts q4kPass's float step but for where the sums lie. One inline helper for both (taking
    // the offset, four positions a call) took the relaxed build from 24 s to 60-64 s in the two
    // forms tried (their speed not measured), so the step stays written out here.
    const mn = i16x8.extend_high_i8x16_u(sm)
    const d = f32x4.splat(half(load<u16>(b)))
    const dmin = f32x4.splat(half(load<u16>(b, 2)))
    let xq = x
    let m0 = dot(mn, v128.load(xq, Q8KB_BSUM32))
    let dy = v128.load32_zero(xq)
    let m1 = i32x4.splat(0), m2 = i32x4.splat(0), m3 = i32x4.splat(0)
    if (P > 1) { xq += xs; m1 = dot(mn, v128.load(xq, Q8KB_BSUM32)); dy = v128.load32_lane(xq, dy, 1) }
    if (P > 2) { xq += xs; m2 = dot(mn, v128.load(xq, Q8KB_BSUM32)); dy = v128.load32_lane(xq, dy, 2) }
    if (P > 3) { xq += xs; m3 = dot(mn, v128.load(xq, Q8KB_BSUM32)); dy = v128.load32_lane(xq, dy, 3) }
    f0 = f32x4.add(f0, f32x4.mul(f32x4.mul(d, dy), f32x4.convert_i32x4_s(hsum4(a0, a1, a2, a3))))
    f0 = f32x4.sub(f0, f32x4.mul(f32x4.mul(dmin, dy), f32x4.convert_i32x4_s(hsum4(m0, m1, m2, m3))))
    if (P > 4) {
      xq += xs; m0 = dot(mn, v128.load(xq, Q8KB_BSUM32)); dy = v128.load32_zero(xq)
      m1 = i32x4.splat(0); m2 = i32x4.splat(0); m3 = i32x4.splat(0)
      if (P > 5) { xq += xs; m1 = dot(mn, v128.load(xq, Q8KB_BSUM32)); dy = v128.load32_lane(xq, dy, 1) }
      if (P > 6) { xq += xs; m2 = dot(mn, v128.load(xq, Q8KB_BSUM32)); dy = v128.load32_lane(xq, dy, 2) }
      if (P > 7) { xq += xs; m3 = dot(mn, v128.load(xq, Q8KB_BSUM32)); dy = v128.load32_lane(xq, dy, 3) }
      f1 = f32x4.add(f1, f32x4.mul(f32x4.mul(d, dy), f32x4.convert_i32x4_s(hsum4(a4, a5, a6, a7))))
      f1 = f32x4.sub(f1, f32x4.mul(f32x4.mul(dmin, dy), f32x4.convert_i32x4_s(hsum4(m0, m1, m2, m3))))
    }
  }
  storePass(o, os, f0, f1, P)
}

/** q4kPassR for n (1..8) positions: one compiled pass per count. */
@inline export function q4kPassRN(w: usize, nb: usize, x: usize, xs: usize, o: usize, os: usize, n: i32, more: bool = false): void {
  switch (n) {
    case 1: { q4kPassR(w, nb, x, xs, o, os, 1, more); break }
    case 2: { q4kPassR(w, nb, x, xs, o, os, 2, more); break }
    case 3: { q4kPassR(w, nb, x, xs, o, os, 3, more); break }
    case 4: { q4kPassR(w, nb, x, xs, o, os, 4, more); break }
    case 5: { q4kPassR(w, nb, x, xs, o, os, 5, more); break }
    case 6: { q4kPassR(w, nb, x, xs, o, os, 6, more); break }
    case 7: { q4kPassR(w, nb, x, xs, o, os, 7, more); break }
    default: { q4kPassR(w, nb, x, xs, o, os, 8, more); break }
  }
}

/** Four i8 scales (lanes 4k .. 4k + 3 of sc, a constant k) in i32 lanes as their i16 value twice: an i16 splat is one i32 shuffle. */
@inline function twiceSigned(sc: v128, k: i32): v128 {
  const h = k < 2 ? i16x8.extend_low_i8x16_s(sc) : i16x8.extend_high_i8x16_s(sc)
  const v = (k & 1) == 0 ? i32x4.extend_low_i16x8_u(h) : i32x4.extend_high_i16x8_u(h)
  return v128.or(v, i32x4.shl(v, 16))
}

/** A Q6_K group: the byte dots of its 16 values t (0..63) with their activations x, times the scale in i32 lane k of tw (twiceSigned). */
@inline function q6kGroupR(x: v128, t: v128, tw: v128, k: i32): v128 {
  const s = k == 0 ? i32x4.shuffle(tw, tw, 0, 0, 0, 0) : k == 1 ? i32x4.shuffle(tw, tw, 1, 1, 1, 1)
    : k == 2 ? i32x4.shuffle(tw, tw, 2, 2, 2, 2) : i32x4.shuffle(tw, tw, 3, 3, 3, 3)
  return dot(byteDots(x, t), s)
}

/**
 * q6_k.ts q6kQuadPair on relaxed SIMD: quad q (a constant) of rows R (block at b) and S (at b2)
 * against Q8KN at x (a group's 16 activations are one load), its four groups times their scales
 * (twR, twS: twiceSigned of the quad's scales), as [R, R, S, S] partial sums.
 */
@inline function q6kQuadPairR(b: usize, b2: usize, x: usize, q: usize, twR: v128, twS: v128, o: usize): v128 {
  const m0F = i8x16.splat(0x0f)
  const m30 = i8x16.splat(0x30)
  const ql: usize = ((q >> 1) << 6) + ((q & 1) << 4), qh: usize = 128 + ((q >> 1) << 5) + ((q & 1) << 4)
  const ra = v128.load(b + ql), rb = v128.load(b + ql, 32), rh = v128.load(b + qh)
  const sa = v128.load(b2 + ql), sb = v128.load(b2 + ql, 32), sh = v128.load(b2 + qh)
  const xq = x + 16 + ((q >> 1) << 7) + ((q & 1) << 4)
  let xv = v128.load(xq) // offset 0: low nibbles, high bits 0-1
  let cR = q6kGroupR(xv, q6kLow(ra, rh, 4, m0F, m30), twR, 0), cS = q6kGroupR(xv, q6kLow(sa, sh, 4, m0F, m30), twS, 0)
  pin(o, cR); pin(o, cS)
  xv = v128.load(xq, 32) // offset 32: low nibbles, high bits 2-3
  cR = i32x4.add(cR, q6kGroupR(xv, q6kLow(rb, rh, 2, m0F, m30), twR, 1))
  cS = i32x4.add(cS, q6kGroupR(xv, q6kLow(sb, sh, 2, m0F, m30), twS, 1))
  pin(o, cR); pin(o, cS)
  xv = v128.load(xq, 64) // offset 64: high nibbles, high bits 4-5
  cR = i32x4.add(cR, q6kGroupR(xv, q6kHigh(ra, rh, 0, m0F, m30), twR, 2))
  cS = i32x4.add(cS, q6kGroupR(xv, q6kHigh(sa, sh, 0, m0F, m30), twS, 2))
  pin(o, cR); pin(o, cS)
  xv = v128.load(xq, 96) // offset 96: high nibbles, high bits 6-7
  cR = i32x4.add(cR, q6kGroupR(xv, q6kHigh(rb, rh, 2, m0F, m30), twR, 3))
  cS = i32x4.add(cS, q6kGroupR(xv, q6kHigh(sb, sh, 2, m0F, m30), twS, 3))
  return foldPair(cR, cS)
}

/**
 * q6_k.ts q6kBlockPair on relaxed SIMD against one Q8KN block at x: the same integer sums (|a byte
 * pair| <= 2 * 63 * 127 stays clear of the i16 saturation), the same float steps.
 */
@inline export function q6kBlockPairR(b: usize, b2: usize, x: usize, S: v128, o: usize): v128 {
  const order = i8x16(0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15) // quad q: lanes 4q .. 4q + 3
  const rawR = v128.load(b, 192), rawS = v128.load(b2, 192)
  const pR = i8x16.swizzle(rawR, order), pS = i8x16.swizzle(rawS, order)
  let acc = q6kQuadPairR(b, b2, x, 0, twiceSigned(pR, 0), twiceSigned(pS, 0), o)
  pin(o, acc)
  acc = i32x4.add(acc, q6kQuadPairR(b, b2, x, 1, twiceSigned(pR, 1), twiceSigned(pS, 1), o))
  pin(o, acc)
  acc = i32x4.add(acc, q6kQuadPairR(b, b2, x, 2, twiceSigned(pR, 2), twiceSigned(pS, 2), o))
  pin(o, acc)
  acc = i32x4.add(acc, q6kQuadPairR(b, b2, x, 3, twiceSigned(pR, 3), twiceSigned(pS, 3), o))
  const bs0 = v128.load(x, Q8KB_BSUM16), bs1 = v128.load(x, Q8KB_BSUM16 + 16)
  const cR = i32x4.add(dot(i16x8.extend_low_i8x16_s(rawR), bs0), dot(i16x8.extend_high_i8x16_s(rawR), bs1))
  const cS = i32x4.add(dot(i16x8.extend_low_i8x16_s(rawS), bs0), dot(i16x8.extend_high_i8x16_s(rawS), bs1))
  acc = i32x4.sub(acc, i32x4.shl(foldPair(cR, cS), 5))
  const isum = i32x4.add(i32x4.shuffle(acc, acc, 0, 2, 0, 2), i32x4.shuffle(acc, acc, 1, 3, 1, 3)) // R, S, R, S
  const dd = halves(v128.load16_lane(b2 + 208, v128.load16_lane(b + 208, i32x4.splat(0), 0), 1), false) // dR, dS
  return f32x4.add(S, f32x4.mul(f32x4.mul(dd, v128.load32_splat(x)), f32x4.convert_i32x4_s(isum)))
}

/** A Q6_K group's dot for one position (q6kPassR): its 16 values t against the 16 Q8KN bytes at x, times the scale splat s, added to acc. */
@inline function groupDot(acc: v128, t: v128, x: usize, s: v128): v128 {
  return i32x4.add(acc, dot(byteDots(v128.load(x), t), s))
}

/**
 * q6_k.ts q6kPass on relaxed SIMD: P positions (1..8, a constant after inlining) of one Q6_K row
 * (nb blocks at w) against the Q8KN activations at x0 (xs bytes between positions), results to
 * o + p * os (with more: added to the sums there). Each group's 16 values are decoded once per
 * pass as bytes 0..63 and dotted with every position (a byte dot, a scale dot and an add); the -32
 * of every value goes in once per position and block through bsum16, as in q6kBlockPairR.
 */
@inline function q6kPassR(w: usize, nb: usize, x0: usize, xs: usize, o: usize, os: usize, P: i32, more: bool): void {
  let f0 = more ? loadPass(o, os, P, 0) : f32x4.splat(0)
  let f1 = more && P > 4 ? loadPass(o, os, P, 1) : f32x4.splat(0)
  for (let i: usize = 0; i < nb; i++) {
    const b = w + i * 210
    const x = x0 + i * Q8KB_BYTES
    const m0F = i8x16.splat(0x0f)
    const m30 = i8x16.splat(0x30)
    const raw = v128.load(b, 192)
    // The scales in the order the quads take them; sc holds the current quad's four in lanes 0-3.
    let sc = i8x16.swizzle(raw, i8x16(0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15))
    let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0)
    let a4 = i32x4.splat(0), a5 = i32x4.splat(0), a6 = i32x4.splat(0), a7 = i32x4.splat(0)
    for (let q: usize = 0; q < 4; q++) {
      const tw = twiceSigned(sc, 0)
      sc = i8x16.shuffle(sc, sc, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3)
      const ql = b + ((q >> 1) << 6) + ((q & 1) << 4), qh = b + 128 + ((q >> 1) << 5) + ((q & 1) << 4)
      const xq = x + 16 + ((q >> 1) << 7) + ((q & 1) << 4)
      { // offsets 0 and 32: low nibbles, high bits 0-1 and 2-3
        const hv = v128.load(qh)
        const t0 = q6kLow(v128.load(ql), hv, 4, m0F, m30), t1 = q6kLow(v128.load(ql, 32), hv, 2, m0F, m30)
        const s0 = i32x4.shuffle(tw, tw, 0, 0, 0, 0), s1 = i32x4.shuffle(tw, tw, 1, 1, 1, 1)
        let xp = xq
        a0 = groupDot(groupDot(a0, t0, xp, s0), t1, xp + 32, s1); pin(o, a0)
        if (P > 1) { xp += xs; a1 = groupDot(groupDot(a1, t0, xp, s0), t1, xp + 32, s1); pin(o, a1) }
        if (P > 2) { xp += xs; a2 = groupDot(groupDot(a2, t0, xp, s0), t1, xp + 32, s1); pin(o, a2) }
        if (P > 3) { xp += xs; a3 = groupDot(groupDot(a3, t0, xp, s0), t1, xp + 32, s1); pin(o, a3) }
        if (P > 4) { xp += xs; a4 = groupDot(groupDot(a4, t0, xp, s0), t1, xp + 32, s1); pin(o, a4) }
        if (P > 5) { xp += xs; a5 = groupDot(groupDot(a5, t0, xp, s0), t1, xp + 32, s1); pin(o, a5) }
        if (P > 6) { xp += xs; a6 = groupDot(groupDot(a6, t0, xp, s0), t1, xp + 32, s1); pin(o, a6) }
        if (P > 7) { xp += xs; a7 = groupDot(groupDot(a7, t0, xp, s0), t1, xp + 32, s1); pin(o, a7) }
      }
      { // offsets 64 and 96: high nibbles, high bits 4-5 and 6-7
        const hv = v128.load(qh)
        const t2 = q6kHigh(v128.load(ql), hv, 0, m0F, m30), t3 = q6kHigh(v128.load(ql, 32), hv, 2, m0F, m30)
        const s2 = i32x4.shuffle(tw, tw, 2, 2, 2, 2), s3 = i32x4.shuffle(tw, tw, 3, 3, 3, 3)
        let xp = xq + 64
        a0 = groupDot(groupDot(a0, t2, xp, s2), t3, xp + 32, s3); pin(o, a0)
        if (P > 1) { xp += xs; a1 = groupDot(groupDot(a1, t2, xp, s2), t3, xp + 32, s3); pin(o, a1) }
        if (P > 2) { xp += xs; a2 = groupDot(groupDot(a2, t2, xp, s2), t3, xp + 32, s3); pin(o, a2) }
        if (P > 3) { xp += xs; a3 = groupDot(groupDot(a3, t2, xp, s2), t3, xp + 32, s3); pin(o, a3) }
        if (P > 4) { xp += xs; a4 = groupDot(groupDot(a4, t2, xp, s2), t3, xp + 32, s3); pin(o, a4) }
        if (P > 5) { xp += xs; a5 = groupDot(groupDot(a5, t2, xp, s2), t3, xp + 32, s3); pin(o, a5) }
        if (P > 6) { xp += xs; a6 = groupDot(groupDot(a6, t2, xp, s2), t3, xp + 32, s3); pin(o, a6) }
        if (P > 7) { xp += xs; a7 = groupDot(groupDot(a7, t2, xp, s2), t3, xp + 32, s3); pin(o, a7) }
      }
    }
    // isum - 32 * sum of scale * bsum16, four positions per vector, then the float step of vecDotQ6KQ8K.
    const lo = i16x8.extend_low_i8x16_s(raw), hi = i16x8.extend_high_i8x16_s(raw)
    const d = f32x4.splat(half(load<u16>(b, 208)))
    let xq = x
    let c0 = i32x4.add(dot(lo, v128.load(xq, Q8KB_BSUM16)), dot(hi, v128.load(xq, Q8KB_BSUM16 + 16)))
    let dy = v128.load32_zero(xq)
    let c1 = i32x4.splat(0), c2 = i32x4.splat(0), c3 = i32x4.splat(0)
    if (P > 1) { xq += xs; c1 = i32x4.add(dot(lo, v128.load(xq, Q8KB_BSUM16)), dot(hi, v128.load(xq, Q8KB_BSUM16 + 16))); dy = v128.load32_lane(xq, dy, 1) }
    if (P > 2) { xq += xs; c2 = i32x4.add(dot(lo, v128.load(xq, Q8KB_BSUM16)), dot(hi, v128.load(xq, Q8KB_BSUM16 + 16))); dy = v128.load32_lane(xq, dy, 2) }
    if (P > 3) { xq += xs; c3 = i32x4.add(dot(lo, v128.load(xq, Q8KB_BSUM16)), dot(hi, v128.load(xq, Q8KB_BSUM16 + 16))); dy = v128.load32_lane(xq, dy, 3) }
    f0 = f32x4.add(f0, f32x4.mul(f32x4.mul(d, dy), f32x4.convert_i32x4_s(i32x4.sub(hsum4(a0, a1, a2, a3), i32x4.shl(hsum4(c0, c1, c2, c3), 5)))))
    if (P > 4) {
      xq += xs; c0 = i32x4.add(dot(lo, v128.load(xq, Q8KB_BSUM16)), dot(hi, v128.load(xq, Q8KB_BSUM16 + 16))); dy = v128.load32_zero(xq)
      c1 = i32x4.splat(0); c2 = i32x4.splat(0); c3 = i32x4.splat(0)
      if (P > 5) { xq += xs; c1 = i32x4.add(dot(lo, v128.load(xq, Q8KB_BSUM16)), dot(hi, v128.load(xq, Q8KB_BSUM16 + 16))); dy = v128.load32_lane(xq, dy, 1) }
      if (P > 6) { xq += xs; c2 = i32x4.add(dot(lo, v128.load(xq, Q8KB_BSUM16)), dot(hi, v128.load(xq, Q8KB_BSUM16 + 16))); dy = v128.load32_lane(xq, dy, 2) }
      if (P > 7) { xq += xs; c3 = i32x4.add(dot(lo, v128.load(xq, Q8KB_BSUM16)), dot(hi, v128.load(xq, Q8KB_BSUM16 + 16))); dy = v128.load32_lane(xq, dy, 3) }
      f1 = f32x4.add(f1, f32x4.mul(f32x4.mul(d, dy), f32x4.convert_i32x4_s(i32x4.sub(hsum4(a4, a5, a6, a7), i32x4.shl(hsum4(c0, c1, c2, c3), 5)))))
    }
  }
  storePass(o, os, f0, f1, P)
}

/** q6kPassR for n (1..8) positions: one compiled pass per count. */
@inline export function q6kPassRN(w: usize, nb: usize, x: usize, xs: usize, o: usize, os: usize, n: i32, more: bool = false): void {
  switch (n) {
    case 1: { q6kPassR(w, nb, x, xs, o, os, 1, more); break }
    case 2: { q6kPassR(w, nb, x, xs, o, os, 2, more); break }
    case 3: { q6kPassR(w, nb, x, xs, o, os, 3, more); break }
    case 4: { q6kPassR(w, nb, x, xs, o, os, 4, more); break }
    case 5: { q6kPassR(w, nb, x, xs, o, os, 5, more); break }
    case 6: { q6kPassR(w, nb, x, xs, o, os, 6, more); break }
    case 7: { q6kPassR(w, nb, x, xs, o, os, 7, more); break }
    default: { q6kPassR(w, nb, x, xs, o, os, 8, more); break }
  }
}
