/** Helpers shared by the kernels (see kernels.ts for the module's contract). All inline. */

/**
 * Positions per tile of a batched product: for each tile every weight row is read once and dotted
 * with the tile's positions, whose activations (16 x 9 KB for 4096 Q8KX values) stay in L2; the
 * weights are streamed nPos / 16 times instead of nPos times.
 */
export const POS_TILE = 16

/** f32 value of fp16 bits (exact; inf/NaN kept). */
@inline export function half(h: u32): f32 {
  const sign = (h & 0x8000) << 16
  const em = h & 0x7fff
  const bits: u32 = em >= 0x7c00
    ? 0x7f800000 | ((em & 0x3ff) << 13)
    : reinterpret<u32>(reinterpret<f32>(em << 13) * reinterpret<f32>(0x77800000)) // * 2^112
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

@inline export function dot(a: v128, b: v128): v128 {
  return i32x4.dot_i16x8_s(a, b)
}

/** Sum of the four f32 lanes, in the order (l0 + l2) + (l1 + l3). */
@inline export function fsum(v: v128): f32 {
  const t = f32x4.add(v, f32x4.shuffle(v, v, 2, 3, 0, 1))
  return f32x4.extract_lane(t, 0) + f32x4.extract_lane(t, 1)
}

/** Eight fp16 values (16 bytes at w) as two f32x4: exact, inf/NaN kept. */
@inline export function halves(h16: v128, hi: bool): v128 {
  const h = hi ? i32x4.extend_high_i16x8_u(h16) : i32x4.extend_low_i16x8_u(h16)
  const em = v128.and(h, i32x4.splat(0x7fff))
  const sign = i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16)
  const finite = f32x4.mul(i32x4.shl(em, 13), f32x4.splat(reinterpret<f32>(0x77800000)))
  const special = v128.or(i32x4.shl(em, 13), i32x4.splat(0x7f800000))
  const isSpecial = i32x4.gt_s(em, i32x4.splat(0x7bff))
  return v128.or(v128.bitselect(special, finite, isSpecial), sign)
}

/** fp16 bits in the low half of each i32 lane -> f32x4, exact, inf/NaN kept (as half()). */
@inline export function halves4(h: v128): v128 {
  const em = v128.and(h, i32x4.splat(0x7fff))
  const sign = i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16)
  const finite = f32x4.mul(i32x4.shl(em, 13), f32x4.splat(reinterpret<f32>(0x77800000)))
  const special = v128.or(i32x4.shl(em, 13), i32x4.splat(0x7f800000))
  const isSpecial = i32x4.gt_s(em, i32x4.splat(0x7bff))
  return v128.or(v128.bitselect(special, finite, isSpecial), sign)
}

/** sum over 8 weights (i16 lanes of q, each an exact small integer) times 8 f32 activations at x. */
@inline export function fdot8(q: v128, x: usize): v128 {
  return f32x4.add(
    f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(q)), v128.load(x)),
    f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(q)), v128.load(x, 16)))
}
