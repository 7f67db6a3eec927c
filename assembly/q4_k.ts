/**
 * Q4_K weights (block_q4_K, 144 bytes / 256 values) against Q8KX activations (bit-exact with
 * vecDotQ4KQ8K) and against F32X activations (the float path, within 1e-5 of dotRowQ4K).
 */
import {dot, fdot8, fsum, half, halves4, hsum, POS_TILE} from './common'

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
