/**
 * Q6_K weights (block_q6_K, 210 bytes / 256 values: ql[128] low nibbles, qh[64] two high bits
 * each, 16 i8 group scales, fp16 d) against Q8KX activations, bit-exact with vecDotQ6KQ8K. The
 * float path (F32X activations) is in float_k.ts.
 */
import {act, dot, dot4, everyByte, FileOrder, foldPair, half, halves, hsum4, LaneOrder, loadPass, passStart, pin, POS_PASS, Q8KB_BSUM16, Q8KB_BYTES, storePass} from './common'
import {laneD3Even, laneD3Odd, laneEven, laneOdd, q6kQuadPairL} from './q6_k_lanes'
import {rowsPair} from './rows_pair'

// Speed notes (as in q4_k.ts). Several positions run in passes of up to 8 (q6kPass): each weight
// vector is decoded once per pass, (q - 32) * scale as i16, and dotted with each position: ~16.5
// GB/s at 2 positions and ~25.5 at 8 (weight bytes x positions per second, Zen 5). Decoding two
// 6-bit values per 16-bit lane at once (low byte: even value, high byte: odd) and sign-extending
// after a bytewise -32 saved 2 of 13 operations a pair.
// One position (q6kBlockPair) decodes the values unsigned (0..63), takes the -32 off once per block
// through the activations' group sums, and scales each group's integer sum instead of its decoded
// weights (i16 multiplies), in straight-line code over the four quads with the weight loads of a
// quad shared by its two steps, two rows at a time sharing the activation loads (rows far apart,
// as for Q4_K). Zen 4, 14336 x 4096, one thread: as a 1-position pass 7.9 GB/s; unrolled with a
// horizontal sum per quad 8.5; scaling each group 8.9; not reloading the weights 9.1; both 9.2-9.4;
// two rows 10.0. A group's sum fits i16 (4 products a lane), so two groups are narrowed into one
// vector and scaled by one dot_i16x8 (where an i32 multiply and a splat of the scale served one
// group), with the masks made from all-ones lanes and the scales doubled by unpacks instead of a
// byte shuffle (V8 rebuilds every v128 constant at each use in the loop): 9.9-10.0 -> 11.0-11.1
// GB/s, and 9.5 -> 10.8-11.0 for the grouped 4096 x 14336 (with rows_pair.ts stepping pointers).

/** The 6-bit values t (0..63, bytes) minus 32, as the passes dot them. */
@inline function q6kBias(t: v128): v128 {
  return i8x16.sub(t, i8x16.splat(32))
}

/** Lane-order values (0..63, i16) minus 32, as the passes dot them. */
@inline function laneBias(v: v128): v128 {
  return i16x8.sub(v, i16x8.splat(32))
}

/** The even (low-byte) signed values of t as i16. */
@inline function q6kEven(t: v128): v128 {
  return i16x8.shr_s(i16x8.shl(t, 8), 8)
}

/** The odd (high-byte) signed values of t as i16. */
@inline function q6kOdd(t: v128): v128 {
  return i16x8.shr_s(t, 8)
}

/** The 6-bit values of 16 bytes of low nibbles q with their high bits (h << hs) & 0x30 (hs = 4 or 2, constant). */
@inline export function q6kLow(q: v128, h: v128, hs: i32, m0F: v128, m30: v128): v128 {
  return v128.or(v128.and(q, m0F), v128.and(hs == 4 ? i16x8.shl(h, 4) : i16x8.shl(h, 2), m30))
}

/** The same from the high nibbles of q, high bits (h >> hs) & 0x30 (hs = 0 or 2, constant). */
@inline export function q6kHigh(q: v128, h: v128, hs: i32, m0F: v128, m30: v128): v128 {
  return v128.or(v128.and(i16x8.shr_u(q, 4), m0F), v128.and(hs == 0 ? h : i16x8.shr_u(h, 2), m30))
}

/** A group's integer dot: 16 unsigned values t (even in the low bytes, odd in the high) with their activations (|lane| <= 4 * 63 * 127 < 2^15). */
@inline function q6kGroup(t: v128, x0: v128, x1: v128, mFF: v128): v128 {
  return i32x4.add(dot(v128.and(t, mFF), x0), dot(i16x8.shr_u(t, 8), x1))
}

/** Two groups' dots g, h (each lane within i16) times their scales: sc holds i16 [g's scale x 4, h's x 4]. */
@inline export function q6kScaled(g: v128, h: v128, sc: v128): v128 {
  return dot(i16x8.narrow_i32x4_s(g, h), sc)
}

/**
 * Quad q (0..3, a constant after inlining; see q6kPass) of rows R (block at b) and S (at b2), one
 * position, the values unsigned (0..63), against the activations at x (Q8KX, or with B Q8KB), each
 * activation load serving both rows: the quad's four group sums, each within i16, narrowed in
 * pairs and dotted with their scales (scR01: row R's i16 [scale of the quad's group 0 x 4, of group
 * 1 x 4], scR23 the same for groups 2 and 3; scS01, scS23 row S's), folded as [R, R, S, S] partial
 * sums. The weights are loaded once for both steps; the pins keep V8 from issuing later loads first.
 */
@inline function q6kQuadPair(b: usize, b2: usize, x: usize, q: usize, scR01: v128, scR23: v128, scS01: v128, scS23: v128,
  m0F: v128, m30: v128, mFF: v128, o: usize, B: bool): v128 {
  const ql: usize = ((q >> 1) << 6) + ((q & 1) << 4), qh: usize = 128 + ((q >> 1) << 5) + ((q & 1) << 4)
  const ra = v128.load(b + ql), rb = v128.load(b + ql, 32), rh = v128.load(b + qh)
  const sa = v128.load(b2 + ql), sb = v128.load(b2 + ql, 32), sh = v128.load(b2 + qh)
  const xq = x + 16 + ((((q >> 1) << 8) + ((q & 1) << 5)) >> (B ? 1 : 0))
  let x0 = act(xq, 0, B), x1 = act(xq, 16, B) // offset 0: low nibbles, high bits 0-1
  const g0R = q6kGroup(q6kLow(ra, rh, 4, m0F, m30), x0, x1, mFF), g0S = q6kGroup(q6kLow(sa, sh, 4, m0F, m30), x0, x1, mFF)
  pin(o, g0R)
  pin(o, g0S)
  x0 = act(xq, 64, B); x1 = act(xq, 80, B) // offset 32: low nibbles, high bits 2-3
  let cR = q6kScaled(g0R, q6kGroup(q6kLow(rb, rh, 2, m0F, m30), x0, x1, mFF), scR01)
  let cS = q6kScaled(g0S, q6kGroup(q6kLow(sb, sh, 2, m0F, m30), x0, x1, mFF), scS01)
  pin(o, cR)
  pin(o, cS)
  x0 = act(xq, 128, B); x1 = act(xq, 144, B) // offset 64: high nibbles, high bits 4-5
  const g2R = q6kGroup(q6kHigh(ra, rh, 0, m0F, m30), x0, x1, mFF), g2S = q6kGroup(q6kHigh(sa, sh, 0, m0F, m30), x0, x1, mFF)
  pin(o, g2R)
  pin(o, g2S)
  x0 = act(xq, 192, B); x1 = act(xq, 208, B) // offset 96: high nibbles, high bits 6-7
  cR = i32x4.add(cR, q6kScaled(g2R, q6kGroup(q6kHigh(rb, rh, 2, m0F, m30), x0, x1, mFF), scR23))
  cS = i32x4.add(cS, q6kScaled(g2S, q6kGroup(q6kHigh(sb, sh, 2, m0F, m30), x0, x1, mFF), scS23))
  return foldPair(cR, cS)
}

/** i16 [s0 x 4, s2 x 4] (odd false) or [s1 x 4, s3 x 4] (odd) from u = i16 [s0, s0, s1, s1, s2, s2, s3, s3]. */
@inline function q6kScalePair(u: v128, odd: bool): v128 {
  return odd ? i32x4.shuffle(u, u, 1, 1, 3, 3) : i32x4.shuffle(u, u, 0, 0, 2, 2)
}

/**
 * q6kQuadPair (or with O = LaneOrder q6_k_lanes.ts q6kQuadPairL) with quad q's scales taken from
 * eR, eS: the eight scales of the quad's half (groups 8h + 0 .. 7, h = q >> 1) of row R's and row
 * S's block as i16; quad q & 1 takes groups q & 1, + 2, + 4, + 6 of them. Each i16 lane is doubled
 * (lane shuffles V8 emits as unpacks, without a constant) and two of the doubled pairs spread over
 * four lanes each (q6kScalePair). The masks m1, m2, m3: file order 0x0f and 0x30 in every byte and
 * 0x00ff; lane order 0x003f, 0x0030 and 0x003c.
 */
@inline function q6kQuadPairScaled<O>(b: usize, b2: usize, x: usize, q: usize, eR: v128, eS: v128, m1: v128, m2: v128, m3: v128, o: usize, B: bool): v128 {
  const odd = (q & 1) != 0
  const uR0 = i8x16.shuffle(eR, eR, 0, 1, 0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7), uR1 = i8x16.shuffle(eR, eR, 8, 9, 8, 9, 10, 11, 10, 11, 12, 13, 12, 13, 14, 15, 14, 15)
  const uS0 = i8x16.shuffle(eS, eS, 0, 1, 0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7), uS1 = i8x16.shuffle(eS, eS, 8, 9, 8, 9, 10, 11, 10, 11, 12, 13, 12, 13, 14, 15, 14, 15)
  const scR01 = q6kScalePair(uR0, odd), scR23 = q6kScalePair(uR1, odd), scS01 = q6kScalePair(uS0, odd), scS23 = q6kScalePair(uS1, odd)
  return sizeof<O>() == sizeof<LaneOrder>()
    ? q6kQuadPairL(b, b2, x, q, scR01, scR23, scS01, scS23, m1, m2, m3, o)
    : q6kQuadPair(b, b2, x, q, scR01, scR23, scS01, scS23, m1, m2, m3, o, B)
}

/**
 * Two Q6_K blocks (rows R at b, S at b2; b2 = b computes one row twice) against one position of
 * activations at x (Q8KX, or with B Q8KB): S (f32 lanes 0, 1: the rows' sums so far) plus each
 * block as vecDotQ6KQ8K folds it, sumf + (d * dy) * isum (the same operations lane by lane). The
 * -32 of every value goes in once, as 32 * the sum over the 16 groups of scale * the group's
 * activation sum (bsum16). o: an output slot the caller writes after (the pins' target). The masks
 * come from all-ones lanes (V8 rebuilds each v128 constant at every use in the loop).
 */
@inline export function q6kBlockPair(b: usize, b2: usize, x: usize, S: v128, o: usize, B: bool): v128 {
  return q6kBlockPairOf<FileOrder>(b, b2, x, S, o, B)
}

/** q6kBlockPair for blocks in lane order (q6_k_lanes.ts) against Q8KX: the same sums, bit for bit. */
@inline export function q6kBlockPairL(b: usize, b2: usize, x: usize, S: v128, o: usize): v128 {
  return q6kBlockPairOf<LaneOrder>(b, b2, x, S, o, false)
}

@inline function q6kBlockPairOf<O>(b: usize, b2: usize, x: usize, S: v128, o: usize, B: bool): v128 {
  const L = sizeof<O>() == sizeof<LaneOrder>()
  const rawR = v128.load(b, 192), rawS = v128.load(b2, 192)
  const ones = i16x8.eq(rawR, rawR)
  const m1 = L ? i16x8.shr_u(ones, 10) : everyByte(i16x8.shr_u(ones, 12))
  const m2 = L ? i16x8.shl(i16x8.shr_u(ones, 14), 4) : everyByte(i16x8.shl(i16x8.shr_u(ones, 14), 4))
  const m3 = L ? i16x8.shl(i16x8.shr_u(ones, 12), 2) : i16x8.shr_u(ones, 8)
  const loR = i16x8.extend_low_i8x16_s(rawR), hiR = i16x8.extend_high_i8x16_s(rawR)
  const loS = i16x8.extend_low_i8x16_s(rawS), hiS = i16x8.extend_high_i8x16_s(rawS)
  let acc = q6kQuadPairScaled<O>(b, b2, x, 0, loR, loS, m1, m2, m3, o, B)
  pin(o, acc)
  acc = i32x4.add(acc, q6kQuadPairScaled<O>(b, b2, x, 1, loR, loS, m1, m2, m3, o, B))
  pin(o, acc)
  acc = i32x4.add(acc, q6kQuadPairScaled<O>(b, b2, x, 2, hiR, hiS, m1, m2, m3, o, B))
  pin(o, acc)
  acc = i32x4.add(acc, q6kQuadPairScaled<O>(b, b2, x, 3, hiR, hiS, m1, m2, m3, o, B))
  const bs = x + (B ? Q8KB_BSUM16 : 544)
  const bs0 = v128.load(bs), bs1 = v128.load(bs, 16)
  const cR = i32x4.add(dot(loR, bs0), dot(hiR, bs1))
  const cS = i32x4.add(dot(loS, bs0), dot(hiS, bs1))
  acc = i32x4.sub(acc, i32x4.shl(foldPair(cR, cS), 5))
  const isum = i32x4.add(i32x4.shuffle(acc, acc, 0, 2, 0, 2), i32x4.shuffle(acc, acc, 1, 3, 1, 3)) // R, S, R, S
  const dd = halves(v128.load16_lane(b2 + 208, v128.load16_lane(b + 208, i32x4.splat(0), 0), 1), false) // dR, dS
  return f32x4.add(S, f32x4.mul(f32x4.mul(dd, v128.load32_splat(x)), f32x4.convert_i32x4_s(isum)))
}

/**
 * P positions (2..8, a constant after inlining; one position is q6kBlockPair) of one Q6_K row (nb blocks at w) against the Q8KX
 * activations at x0 (xs bytes between positions): results to o + p * os. A block is four quads
 * (h, is) of 64 weights: 16 at each of offsets 0, 32, 64, 96 of half h, in groups
 * 8h + is + {0, 2, 4, 6}; each quad is decoded in two steps of four i16 vectors. |(q - 32) * sc|
 * <= 4096, so a block's 256 products with |x| <= 127 sum within i32: integer sums exact.
 */
@inline function q6kPass<O>(w: usize, nb: usize, x0: usize, xs: usize, o: usize, os: usize, P: i32, more: bool): void {
  const L = sizeof<O>() == sizeof<LaneOrder>()
  let f0 = more ? loadPass(o, os, P, 0) : f32x4.splat(0) // sumf of positions 0-3 (with more: the sums so far)
  let f1 = more && P > 4 ? loadPass(o, os, P, 1) : f32x4.splat(0) // and 4-7
  const m0F = L ? i16x8.splat(0x3f) : i8x16.splat(0x0f) // lane order: 0x003f (laneEven, laneOdd)
  const m30 = i8x16.splat(0x30) // and for laneD3Even, whose (b >> 8) has no high byte
  const m3C = i16x8.splat(0x3c)
  for (let i: usize = 0; i < nb; i++) {
    const b = w + i * 210
    const x = x0 + i * 576
    // Scales in the order the quads take them (quad q uses lanes 4q .. 4q + 3), as i16; sc holds
    // the current quad's four in lanes 0-3.
    const raw = v128.load(b, 192)
    const s8 = i8x16.swizzle(raw, i8x16(0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15))
    let sc = i16x8.extend_low_i8x16_s(s8)
    let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0)
    let a4 = i32x4.splat(0), a5 = i32x4.splat(0), a6 = i32x4.splat(0), a7 = i32x4.splat(0)
    for (let q: usize = 0; q < 4; q++) {
      // Quad q = (h, is) = (q >> 1, q & 1): ql bytes at 64h + 16is and + 32, qh at 128 + 32h + 16is;
      // activations of groups 8h + is + {0, 2} at xq and xq + 64, {4, 6} at xq + 128 and xq + 192.
      const ql = b + ((q >> 1) << 6) + ((q & 1) << 4)
      const qh = b + 128 + ((q >> 1) << 5) + ((q & 1) << 4)
      const xq = x + 16 + ((q >> 1) << 8) + ((q & 1) << 5)
      { // offsets 0 and 32: low nibbles, high bits 0-1 and 2-3; t holds (q - 32) as i8 pairs
        const qa = v128.load(ql)
        const qb = v128.load(ql, 32)
        const hv = v128.load(qh)
        const s0 = i8x16.shuffle(sc, sc, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1)
        const s1 = i8x16.shuffle(sc, sc, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3)
        const t0 = L ? qa : q6kBias(v128.or(v128.and(qa, m0F), v128.and(i16x8.shl(hv, 4), m30))) // lane order: A
        const t1 = L ? qb : q6kBias(v128.or(v128.and(qb, m0F), v128.and(i16x8.shl(hv, 2), m30))) // and B
        const e0 = i16x8.mul(L ? laneBias(laneEven(t0, m0F)) : q6kEven(t0), s0)
        const o0 = i16x8.mul(L ? laneBias(laneOdd(t0, m0F)) : q6kOdd(t0), s0)
        const e1 = i16x8.mul(L ? laneBias(laneEven(t1, m0F)) : q6kEven(t1), s1)
        const o1 = i16x8.mul(L ? laneBias(laneOdd(t1, m0F)) : q6kOdd(t1), s1)
        let xp = xq
        a0 = dot4(a0, e0, o0, e1, o1, xp); pin(o, a0)
        if (P > 1) { xp += xs; a1 = dot4(a1, e0, o0, e1, o1, xp); pin(o, a1) }
        if (P > 2) { xp += xs; a2 = dot4(a2, e0, o0, e1, o1, xp); pin(o, a2) }
        if (P > 3) { xp += xs; a3 = dot4(a3, e0, o0, e1, o1, xp); pin(o, a3) }
        if (P > 4) { xp += xs; a4 = dot4(a4, e0, o0, e1, o1, xp); pin(o, a4) }
        if (P > 5) { xp += xs; a5 = dot4(a5, e0, o0, e1, o1, xp); pin(o, a5) }
        if (P > 6) { xp += xs; a6 = dot4(a6, e0, o0, e1, o1, xp); pin(o, a6) }
        if (P > 7) { xp += xs; a7 = dot4(a7, e0, o0, e1, o1, xp); pin(o, a7) }
      }
      { // offsets 64 and 96: high nibbles, high bits 4-5 and 6-7 (loads repeated: fewer registers)
        const qa = v128.load(ql)
        const qb = v128.load(ql, 32)
        const hv = v128.load(qh)
        const s2 = i8x16.shuffle(sc, sc, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5)
        const s3 = i8x16.shuffle(sc, sc, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7)
        const t2 = L ? hv : q6kBias(v128.or(v128.and(i16x8.shr_u(qa, 4), m0F), v128.and(hv, m30))) // lane order: C
        const t3 = L ? hv : q6kBias(v128.or(v128.and(i16x8.shr_u(qb, 4), m0F), v128.and(i16x8.shr_u(hv, 2), m30)))
        const e2 = i16x8.mul(L ? laneBias(laneEven(t2, m0F)) : q6kEven(t2), s2)
        const o2 = i16x8.mul(L ? laneBias(laneOdd(t2, m0F)) : q6kOdd(t2), s2)
        const e3 = i16x8.mul(L ? laneBias(laneD3Even(qa, qb, m30)) : q6kEven(t3), s3)
        const o3 = i16x8.mul(L ? laneBias(laneD3Odd(qb, hv, m3C)) : q6kOdd(t3), s3)
        let xp = xq + 128
        a0 = dot4(a0, e2, o2, e3, o3, xp); pin(o, a0)
        if (P > 1) { xp += xs; a1 = dot4(a1, e2, o2, e3, o3, xp); pin(o, a1) }
        if (P > 2) { xp += xs; a2 = dot4(a2, e2, o2, e3, o3, xp); pin(o, a2) }
        if (P > 3) { xp += xs; a3 = dot4(a3, e2, o2, e3, o3, xp); pin(o, a3) }
        if (P > 4) { xp += xs; a4 = dot4(a4, e2, o2, e3, o3, xp); pin(o, a4) }
        if (P > 5) { xp += xs; a5 = dot4(a5, e2, o2, e3, o3, xp); pin(o, a5) }
        if (P > 6) { xp += xs; a6 = dot4(a6, e2, o2, e3, o3, xp); pin(o, a6) }
        if (P > 7) { xp += xs; a7 = dot4(a7, e2, o2, e3, o3, xp); pin(o, a7) }
      }
      sc = q == 1 ? i16x8.extend_high_i8x16_s(s8) : i8x16.shuffle(sc, sc, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7)
    }
    // The float part, four positions per f32x4, each lane as vecDotQ6KQ8K: sumf += (d * dy) * isum.
    const d = f32x4.splat(half(load<u16>(b, 208)))
    let xd = x
    let dy = v128.load32_zero(xd)
    if (P > 1) { xd += xs; dy = v128.load32_lane(xd, dy, 1) }
    if (P > 2) { xd += xs; dy = v128.load32_lane(xd, dy, 2) }
    if (P > 3) { xd += xs; dy = v128.load32_lane(xd, dy, 3) }
    f0 = f32x4.add(f0, f32x4.mul(f32x4.mul(d, dy), f32x4.convert_i32x4_s(hsum4(a0, a1, a2, a3))))
    if (P > 4) {
      xd += xs; dy = v128.load32_zero(xd)
      if (P > 5) { xd += xs; dy = v128.load32_lane(xd, dy, 1) }
      if (P > 6) { xd += xs; dy = v128.load32_lane(xd, dy, 2) }
      if (P > 7) { xd += xs; dy = v128.load32_lane(xd, dy, 3) }
      f1 = f32x4.add(f1, f32x4.mul(f32x4.mul(d, dy), f32x4.convert_i32x4_s(hsum4(a4, a5, a6, a7))))
    }
  }
  storePass(o, os, f0, f1, P)
}

/**
 * q6kPass for n (2..8) positions: one compiled pass per count (inlined, as in q4_k.ts). One
 * position never comes here (rows_pair.ts), and passes of several positions are never cut to one
 * (common.ts passStart).
 */
@inline export function q6kPassN<O>(w: usize, nb: usize, x: usize, xs: usize, o: usize, os: usize, n: i32, more: bool = false): void {
  switch (n) {
    case 2: { q6kPass<O>(w, nb, x, xs, o, os, 2, more); break }
    case 3: { q6kPass<O>(w, nb, x, xs, o, os, 3, more); break }
    case 4: { q6kPass<O>(w, nb, x, xs, o, os, 4, more); break }
    case 5: { q6kPass<O>(w, nb, x, xs, o, os, 5, more); break }
    case 6: { q6kPass<O>(w, nb, x, xs, o, os, 6, more); break }
    case 7: { q6kPass<O>(w, nb, x, xs, o, os, 7, more); break }
    default: { q6kPass<O>(w, nb, x, xs, o, os, 8, more); break }
  }
}

/**
 * As q4k_matmul for Q6_K weights (rowBytes / 210 blocks a row), equal to vecDotQ6KQ8K bit for bit:
 * one position two rows at a time (rows_pair.ts), more in passes of up to POS_PASS positions, two per
 * sweep over the rows.
 */
export function q6k_matmul(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  q6kSweep<FileOrder>(wPtr, rowBytes, rows, xPtr, nPos, outPtr)
}

/** q6k_matmul's sweep; with O = LaneOrder over rows in lane order (q6_k_lanes.ts q6k_matmul_l). */
@inline export function q6kSweep<O>(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  const nb = <usize>(rowBytes / 210)
  const rb = <usize>rowBytes
  if (nPos == 1) {
    rowsPair(wPtr, rb, rows, nb, xPtr, outPtr, false, true, false, false, sizeof<O>() == sizeof<LaneOrder>())
    return
  }
  const xs = nb * 576
  const os = <usize>rows << 2
  const passes = (nPos + POS_PASS - 1) / POS_PASS
  for (let k = 0; k < passes; k += 2) {
    const pA = passStart(nPos, passes, k), pB = passStart(nPos, passes, k + 1), pC = passStart(nPos, passes, k + 2)
    for (let r = 0; r < rows; r++) {
      const w = wPtr + <usize>r * rb
      q6kPassN<O>(w, nb, xPtr + <usize>pA * xs, xs, outPtr + (<usize>(pA * rows + r) << 2), os, pB - pA)
      if (pC > pB) q6kPassN<O>(w, nb, xPtr + <usize>pB * xs, xs, outPtr + (<usize>(pB * rows + r) << 2), os, pC - pB)
    }
  }
}

/**
 * As q6k_matmul against Q8KB activations (i8: half the L1 of Q8KX for wide rows), one position
 * after another, each row in one sweep: cut into column chunks of plain rows, this pass ran at half
 * its speed (5120 x 32768, one thread: 3.2 GB/s in two sweeps against 6.4 in one).
 */
export function q6k_matvec_b(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  const nb = <usize>(rowBytes / 210)
  for (let p = 0; p < nPos; p++) rowsPair(wPtr, <usize>rowBytes, rows, nb, xPtr + <usize>p * nb * Q8KB_BYTES, outPtr + (<usize>(p * rows) << 2), false, true, true, false, false)
}
