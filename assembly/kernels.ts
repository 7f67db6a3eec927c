/**
 * WebAssembly SIMD kernels (AssemblyScript; compiled by `npm run build:wasm` into
 * dist/wasm/kernels.wasm). The memory contract is written down in src/kernels/wasm/kernels-wasm.ts:
 * the module imports a shared `env.memory`, owns no static data and no stack, and touches only the
 * byte ranges its arguments name. Every kernel here has a scalar reference in src/kernels/ and is
 * checked against it (test/unit/kernels-wasm.test.ts): the 8-bit paths bit for bit.
 *
 * Activation layouts built here for the integer kernels (one "position" = one activation vector):
 *   Q8KX, 576 bytes per 256 values (Q8_K widened to i16, pairs de-interleaved):
 *     0    f32 d                          (as quantize_row_q8_K_ref)
 *     16   i16 q[256] in 16 groups of 16: each group's 8 even-index values, then its 8 odd ones
 *     528  i16 bsum32[8]                  sum of q over each 32-value sub-block
 *     544  i16 bsum16[16]                 sum of q over each 16-value group
 *   Q80X, 80 bytes per 32 values: 0 f32 d (the fp16-rounded scale), 16 i16 q[32] in order.
 * Widening once per activation vector lets every weight row use i32x4.dot_i16x8_s directly; the
 * de-interleaving matches weight nibbles pulled out of 16-bit lanes (even byte = low 8 bits).
 */

// ---------------------------------------------------------------------------------------------
// Scalar helpers

/**
 * Positions per tile of a batched product: for each tile every weight row is read once and dotted
 * with the tile's positions, whose activations (16 x 9 KB for 4096 Q8KX values) stay in L2; the
 * weights are streamed nPos / 16 times instead of nPos times.
 */
const POS_TILE = 16

/** f32 value of fp16 bits (exact; inf/NaN kept). */
@inline function half(h: u32): f32 {
  const sign = (h & 0x8000) << 16
  const em = h & 0x7fff
  const bits: u32 = em >= 0x7c00
    ? 0x7f800000 | ((em & 0x3ff) << 13)
    : reinterpret<u32>(reinterpret<f32>(em << 13) * reinterpret<f32>(0x77800000)) // * 2^112
  return reinterpret<f32>(bits | sign)
}

/** fp16 bits of an f32, round to nearest even (as GGML_FP32_TO_FP16). */
function toHalf(x: f32): u32 {
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
@inline function hsum(v: v128): i32 {
  const t = i32x4.add(v, i32x4.shuffle(v, v, 2, 3, 0, 1))
  return i32x4.extract_lane(t, 0) + i32x4.extract_lane(t, 1)
}

@inline function dot(a: v128, b: v128): v128 {
  return i32x4.dot_i16x8_s(a, b)
}

// ---------------------------------------------------------------------------------------------
// Activation quantizers

/** Index of the largest |x[j]| (first one) in 256 f32 at x; x[index] gives ggml's `max`. */
@inline function maxAbsValue(x: usize): f32 {
  let amax: f32 = 0
  let max: f32 = 0
  for (let j: usize = 0; j < 256; j++) {
    const v = load<f32>(x + (j << 2))
    const a = abs<f32>(v)
    if (a > amax) { amax = a; max = v }
  }
  return max
}

/** quantize_row_q8_K_ref: n f32 at xPtr (n a multiple of 256) into standard 292-byte Q8_K blocks. */
export function quantize_q8k(xPtr: usize, n: i32, outPtr: usize): void {
  const nb = <usize>(n >> 8)
  for (let i: usize = 0; i < nb; i++) {
    const x = xPtr + (i << 10)
    const y = outPtr + i * 292
    const max = maxAbsValue(x)
    if (max == 0) { memory.fill(y, 0, 292); continue }
    const iscale: f32 = <f32>-127 / max
    for (let g: usize = 0; g < 16; g++) {
      let s: i32 = 0
      for (let k: usize = 0; k < 16; k++) {
        const v = min<i32>(127, <i32>nearest<f32>(iscale * load<f32>(x + ((g * 16 + k) << 2))))
        store<i8>(y + 4 + g * 16 + k, <i8>v)
        s += v
      }
      store<i16>(y + 260 + (g << 1), <i16>s)
    }
    store<f32>(y, <f32>1 / iscale)
  }
}

/** As quantize_q8k, into the widened Q8KX layout (576 bytes per block, see the top of the file). */
export function quantize_q8kx(xPtr: usize, n: i32, outPtr: usize): void {
  const nb = <usize>(n >> 8)
  for (let i: usize = 0; i < nb; i++) {
    const x = xPtr + (i << 10)
    const y = outPtr + i * 576
    const max = maxAbsValue(x)
    if (max == 0) { memory.fill(y, 0, 576); continue }
    const iscale: f32 = <f32>-127 / max
    for (let g: usize = 0; g < 16; g++) {
      let s: i32 = 0
      for (let k: usize = 0; k < 16; k++) {
        const v = min<i32>(127, <i32>nearest<f32>(iscale * load<f32>(x + ((g * 16 + k) << 2))))
        store<i16>(y + 16 + g * 32 + ((k & 1) << 4) + ((k >> 1) << 1), <i16>v)
        s += v
      }
      store<i16>(y + 544 + (g << 1), <i16>s)
    }
    for (let j: usize = 0; j < 8; j++) {
      store<i16>(y + 528 + (j << 1), <i16>(load<i16>(y + 544 + (j << 2)) + load<i16>(y + 546 + (j << 2))))
    }
    store<f32>(y, <f32>1 / iscale)
  }
}

/** roundf: nearest, halves away from zero. */
@inline function roundAway(v: f32): i32 {
  const t = trunc<f32>(v)
  return <i32>t + (abs<f32>(v - t) >= 0.5 ? (v < 0 ? -1 : 1) : 0)
}

/** quantize_row_q8_0_ref into the widened Q80X layout (80 bytes per 32 values). */
export function quantize_q8_0x(xPtr: usize, n: i32, outPtr: usize): void {
  const nb = <usize>(n >> 5)
  for (let i: usize = 0; i < nb; i++) {
    const x = xPtr + (i << 7)
    const y = outPtr + i * 80
    let amax: f32 = 0
    for (let j: usize = 0; j < 32; j++) amax = max<f32>(amax, abs<f32>(load<f32>(x + (j << 2))))
    const d: f32 = amax / 127
    const id: f32 = d != 0 ? <f32>1 / d : 0
    store<f32>(y, half(toHalf(d)))
    for (let j: usize = 0; j < 32; j++) store<i16>(y + 16 + (j << 1), <i16>roundAway(load<f32>(x + (j << 2)) * id))
  }
}

// ---------------------------------------------------------------------------------------------
// Q4_K x Q8KX
//
// Speed notes (V8 TurboFan on x64, measured with scripts/bench-kernels.mjs, one thread): rows go one
// at a time (pairs of rows sharing the activation loads ran 25% slower: register spills); a block is
// a loop of four one-chunk passes (in straight-line code V8 issues every load of the block first and
// spills them: two passes of two chunks gave +24%, four of one another +12%); the scales are
// unpacked with byte shuffles and the float tail runs in f32x4 lanes (+14%). Hoisting the v128
// constants out of the loops gained nothing. The same loop shape took Q6_K from 3.5 to 9.3 GB/s.

/**
 * Integer dot of 64 weights (32 bytes of nibbles at q: low nibbles sub-block A, high nibbles
 * sub-block B) with their activations at x (groups A0 A1 B0 B1, 32 bytes each), scaled:
 * scA * sum_A + scB * sum_B as i32x4. Nibbles come out of 16-bit lanes without a shift where the
 * activations can absorb it: (w & 0x0F00) is 256 * odd low nibble, (w & 0x00F0) 16 * even high.
 */
@inline function q4kChunk(q: usize, x: usize, scA: v128, scB: v128): v128 {
  const m000F = i16x8.splat(0x000f)
  const m0F00 = i16x8.splat(0x0f00)
  const m00F0 = i16x8.splat(0x00f0)
  const w0 = v128.load(q)
  const w1 = v128.load(q, 16)
  const a1 = i32x4.add(dot(v128.and(w0, m000F), v128.load(x)), dot(v128.and(w1, m000F), v128.load(x, 32)))
  const a256 = i32x4.add(dot(v128.and(w0, m0F00), v128.load(x, 16)), dot(v128.and(w1, m0F00), v128.load(x, 48)))
  const b16 = i32x4.add(dot(v128.and(w0, m00F0), v128.load(x, 64)), dot(v128.and(w1, m00F0), v128.load(x, 96)))
  const b1 = i32x4.add(dot(i16x8.shr_u(w0, 12), v128.load(x, 80)), dot(i16x8.shr_u(w1, 12), v128.load(x, 112)))
  const sA = i32x4.add(a1, i32x4.shr_s(a256, 8))
  const sB = i32x4.add(b1, i32x4.shr_s(b16, 4))
  return i32x4.add(i32x4.mul(sA, scA), i32x4.mul(sB, scB))
}

/**
 * The 12 packed scale bytes of the Q4_K block at b as u8 lanes [sc0..7, mn0..7] (get_scale_min_k4
 * for all j at once): lanes 0-3 s[0..3] & 63; 4-7 (s[8..11] & 15) | (s[0..3] >> 6) << 4;
 * 8-11 s[4..7] & 63; 12-15 (s[8..11] >> 4) | (s[4..7] >> 6) << 4.
 */
@inline function q4kScales(b: usize): v128 {
  const v = v128.load(b) // d, dmin, scales[12]
  const t1 = i8x16.shuffle(v, v, 4, 5, 6, 7, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15)
  const t2 = i8x16.shuffle(v, v, 0, 0, 0, 0, 4, 5, 6, 7, 0, 0, 0, 0, 8, 9, 10, 11)
  const a = v128.and(t1, i8x16(63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 0, 0, 0, 0))
  const h = v128.and(i16x8.shr_u(t1, 4), i8x16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 15, 15, 15))
  const c = v128.and(i16x8.shr_u(t2, 2), i8x16(0, 0, 0, 0, 0x30, 0x30, 0x30, 0x30, 0, 0, 0, 0, 0x30, 0x30, 0x30, 0x30))
  return v128.or(v128.or(a, h), c)
}

/** One Q4_K block (at b) against one Q8KX block (at x), folded into sumf as vecDotQ4KQ8K does. */
@inline function q4kBlock(b: usize, x: usize, sumf: f32): f32 {
  const sm = q4kScales(b)
  const sc16 = i16x8.extend_low_i8x16_u(sm)
  const mn16 = i16x8.extend_high_i8x16_u(sm)
  const sc03 = i32x4.extend_low_i16x8_u(sc16)
  const sc47 = i32x4.extend_high_i16x8_u(sc16)
  // One chunk (sub-blocks 2c, 2c+1) per pass; lanes 0, 1 of sc hold its two scales.
  let acc = i32x4.splat(0)
  let sc = sc03
  for (let c: usize = 0; c < 4; c++) {
    acc = i32x4.add(acc, q4kChunk(b + 16 + (c << 5), x + 16 + (c << 7), i32x4.shuffle(sc, sc, 0, 0, 0, 0), i32x4.shuffle(sc, sc, 1, 1, 1, 1)))
    sc = c == 1 ? sc47 : i32x4.shuffle(sc, sc, 2, 3, 0, 1)
  }
  const md = dot(mn16, v128.load(x, 528))
  const v = i32x4.add(i32x4.shuffle(acc, md, 0, 1, 4, 5), i32x4.shuffle(acc, md, 2, 3, 6, 7))
  const sums = f32x4.convert_i32x4_s(i32x4.add(v, i32x4.shuffle(v, v, 1, 0, 3, 2)))
  const dd = i8x16.swizzle(v128.load32_splat(b), i8x16(0, 1, -1, -1, 0, 1, -1, -1, 2, 3, -1, -1, 2, 3, -1, -1))
  const p = f32x4.mul(f32x4.mul(halves4(dd), f32x4.splat(load<f32>(x))), sums)
  sumf = sumf + f32x4.extract_lane(p, 0)
  return sumf - f32x4.extract_lane(p, 2)
}

/** fp16 bits in the low half of each i32 lane -> f32x4, exact, inf/NaN kept (as half()). */
@inline function halves4(h: v128): v128 {
  const em = v128.and(h, i32x4.splat(0x7fff))
  const sign = i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16)
  const finite = f32x4.mul(i32x4.shl(em, 13), f32x4.splat(reinterpret<f32>(0x77800000)))
  const special = v128.or(i32x4.shl(em, 13), i32x4.splat(0x7f800000))
  const isSpecial = i32x4.gt_s(em, i32x4.splat(0x7bff))
  return v128.or(v128.bitselect(special, finite, isSpecial), sign)
}

/**
 * out[p * rows + r] = row r of the Q4_K matrix at wPtr (rowBytes apart) . position p of the Q8KX
 * activations at xPtr (rowBytes / 144 blocks each), for r < rows, p < nPos: each equal to
 * vecDotQ4KQ8K bit for bit. Positions loop inside rows, so a weight row stays in L1 for a batch.
 */
export function q4k_matmul(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  const nb = <usize>(rowBytes / 144)
  const rb = <usize>rowBytes
  const xStride = nb * 576
  for (let p0 = 0; p0 < nPos; p0 += POS_TILE) {
    const p1 = min<i32>(nPos, p0 + POS_TILE)
    for (let r = 0; r < rows; r++) {
      const w0 = wPtr + <usize>r * rb
      for (let p = p0; p < p1; p++) {
        const x = xPtr + <usize>p * xStride
        let s0: f32 = 0
        for (let i: usize = 0; i < nb; i++) s0 = q4kBlock(w0 + i * 144, x + i * 576, s0)
        store<f32>(outPtr + (<usize>(p * rows + r) << 2), s0)
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Q6_K x Q8KX

/**
 * 64 weights: 16 at each of offsets 0, 32, 64, 96 of a 128-value half, from ql bytes qa (offsets
 * 0 / 64 in low / high nibbles), qb (32 / 96) and qh bytes hv (2 bits each), against Q8KX groups
 * g0, g0+2, g0+4, g0+6 starting at x, scaled by s0..s3. Returns sum_k s_k * sum q * x (q in 0..63).
 */
@inline function q6kQuad(qa: v128, qb: v128, hv: v128, x: usize, s0: v128, s1: v128, s2: v128, s3: v128): v128 {
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
  let acc = i32x4.mul(i32x4.add(dot(e0, v128.load(x)), dot(o0, v128.load(x, 16))), s0)
  acc = i32x4.add(acc, i32x4.mul(i32x4.add(dot(e1, v128.load(x, 64)), dot(o1, v128.load(x, 80))), s1))
  acc = i32x4.add(acc, i32x4.mul(i32x4.add(dot(e2, v128.load(x, 128)), dot(o2, v128.load(x, 144))), s2))
  return i32x4.add(acc, i32x4.mul(i32x4.add(dot(e3, v128.load(x, 192)), dot(o3, v128.load(x, 208))), s3))
}

/** One Q6_K block against one Q8KX block, folded into sumf as vecDotQ6KQ8K does. */
@inline function q6kBlock(b: usize, x: usize, sumf: f32): f32 {
  const s8 = v128.load(b, 192)
  const s16lo = i16x8.extend_low_i8x16_s(s8) // scales 0-7
  const s16hi = i16x8.extend_high_i8x16_s(s8) // scales 8-15
  // sum_g sc_g * sum (q - 32) x = sum_g sc_g * sum q x - 32 * sum_g sc_g * bsum16_g
  const bias = hsum(i32x4.add(dot(s16lo, v128.load(x, 544)), dot(s16hi, v128.load(x, 560))))
  // Four passes (a loop, see the Q4_K speed notes): pass i is half h = i >> 1 (ql 64 bytes, qh 32,
  // groups 8h .. 8h+7) and sub-pass is = i & 1, covering groups 8h + is + {0, 2, 4, 6} (activations
  // at x + 16 + 32 g); lanes 0 and 2 of sA / sB hold those groups' scales.
  let sA = i32x4.extend_low_i16x8_s(s16lo)
  let sB = i32x4.extend_high_i16x8_s(s16lo)
  let acc = i32x4.splat(0)
  for (let i: usize = 0; i < 4; i++) {
    const ql = b + ((i >> 1) << 6) + ((i & 1) << 4)
    const qh = b + 128 + ((i >> 1) << 5) + ((i & 1) << 4)
    const xq = x + 16 + ((i >> 1) << 8) + ((i & 1) << 5)
    acc = i32x4.add(acc, q6kQuad(v128.load(ql), v128.load(ql, 32), v128.load(qh), xq,
      i32x4.shuffle(sA, sA, 0, 0, 0, 0), i32x4.shuffle(sA, sA, 2, 2, 2, 2), i32x4.shuffle(sB, sB, 0, 0, 0, 0), i32x4.shuffle(sB, sB, 2, 2, 2, 2)))
    if (i == 1) {
      sA = i32x4.extend_low_i16x8_s(s16hi)
      sB = i32x4.extend_high_i16x8_s(s16hi)
    } else {
      sA = i32x4.shuffle(sA, sA, 1, 2, 3, 0)
      sB = i32x4.shuffle(sB, sB, 1, 2, 3, 0)
    }
  }
  const isum = hsum(acc) - 32 * bias
  return sumf + (half(load<u16>(b, 208)) * load<f32>(x)) * <f32>isum
}

/** As q4k_matmul for Q6_K weights (rowBytes / 210 blocks a row), equal to vecDotQ6KQ8K bit for bit. */
export function q6k_matmul(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  const nb = <usize>(rowBytes / 210)
  const rb = <usize>rowBytes
  const xStride = nb * 576
  for (let p0 = 0; p0 < nPos; p0 += POS_TILE) {
    const p1 = min<i32>(nPos, p0 + POS_TILE)
    for (let r = 0; r < rows; r++) {
      const w = wPtr + <usize>r * rb
      for (let p = p0; p < p1; p++) {
        const x = xPtr + <usize>p * xStride
        let s0: f32 = 0
        for (let i: usize = 0; i < nb; i++) s0 = q6kBlock(w + i * 210, x + i * 576, s0)
        store<f32>(outPtr + (<usize>(p * rows + r) << 2), s0)
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Q8_0 x Q80X

@inline function q8_0Block(b: usize, x: usize, sumf: f32): f32 {
  const lo = v128.load(b, 2)
  const hi = v128.load(b, 18)
  let acc = dot(i16x8.extend_low_i8x16_s(lo), v128.load(x, 16))
  acc = i32x4.add(acc, dot(i16x8.extend_high_i8x16_s(lo), v128.load(x, 32)))
  acc = i32x4.add(acc, dot(i16x8.extend_low_i8x16_s(hi), v128.load(x, 48)))
  acc = i32x4.add(acc, dot(i16x8.extend_high_i8x16_s(hi), v128.load(x, 64)))
  return sumf + (half(load<u16>(b)) * load<f32>(x)) * <f32>hsum(acc)
}

/** As q4k_matmul for Q8_0 weights (rowBytes / 34 blocks a row) and Q80X activations. */
export function q8_0_matmul(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  const nb = <usize>(rowBytes / 34)
  const rb = <usize>rowBytes
  const xStride = nb * 80
  for (let p0 = 0; p0 < nPos; p0 += POS_TILE) {
    const p1 = min<i32>(nPos, p0 + POS_TILE)
    for (let r = 0; r < rows; r++) {
      const w0 = wPtr + <usize>r * rb
      for (let p = p0; p < p1; p++) {
        const x = xPtr + <usize>p * xStride
        let s0: f32 = 0
        for (let i: usize = 0; i < nb; i++) s0 = q8_0Block(w0 + i * 34, x + i * 80, s0)
        store<f32>(outPtr + (<usize>(p * rows + r) << 2), s0)
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// F32 / F16 x f32 activations (the float path)

/** Sum of the four f32 lanes, in the order (l0 + l2) + (l1 + l3). */
@inline function fsum(v: v128): f32 {
  const t = f32x4.add(v, f32x4.shuffle(v, v, 2, 3, 0, 1))
  return f32x4.extract_lane(t, 0) + f32x4.extract_lane(t, 1)
}

/**
 * out[p * rows + r] = sum_i W[r, i] * x[p * cols + i] for F32 weights (cols = rowBytes / 4,
 * any value): f32x4 lanes with two accumulators, the remainder in scalar.
 */
export function f32_matmul(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  const cols = <usize>(rowBytes >> 2)
  const body = cols & ~(<usize>7)
  for (let p0 = 0; p0 < nPos; p0 += POS_TILE) {
    const p1 = min<i32>(nPos, p0 + POS_TILE)
    for (let r = 0; r < rows; r++) {
      const w = wPtr + <usize>r * <usize>rowBytes
      for (let p = p0; p < p1; p++) {
        const x = xPtr + ((<usize>p * cols) << 2)
        let a = f32x4.splat(0)
        let c = f32x4.splat(0)
        let i: usize = 0
        for (; i < body; i += 8) {
          a = f32x4.add(a, f32x4.mul(v128.load(w + (i << 2)), v128.load(x + (i << 2))))
          c = f32x4.add(c, f32x4.mul(v128.load(w + (i << 2), 16), v128.load(x + (i << 2), 16)))
        }
        let s = fsum(f32x4.add(a, c))
        for (; i < cols; i++) s += load<f32>(w + (i << 2)) * load<f32>(x + (i << 2))
        store<f32>(outPtr + (<usize>(p * rows + r) << 2), s)
      }
    }
  }
}

/** Eight fp16 values (16 bytes at w) as two f32x4: exact, inf/NaN kept. */
@inline function halves(h16: v128, hi: bool): v128 {
  const h = hi ? i32x4.extend_high_i16x8_u(h16) : i32x4.extend_low_i16x8_u(h16)
  const em = v128.and(h, i32x4.splat(0x7fff))
  const sign = i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16)
  const finite = f32x4.mul(i32x4.shl(em, 13), f32x4.splat(reinterpret<f32>(0x77800000)))
  const special = v128.or(i32x4.shl(em, 13), i32x4.splat(0x7f800000))
  const isSpecial = i32x4.gt_s(em, i32x4.splat(0x7bff))
  return v128.or(v128.bitselect(special, finite, isSpecial), sign)
}

/** As f32_matmul for F16 weights (cols = rowBytes / 2). */
export function f16_matmul(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  const cols = <usize>(rowBytes >> 1)
  const body = cols & ~(<usize>7)
  for (let p0 = 0; p0 < nPos; p0 += POS_TILE) {
    const p1 = min<i32>(nPos, p0 + POS_TILE)
    for (let r = 0; r < rows; r++) {
      const w = wPtr + <usize>r * <usize>rowBytes
      for (let p = p0; p < p1; p++) {
        const x = xPtr + ((<usize>p * cols) << 2)
        let a = f32x4.splat(0)
        let c = f32x4.splat(0)
        let i: usize = 0
        for (; i < body; i += 8) {
          const h = v128.load(w + (i << 1))
          a = f32x4.add(a, f32x4.mul(halves(h, false), v128.load(x + (i << 2))))
          c = f32x4.add(c, f32x4.mul(halves(h, true), v128.load(x + (i << 2), 16)))
        }
        let s = fsum(f32x4.add(a, c))
        for (; i < cols; i++) s += half(load<u16>(w + (i << 1))) * load<f32>(x + (i << 2))
        store<f32>(outPtr + (<usize>(p * rows + r) << 2), s)
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Q4_K / Q6_K x f32 activations (the float path: within 1e-5 of dotRowQ4K / dotRowQ6K)
//
// Activations are prepared once per vector into F32X, 1120 bytes per 256 values:
//   0     f32 x[256] in 16 groups of 16: each group's 8 even-index values, then its 8 odd ones
//   1024  f32 sum32[8]   sum of x over each 32-value sub-block (for the Q4_K mins)
//   1056  f32 sum16[16]  sum of x over each 16-value group (for Q6_K's -32 offset)

/** n f32 at xPtr (n a multiple of 256) into F32X at outPtr. */
export function prepare_f32x(xPtr: usize, n: i32, outPtr: usize): void {
  const nb = <usize>(n >> 8)
  for (let i: usize = 0; i < nb; i++) {
    const x = xPtr + (i << 10)
    const y = outPtr + i * 1120
    for (let g: usize = 0; g < 16; g++) {
      let s: f32 = 0
      for (let k: usize = 0; k < 16; k++) {
        const v = load<f32>(x + ((g * 16 + k) << 2))
        store<f32>(y + g * 64 + ((k & 1) << 5) + ((k >> 1) << 2), v)
        s += v
      }
      store<f32>(y + 1056 + (g << 2), s)
    }
    for (let j: usize = 0; j < 8; j++) store<f32>(y + 1024 + (j << 2), load<f32>(y + 1056 + (j << 3)) + load<f32>(y + 1060 + (j << 3)))
  }
}

/** sum over 8 weights (i16 lanes of q, each an exact small integer) times 8 f32 activations at x. */
@inline function fdot8(q: v128, x: usize): v128 {
  return f32x4.add(
    f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(q)), v128.load(x)),
    f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(q)), v128.load(x, 16)))
}

/**
 * Float dot of one Q4_K chunk (64 weights at q) with F32X activations at x (groups A0 A1 B0 B1,
 * 64 bytes each), scaled: dA * sum_A + dB * sum_B (f32x4). As in q4kChunk, the odd low nibbles are
 * taken as 256 q and the even high nibbles as 16 q; scaling back by a power of two is exact.
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
 * As q6kQuad with f32 activations (F32X groups g0, g0+2, g0+4, g0+6 from x) and f32 group scales
 * d * sc: returns sum_k ds_k * sum q x (q in 0..63; the -32 is applied by the caller).
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
