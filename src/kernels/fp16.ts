/**
 * Half-precision conversions. Node 20 has no Float16Array, so fp16 -> f32 goes through a
 * 65536-entry table (256 KiB, built once on first import); f32 -> fp16 rounds to nearest even,
 * as ggml's GGML_FP32_TO_FP16. bf16 is the high 16 bits of an f32.
 */

const f32Scratch = new Float32Array(1)
const u32Scratch = new Uint32Array(f32Scratch.buffer)

/** fp16 bits -> f32 value, computed (used to fill the table). */
function halfBitsToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1
  const exp = (h >> 10) & 0x1f
  const mant = h & 0x3ff
  if (exp === 0) return sign * mant * 2 ** -24 // zero and subnormals
  if (exp === 31) return mant === 0 ? sign * Infinity : NaN
  return sign * (1 + mant / 1024) * 2 ** (exp - 15)
}

/** FP16_TABLE[bits] is the f32 value of the fp16 `bits`. */
export const FP16_TABLE: Float32Array = (() => {
  const t = new Float32Array(65536)
  for (let h = 0; h < 65536; h++) t[h] = halfBitsToFloat(h)
  return t
})()

/** f32 value of the fp16 bits `h` (0..65535). */
export function fp16ToF32(h: number): number {
  return FP16_TABLE[h]
}

/** fp16 bits of `x`, rounded to nearest even; overflow gives infinity, NaN stays NaN. */
export function f32ToFp16(x: number): number {
  f32Scratch[0] = x
  const f = u32Scratch[0]
  const sign = (f >>> 16) & 0x8000
  const exp = (f >>> 23) & 0xff
  let mant = f & 0x7fffff
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0)
  let e = exp - 127 + 15
  if (e >= 31) return sign | 0x7c00
  if (e <= 0) {
    // Subnormal half (or zero): shift the full mantissa (with its implicit 1) into place.
    if (e < -10) return sign
    mant |= 0x800000
    const shift = 14 - e // bits dropped
    const half = 1 << (shift - 1)
    let h = mant >>> shift
    const rem = mant & ((1 << shift) - 1)
    if (rem > half || (rem === half && (h & 1))) h++
    return sign | h
  }
  let h = (e << 10) | (mant >>> 13)
  const rem = mant & 0x1fff
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++ // may carry into the exponent: correct
  return sign | h
}

/** f32 value of the bf16 bits `h`. */
export function bf16ToF32(h: number): number {
  u32Scratch[0] = (h & 0xffff) << 16
  return f32Scratch[0]
}

/** bf16 bits of `x`, rounded to nearest even (NaN kept quiet), as ggml's GGML_FP32_TO_BF16. */
export function f32ToBf16(x: number): number {
  f32Scratch[0] = x
  const u = u32Scratch[0]
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 64) & 0xffff
  return ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16) & 0xffff
}
