/**
 * Q4_K weights (block_q4_K, 144 bytes / 256 values: fp16 d, fp16 dmin, 12 bytes of 6-bit scales
 * and mins, 128 bytes of nibbles) against Q8KX activations, bit-exact with vecDotQ4KQ8K. The float
 * path (F32X activations) is in float_k.ts.
 */
import {dot, dot4, everyByte, F32_2P112, FileOrder, FINITE_HALF_MASK, foldPair, half, halves, hsum4, LaneOrder, loadPass, passStart, pin, POS_PASS, storePass} from './common'
import {finiteHalves, laneHalves, laneMins, laneScales} from './q4_k_lanes'
import {rowsPair} from './rows_pair'

// Speed notes (V8 TurboFan on x64, scripts/bench-kernels.mjs, one thread, CPU time).
// One position (generation, q4k_matvec_y): a block is four one-chunk steps in straight-line code,
// each pinned (common.ts pin: V8 issues every load up to the next store first, and spills what it
// cannot hold). On Q8KY activations a chunk needs two accumulators instead of four and no shifts,
// and with a pin after each half nothing spills. Two rows share each activation load. Zen 4,
// 14336 x 4096: one row at a time on Q8KX 7.8 GB/s; on Q8KY 8.5; d and dmin decoded as one
// vector 8.6; masks from all-ones lanes 8.7; two rows far apart 10.2-10.4 (adjacent rows: 4.5,
// see rows_pair.ts; the same from L2 ran ~10). V8 rebuilds a v128 constant (3 instructions) at
// each use inside a loop; masks made outside the loop from a value the optimizer cannot fold
// stayed in registers but gained nothing. At 8192 columns Q8KY (i16) ran as fast as the Q8KB bytes
// did, so Q4_K has no byte kernel. With every v128 constant of the loop gone (q4kScales on lane
// shuffles and masks from all-ones lanes; halves with one constant), the rows' integer sums in
// one accumulator (fewer spills) and pointers stepped in rows_pair.ts: 10.3-10.4 -> 10.9-11.0
// GB/s (4096 x 14336 grouped: 10.0-10.2 -> 10.8-10.9); the loop went from ~475 to ~415 instructions
// a pair of blocks, of them 64 dot_i16x8 (V8's code read with --print-wasm-code). What is left
// is the dots and the shuffles that fold the rows' lanes before the scale multiply (Zen 4 runs
// shuffles beside the dots): without the scale step, results wrong, it ran +18%; without its
// shuffles +9%; without the scale decoding and the fp16 conversion +0%. Tried and dropped: scales
// as i16 through a dot (-1.5%), lanes [r, s, r, s] with the scales cut out by shifts (-1%), the
// block loop unrolled by two (0%), fewer pins (-1.5 to -3.5%), four rows sharing each activation
// load (-4.5%), rows interleaved in memory by 8 bytes as llama.cpp repacks Q4_K, activations
// duplicated to match (-15%: twice the activation loads; V8 folds no load into vpmaddwd). What
// took the fold and the per-chunk scale step away is the lane order of q4_k_lanes.ts, where each
// lane keeps one sub-block for the whole block (+5%), with the head repacked so that the scales
// need no shuffles (+6% more): 10.9-11.0 -> 12.1-12.2 GB/s, grouped 10.8-10.9 -> 12.1 (13.3 since,
// see there). The base build's engine runs that; this kernel stays for Q4_K in file order (a tied
// token embedding as the output, and matrices with an infinite or NaN d or dmin). (The scale
// decoding that cost nothing here costs 11% there: what limits a loop moves as it gets shorter.)
// Several positions (prompt): passes of up to 8 positions (q4kPass). Each 16 bytes of nibbles are
// decoded once per pass into four i16 vectors already multiplied by their sub-block scale, so a
// position costs only its loads, dot_i16x8 and adds: 9.8 -> ~19.5 GB/s (weight bytes x positions
// per second) at 8 positions, ~17.5 at 4, ~14 at 2. A chunk loop whose two halves are written
// out ran as fast as a fully unrolled block (within 3%); a loop over the halves ran 3% slower.

/**
 * One position of Q4_K against Q8KY activations, two rows at a time: the activation loads of a
 * step serve both rows. The nibbles stay where they sit in their 16-bit lanes (w & 0x000F: A
 * evens, w & 0x0F00: 256 x A odds, w & 0x00F0: 16 x B evens, w >> 12: B odds, for sub-blocks A
 * and B of a 32-byte chunk) and the activations carry the rest of a common factor 256
 * (quantize_q8ky), so a sub-block's dots add up in one accumulator with no shifts, and each
 * chunk's scaled sum is divided by 256 once (bound: q4kChunkPair).
 */

/** Each i32 lane's low 16 bits in both halves of it (v: values < 2^16). */
@inline function pairUp(v: v128): v128 {
  return v128.or(v, i32x4.shl(v, 16))
}

/** The dots of a sub-block A's 16-bit lanes of w (evens, odds x 256) with their activations. */
@inline export function q4kDotsA(w: v128, x0: v128, x1: v128, m000F: v128, m0F00: v128): v128 {
  return i32x4.add(dot(v128.and(w, m000F), x0), dot(v128.and(w, m0F00), x1))
}

/** The same for sub-block B (evens x 16, odds). */
@inline export function q4kDotsB(w: v128, x0: v128, x1: v128, m00F0: v128): v128 {
  return i32x4.add(dot(v128.and(w, m00F0), x0), dot(i16x8.shr_u(w, 12), x1))
}

/**
 * The 12 packed scale bytes of the Q4_K block at b as u8 lanes [sc0..7, mn0..7] (get_scale_min_k4
 * for all j at once): lanes 0-3 s[0..3] & 63; 4-7 (s[8..11] & 15) | (s[0..3] >> 6) << 4;
 * 8-11 s[4..7] & 63; 12-15 (s[8..11] >> 4) | (s[4..7] >> 6) << 4. That is, the low four bits of
 * the words s[0..3], s[8..11], s[4..7], s[8..11] >> 4, and bits 4-5 of s[0..3], s[0..3] >> 2,
 * s[4..7], s[4..7] >> 2. m0F, m30: 0x0F and 0x30 in every byte. Only 32-bit lane shuffles and
 * blends, which V8 emits without a constant (a byte shuffle costs a constant rebuilt at each use).
 */
@inline export function q4kScales(b: usize, m0F: v128 = i8x16.splat(0x0f), m30: v128 = i8x16.splat(0x30)): v128 {
  const v = v128.load(b) // words: d and dmin, s[0..3], s[4..7], s[8..11]
  const t = i32x4.shuffle(v, v, 1, 3, 2, 3)
  const lo = v128.and(i32x4.shuffle(t, i16x8.shr_u(t, 4), 0, 1, 2, 7), m0F)
  const u = i32x4.shuffle(v, v, 1, 1, 2, 2)
  const hi = v128.and(i32x4.shuffle(u, i16x8.shr_u(u, 2), 0, 5, 2, 7), m30)
  return v128.or(lo, hi)
}

/**
 * One 32-byte chunk (sub-blocks A, B) of two rows' Q4_K blocks (nibbles at q for row r, q2 for row
 * s) against the Q8KY activations at xc: [rA, rA, sA, sA] * c[0, 0, 2, 2] + [rB, rB, sB, sB] *
 * c[1, 1, 3, 3], where c = [r's scale of A, of B, s's scale of A, of B] and each pair of lanes holds
 * halves of a row's sub-block sum (lanes folded by the rows' shuffles before the multiply, so one
 * i32 multiply serves both rows), divided by the factor 256 all of them carry. Bound: a folded lane
 * holds 16 products, each |15 * 256 * 127|, times a scale <= 63, for two sub-blocks: 9.8e8 < 2^31
 * (and over a block's four chunks, after the division, 1.5e7). Without the division per chunk the
 * block's sum overflowed (the kernel test of blocks at their largest values caught it).
 */
@inline function q4kChunkPair(q: usize, q2: usize, xc: usize, c: v128, m000F: v128, m0F00: v128, m00F0: v128, o: usize): v128 {
  let w = v128.load(q), v = v128.load(q2)
  let x0 = v128.load(xc), x1 = v128.load(xc, 16)
  let rA = q4kDotsA(w, x0, x1, m000F, m0F00), sA = q4kDotsA(v, x0, x1, m000F, m0F00)
  pin(o, rA); pin(o, sA)
  x0 = v128.load(xc, 64); x1 = v128.load(xc, 80)
  let rB = q4kDotsB(w, x0, x1, m00F0), sB = q4kDotsB(v, x0, x1, m00F0)
  pin(o, rB); pin(o, sB)
  w = v128.load(q, 16); v = v128.load(q2, 16)
  x0 = v128.load(xc, 32); x1 = v128.load(xc, 48)
  rA = i32x4.add(rA, q4kDotsA(w, x0, x1, m000F, m0F00)); sA = i32x4.add(sA, q4kDotsA(v, x0, x1, m000F, m0F00))
  const a = foldPair(rA, sA)
  pin(o, a)
  x0 = v128.load(xc, 96); x1 = v128.load(xc, 112)
  rB = i32x4.add(rB, q4kDotsB(w, x0, x1, m00F0)); sB = i32x4.add(sB, q4kDotsB(v, x0, x1, m00F0))
  const bb = foldPair(rB, sB)
  const sum = i32x4.add(i32x4.mul(a, i32x4.shuffle(c, c, 0, 0, 2, 2)), i32x4.mul(bb, i32x4.shuffle(c, c, 1, 1, 3, 3)))
  return i32x4.shr_s(sum, 8) // exact: every product carries 256
}

/**
 * Two Q4_K blocks (rows r at b, s at b2; b2 = b computes one row twice) against one Q8KY block at
 * x: S (f32 lanes 0, 1: the rows' sums so far) plus each block as vecDotQ4KQ8K folds it,
 * sumf + (d * dy) * isum - (dmin * dy) * imin, both rows' float steps in one vector (the same
 * operations lane by lane). o: an output slot the caller writes after (the pins' target).
 * The four chunks are written out (q4kChunkPair inlined with constant offsets: as a loop over
 * chunks the same code ran at 8.8 GB/s against 10.4, Zen 4, 14336 x 4096). Every mask comes from
 * all-ones lanes (a compare of a value with itself), where V8 rebuilds each v128 constant in the
 * loop with 3 instructions. Both rows share one integer accumulator [r, r, s, s] and their
 * scales go in per chunk as [r's A, r's B, s's A, s's B] (one register per two chunks); the mins'
 * dot is taken first and pinned, so what stays live across the chunks fits the 16 registers better.
 */
@inline export function q4kBlockPairY(b: usize, b2: usize, x: usize, S: v128, o: usize): v128 {
  const head = v128.load(b)
  const m000F = i16x8.shr_u(i16x8.eq(head, head), 12)
  const m0F00 = i16x8.shl(m000F, 8), m00F0 = i16x8.shl(m000F, 4)
  const m0F = everyByte(m000F), m30 = everyByte(i16x8.shl(i16x8.shr_u(m0F00, 10), 4))
  const smR = q4kScales(b, m0F, m30), smS = q4kScales(b2, m0F, m30)
  const bsum = v128.load(x, 528)
  const mR = dot(i16x8.extend_high_i8x16_u(smR), bsum), mS = dot(i16x8.extend_high_i8x16_u(smS), bsum)
  const mins = foldPair(mR, mS) // imin r, r, s, s (halves)
  const scR = i16x8.extend_low_i8x16_u(smR), scS = i16x8.extend_low_i8x16_u(smS)
  const t03 = i32x4.shuffle(scR, scS, 0, 4, 1, 5) // i16 scales 0, 1 of r, of s, then 2, 3 of r, of s
  const t47 = i32x4.shuffle(scR, scS, 2, 6, 3, 7) // the same for 4-7
  pin(o, mins); pin(o, t47)
  let acc = q4kChunkPair(b + 16, b2 + 16, x + 16, i32x4.extend_low_i16x8_u(t03), m000F, m0F00, m00F0, o)
  pin(o, acc)
  acc = i32x4.add(acc, q4kChunkPair(b + 48, b2 + 48, x + 144, i32x4.extend_high_i16x8_u(t03), m000F, m0F00, m00F0, o))
  pin(o, acc)
  acc = i32x4.add(acc, q4kChunkPair(b + 80, b2 + 80, x + 272, i32x4.extend_low_i16x8_u(t47), m000F, m0F00, m00F0, o))
  pin(o, acc)
  acc = i32x4.add(acc, q4kChunkPair(b + 112, b2 + 112, x + 400, i32x4.extend_high_i16x8_u(t47), m000F, m0F00, m00F0, o))
  const ints = i32x4.add(i32x4.shuffle(acc, mins, 0, 4, 2, 6), i32x4.shuffle(acc, mins, 1, 5, 3, 7)) // isumR, iminR, isumS, iminS
  const dd = halves(v128.load32_lane(b2, v128.load32_zero(b), 1), false) // dR, dminR, dS, dminS
  const p = f32x4.mul(f32x4.mul(dd, v128.load32_splat(x)), f32x4.convert_i32x4_s(ints))
  return f32x4.sub(f32x4.add(S, i32x4.shuffle(p, p, 0, 2, 0, 2)), i32x4.shuffle(p, p, 1, 3, 1, 3))
}

/**
 * P positions (1..8, a constant after inlining) of one Q4_K row (nb blocks at w) against the Q8KX
 * activations at x0 (xs bytes between positions): results to o + p * os. Per block, each 16 bytes
 * of nibbles (16-bit lane j: values 2j, 2j + 1 of a group of sub-block A in its low nibbles, of B
 * in the high ones) become four i16 vectors (A evens, A odds, B evens, B odds) times their scale
 * (q * sc <= 945; a block's 256 products with |x| <= 127 sum within i32), dotted with each
 * position: integer sums exact, so any order gives vecDotQ4KQ8K's isum. With O = LaneOrder (L),
 * the row is in lane order against Q8KL activations (q4_k_lanes.ts): the same steps and places, each 16 bytes holding
 * all four pairs of sub-blocks, so the scales are one pair of vectors for the whole block, taken
 * with the mins, d and dmin from the head in lane order.
 */
@inline function q4kPass<O>(w: usize, nb: usize, x0: usize, xs: usize, o: usize, os: usize, P: i32, more: bool): void {
  const L = sizeof<O>() == sizeof<LaneOrder>()
  let f0 = more ? loadPass(o, os, P, 0) : f32x4.splat(0) // sumf of positions 0-3 (with more: the sums so far)
  let f1 = more && P > 4 ? loadPass(o, os, P, 1) : f32x4.splat(0) // and 4-7
  const m = i16x8.splat(0x000f)
  for (let i: usize = 0; i < nb; i++) {
    const b = w + i * 144
    const x = x0 + i * 576
    const sm = L ? v128.load(b) : q4kScales(b) // L: the head in lane order as it lies
    let sc = i16x8.extend_low_i8x16_u(sm) // lanes 0, 1: the scales of the chunk at hand
    const lA = L ? pairUp(laneScales(sm, false)) : sc // with L: i16 sc0, sc0, sc2, sc2, ... sc6
    const lB = L ? pairUp(laneScales(sm, true)) : sc // sc1, sc1, ... sc7
    let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0)
    let a4 = i32x4.splat(0), a5 = i32x4.splat(0), a6 = i32x4.splat(0), a7 = i32x4.splat(0)
    for (let c: usize = 0; c < 4; c++) {
      const scA = L ? lA : i8x16.shuffle(sc, sc, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1)
      const scB = L ? lB : i8x16.shuffle(sc, sc, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3)
      if (!L) sc = i8x16.shuffle(sc, sc, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3)
      const q = b + 16 + (c << 5)
      const xc = x + 16 + (c << 7) // groups A0, A1, B0, B1 of the chunk, 32 bytes each (L: the same places for steps 2c, 2c + 1)
      { // groups A0, B0 (L: step 2c)
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
      { // groups A1, B1 (L: step 2c + 1)
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
    const mn = L ? laneMins(sm, i16x8.splat(63)) : i16x8.extend_high_i8x16_u(sm)
    const dd = L ? finiteHalves(laneHalves(sm, sm, i16x8.splat(0xff)), i32x4.splat(FINITE_HALF_MASK), i32x4.splat(F32_2P112)) : f32x4.splat(0) // d, dmin, d, dmin
    const d = L ? i32x4.shuffle(dd, dd, 0, 0, 0, 0) : f32x4.splat(half(load<u16>(b)))
    const dmin = L ? i32x4.shuffle(dd, dd, 1, 1, 1, 1) : f32x4.splat(half(load<u16>(b, 2)))
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
@inline export function q4kPassN<O>(w: usize, nb: usize, x: usize, xs: usize, o: usize, os: usize, n: i32, more: bool): void {
  switch (n) {
    case 1: { q4kPass<O>(w, nb, x, xs, o, os, 1, more); break }
    case 2: { q4kPass<O>(w, nb, x, xs, o, os, 2, more); break }
    case 3: { q4kPass<O>(w, nb, x, xs, o, os, 3, more); break }
    case 4: { q4kPass<O>(w, nb, x, xs, o, os, 4, more); break }
    case 5: { q4kPass<O>(w, nb, x, xs, o, os, 5, more); break }
    case 6: { q4kPass<O>(w, nb, x, xs, o, os, 6, more); break }
    case 7: { q4kPass<O>(w, nb, x, xs, o, os, 7, more); break }
    default: { q4kPass<O>(w, nb, x, xs, o, os, 8, more); break }
  }
}

/**
 * out[p * rows + r] = row r of the Q4_K matrix at wPtr (rowBytes apart) . position p of the Q8KX
 * activations at xPtr (rowBytes / 144 blocks each), for r < rows, p < nPos: each equal to
 * vecDotQ4KQ8K bit for bit. Passes of up to POS_PASS positions, two passes per sweep over the rows
 * (see common.ts); the engine runs one position on q4k_matvec_y.
 */
export function q4k_matmul(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  q4kSweep<FileOrder>(wPtr, rowBytes, rows, xPtr, nPos, outPtr)
}

/** q4k_matmul's sweep; with O = LaneOrder over rows in lane order against Q8KL (q4_k_lanes.ts q4k_matmul_l). */
@inline export function q4kSweep<O>(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  const nb = <usize>(rowBytes / 144)
  const rb = <usize>rowBytes
  const xs = nb * 576
  const os = <usize>rows << 2
  const passes = (nPos + POS_PASS - 1) / POS_PASS
  for (let k = 0; k < passes; k += 2) {
    const pA = passStart(nPos, passes, k), pB = passStart(nPos, passes, k + 1), pC = passStart(nPos, passes, k + 2)
    for (let r = 0; r < rows; r++) {
      const w = wPtr + <usize>r * rb
      q4kPassN<O>(w, nb, xPtr + <usize>pA * xs, xs, outPtr + (<usize>(pA * rows + r) << 2), os, pB - pA, false)
      if (pC > pB) q4kPassN<O>(w, nb, xPtr + <usize>pB * xs, xs, outPtr + (<usize>(pB * rows + r) << 2), os, pC - pB, false)
    }
  }
}

/**
 * One position: out[r] = row r of the Q4_K matrix at wPtr . the Q8KY activations at xPtr
 * (quantize_q8ky), block by block, equal to vecDotQ4KQ8K bit for bit. nPos is ignored (1).
 */
export function q4k_matvec_y(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  rowsPair(wPtr, <usize>rowBytes, rows, <usize>(rowBytes / 144), xPtr, outPtr, false, false, false, false, false)
}
