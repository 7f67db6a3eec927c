/** Helpers shared by the kernels (see kernels.ts for the module's contract). All inline. */

/**
 * Positions per tile of the float-activation products: for each tile every weight row is read once
 * and dotted with the tile's positions, whose activations stay in L2.
 */
export const POS_TILE = 16

/**
 * Batched 8-bit products (q4k/q6k/q8_0_matmul with nPos > 1) go in passes of at most POS_PASS
 * positions: a pass decodes each weight block once into registers and dots it with every position
 * of the pass (8 accumulators, 4 decoded weight vectors and 4 activation loads fill the 16 x64
 * vector registers). nPos is cut into ceil(nPos / 8) passes of near-equal size (9 = 5 + 4; by the
 * measured rate per pass size this costs the same as 8 + 1 and never makes a 1-position pass), and
 * the passes are swept over the weights two at a time (up to 16 positions of activations in L2; the
 * row read for the first pass is still in L1 for the second).
 */
export const POS_PASS = 8

/**
 * The block order of the batched pass as a type parameter (q4kPass, q6kPass: <FileOrder> or <LaneOrder>): asc
 * folds sizeof<O>() where it did not fold a bool passed down through the inlined calls, which left
 * both orders' code in all 32 copies of the pass for Binaryen to remove (the relaxed build took
 * 59 s instead of 31).
 */
export type FileOrder = u8
export type LaneOrder = u16

/** First position of pass k of `passes` near-equal passes over nPos positions (nPos for k >= passes). */
@inline export function passStart(nPos: i32, passes: i32, k: i32): i32 {
  if (k >= passes) return nPos
  const base = nPos / passes
  return k * base + min<i32>(k, nPos - base * passes)
}

/** 2^112 as f32 bits: a finite half's exponent and mantissa bits shifted left by 13, as an f32, times it are the half's value. */
export const F32_2P112: u32 = 0x77800000

/** The mask that keeps the sign and clears the 3 copies of it that q4_k_lanes.ts finiteHalves shifts in (bits 28-30). */
export const FINITE_HALF_MASK: u32 = 0x8fffffff

/** f32 value of fp16 bits (exact; inf/NaN kept). */
@inline export function half(h: u32): f32 {
  const sign = (h & 0x8000) << 16
  const em = h & 0x7fff
  const bits: u32 = em >= 0x7c00
    ? 0x7f800000 | ((em & 0x3ff) << 13)
    : reinterpret<u32>(reinterpret<f32>(em << 13) * reinterpret<f32>(F32_2P112))
  return reinterpret<f32>(bits | sign)
}

/** fp16 bits of an f32, round to nearest even (as GGML_FP32_TO_FP16). */
export function toHalf(x: f32): u32 {
  const f = reinterpret<u32>(x)
  const sign = (f >> 16) & 0x8000
  const exp = <i32>((f >> 23) & 0xff)
  let mant = f & 0x7fffff
  if (exp == 0xff) return sign | 0x7c00 | (mant != 0 ? 0x200 : 0)
  const e = exp - 127 + 15
  if (e >= 31) return sign | 0x7c00
  if (e <= 0) {
    if (e < -10) return sign
    mant |= 0x800000
    const shift = <u32>(14 - e)
    const halfway: u32 = 1 << (shift - 1)
    let h = mant >> shift
    const rem = mant & ((1 << shift) - 1)
    if (rem > halfway || (rem == halfway && (h & 1) != 0)) h++
    return sign | h
  }
  let h = (<u32>e << 10) | (mant >> 13)
  const rem = mant & 0x1fff
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1) != 0)) h++
  return sign | h
}

/** Sum of the four i32 lanes. */
@inline export function hsum(v: v128): i32 {
  const t = i32x4.add(v, i32x4.shuffle(v, v, 2, 3, 0, 1))
  return i32x4.extract_lane(t, 0) + i32x4.extract_lane(t, 1)
}

/** Bytes of a Q8KB block (256 values; layout in kernels.ts) and the offsets of its bsum32 and bsum16. */
export const Q8KB_BYTES: usize = 320
export const Q8KB_BSUM32: usize = 272
export const Q8KB_BSUM16: usize = 288
/**
 * Eight i16 activations of a block at x: Q8KX (i16) offset `off` from x, or with B the same values
 * from the Q8KB (i8) layout, widened on load (offsets past the block's first 16 bytes halve).
 */
@inline export function act(x: usize, off: usize, B: bool): v128 {
  return B ? v128.load8x8_s(x + (off >> 1)) : v128.load(x + off)
}

@inline export function dot(a: v128, b: v128): v128 {
  return i32x4.dot_i16x8_s(a, b)
}

/** Sum of the four f32 lanes, in the order (l0 + l2) + (l1 + l3). */
@inline export function fsum(v: v128): f32 {
  const t = f32x4.add(v, f32x4.shuffle(v, v, 2, 3, 0, 1))
  return f32x4.extract_lane(t, 0) + f32x4.extract_lane(t, 1)
}

/**
 * Four of the eight fp16 values in h16 as f32 (hi: the upper four): exact, inf/NaN kept. The
 * bits (h & 0x7fff) << 13 as an f32 times 2^112 give every finite half; exponent 31 (inf, NaN) goes
 * to 255 by adding 0x70000000 instead. One constant (2^112): V8 rebuilds each v128 constant at
 * every use in a loop, and the masks the earlier form used cost 3 instructions each; the Q4_K
 * one-position kernel, which converts four halves per pair of blocks, ran 1-3% faster.
 */
@inline export function halves(h16: v128, hi: bool): v128 {
  const h = hi ? i32x4.extend_high_i16x8_u(h16) : i32x4.extend_low_i16x8_u(h16)
  const t = i32x4.shl(h, 17)
  const em = i32x4.shr_u(t, 4) // (h & 0x7fff) << 13
  const special = i32x4.eq(i32x4.shr_s(t, 27), i32x4.eq(t, t)) // exponent bits all ones
  const finite = f32x4.mul(em, f32x4.splat(reinterpret<f32>(F32_2P112)))
  const inf = i32x4.add(em, i32x4.shr_u(i32x4.shl(special, 29), 1)) // em + 0x70000000
  return v128.or(v128.bitselect(inf, finite, special), i32x4.shl(i32x4.shr_u(h, 15), 31))
}

/** sum over 8 weights (i16 lanes of q, each an exact small integer) times 8 f32 activations at x. */
@inline export function fdot8(q: v128, x: usize): v128 {
  return f32x4.add(
    f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(q)), v128.load(x)),
    f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(q)), v128.load(x, 16)))
}

/**
 * Stores lane 0 of v at o, an output slot of the caller's that the final result overwrites: the
 * store orders the code. V8 keeps memory loads in program order but sinks arithmetic to its last
 * use, so without a store between them every activation load of a pass is issued first and most
 * are spilled to the stack (measured: a batched Q4_K pass 18.5 -> 16 GB/s without, and the one-
 * position Q4_K block 12.8 -> 10.3 GB/s). Passes pin each position's accumulator as it is updated.
 */
@inline export function pin(o: usize, v: v128): void {
  v128.store32_lane(o, v, 0)
}

/**
 * acc + the dots of four decoded i16 weight vectors with the Q8KX i16 values at x, x + 16, x + 64,
 * x + 80 (with B: the Q8KB bytes at x, x + 8, x + 32, x + 40).
 */
@inline export function dot4(acc: v128, w0: v128, w1: v128, w2: v128, w3: v128, x: usize, B: bool = false): v128 {
  return i32x4.add(acc, i32x4.add(
    i32x4.add(dot(w0, act(x, 0, B)), dot(w1, act(x, 16, B))),
    i32x4.add(dot(w2, act(x, 64, B)), dot(w3, act(x, 80, B)))))
}

/**
 * [a0 + a2, a1 + a3, b0 + b2, b1 + b3] (i32): two vectors' lanes folded into halves of one, as the
 * two-row kernels keep rows r and s in lanes [r, r, s, s].
 */
@inline export function foldPair(a: v128, b: v128): v128 {
  return i32x4.add(i32x4.shuffle(a, b, 0, 1, 4, 5), i32x4.shuffle(a, b, 2, 3, 6, 7))
}

/** A 16-bit lane mask m repeated in both bytes of each lane (0x000F -> 0x0F0F): byte masks made without a v128 constant. */
@inline export function everyByte(m: v128): v128 {
  return v128.or(m, i16x8.shl(m, 8))
}

/** [sum of a0's lanes, a1's, a2's, a3's]: four horizontal sums in one vector. */
@inline export function hsum4(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const t0 = i32x4.add(i32x4.shuffle(a0, a1, 0, 4, 1, 5), i32x4.shuffle(a0, a1, 2, 6, 3, 7))
  const t1 = i32x4.add(i32x4.shuffle(a2, a3, 0, 4, 1, 5), i32x4.shuffle(a2, a3, 2, 6, 3, 7))
  return foldPair(t0, t1)
}

/**
 * The f32 sums so far of positions 4h .. 4h + 3 of a pass (those below P, the others 0) at
 * o + p * os, where storePass left them: the start of a pass over a later column chunk.
 */
@inline export function loadPass(o: usize, os: usize, P: i32, h: i32): v128 {
  const b = o + <usize>(4 * h) * os
  let v = v128.load32_zero(b)
  if (P > 4 * h + 1) v = v128.load32_lane(b + os, v, 1)
  if (P > 4 * h + 2) v = v128.load32_lane(b + 2 * os, v, 2)
  if (P > 4 * h + 3) v = v128.load32_lane(b + 3 * os, v, 3)
  return v
}

/**
 * The f32 dots of a pass of P positions (P constant after inlining): lanes of f0 (positions 0-3)
 * and f1 (4-7) to o, o + os, o + 2 os, ... (os: bytes between positions in the output).
 */
@inline export function storePass(o: usize, os: usize, f0: v128, f1: v128, P: i32): void {
  store<f32>(o, f32x4.extract_lane(f0, 0))
  if (P > 1) store<f32>(o + os, f32x4.extract_lane(f0, 1))
  if (P > 2) store<f32>(o + 2 * os, f32x4.extract_lane(f0, 2))
  if (P > 3) store<f32>(o + 3 * os, f32x4.extract_lane(f0, 3))
  if (P > 4) store<f32>(o + 4 * os, f32x4.extract_lane(f1, 0))
  if (P > 5) store<f32>(o + 5 * os, f32x4.extract_lane(f1, 1))
  if (P > 6) store<f32>(o + 6 * os, f32x4.extract_lane(f1, 2))
  if (P > 7) store<f32>(o + 7 * os, f32x4.extract_lane(f1, 3))
}
