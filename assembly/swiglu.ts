/**
 * SwiGLU of a gated FFN chunk: g[i] = silu(g[i]) * u[i], silu(x) = x / (1 + e^-x), the same
 * function as src/model/ops.ts swiglu bit for bit: e^-x in float64 as its expNeg (|x| clamped to
 * 700, -x = k ln2 + r with k = Math.round(-x log2 e), e^r by Horner's rule to r^8, times 2^k), the
 * quotient and product in float64, rounded once to float32. Two values a vector (f64x2); the pool's
 * threads combine each chunk's rows of gate and up here, in the memory where the kernels left them
 * (JavaScript took 12-15 ns a value).
 */

/** e^-g for two values, as ops.ts expNeg (NaN stays NaN). */
@inline function expNeg2(g: v128): v128 {
  const x = f64x2.max(f64x2.min(f64x2.neg(g), f64x2.splat(700)), f64x2.splat(-700))
  const t = f64x2.mul(x, f64x2.splat(Math.LOG2E))
  // Math.round: the nearest integer, halves toward +inf (floor, then up when the rest is >= 0.5).
  const fl = f64x2.floor(t)
  const k = f64x2.add(fl, v128.and(f64x2.ge(f64x2.sub(t, fl), f64x2.splat(0.5)), f64x2.splat(1)))
  const r = f64x2.sub(x, f64x2.mul(k, f64x2.splat(Math.LN2)))
  let p = f64x2.splat(1.0 / 40320)
  p = f64x2.add(f64x2.splat(1.0 / 5040), f64x2.mul(r, p))
  p = f64x2.add(f64x2.splat(1.0 / 720), f64x2.mul(r, p))
  p = f64x2.add(f64x2.splat(1.0 / 120), f64x2.mul(r, p))
  p = f64x2.add(f64x2.splat(1.0 / 24), f64x2.mul(r, p))
  p = f64x2.add(f64x2.splat(1.0 / 6), f64x2.mul(r, p))
  p = f64x2.add(f64x2.splat(1.0 / 2), f64x2.mul(r, p))
  p = f64x2.add(f64x2.splat(1), f64x2.mul(r, p))
  p = f64x2.add(f64x2.splat(1), f64x2.mul(r, p))
  // 2^k from its exponent bits (|k| <= 1010: a normal double); a NaN k gives some power, p is NaN anyway.
  const e = i64x2.shl(i64x2.add(i64x2.extend_low_i32x4_s(i32x4.trunc_sat_f64x2_s_zero(k)), i64x2.splat(1023)), 52)
  return f64x2.mul(p, e)
}

/** silu(g) * u for two float64 values each. */
@inline function swiglu2(g: v128, u: v128): v128 {
  return f64x2.mul(f64x2.div(g, f64x2.add(f64x2.splat(1), expNeg2(g))), u)
}

/** f32 g[i] = silu(g[i]) * u[i] for i < n (g, u: byte offsets of f32 arrays, which may not overlap unless equal). */
export function swiglu(g: usize, u: usize, n: i32): void {
  let i = 0
  for (; i + 4 <= n; i += 4) {
    const at = <usize>i << 2
    const gv = v128.load(g + at), uv = v128.load(u + at)
    const lo = swiglu2(f64x2.promote_low_f32x4(gv), f64x2.promote_low_f32x4(uv))
    const hi = swiglu2(f64x2.promote_low_f32x4(i32x4.shuffle(gv, gv, 2, 3, 0, 1)), f64x2.promote_low_f32x4(i32x4.shuffle(uv, uv, 2, 3, 0, 1)))
    v128.store(g + at, i32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5))
  }
  for (; i < n; i++) {
    const at = <usize>i << 2
    const r = swiglu2(f64x2.splat(<f64>load<f32>(g + at)), f64x2.splat(<f64>load<f32>(u + at)))
    store<f32>(g + at, <f32>f64x2.extract_lane(r, 0))
  }
}
