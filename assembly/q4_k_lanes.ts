/**
 * Q4_K in lane order: the base build's layout of Q4_K matrices (src/model/weight-layouts.ts puts
 * them in it after loading). A block keeps its 144 bytes, rearranged:
 * - its 128 bytes of nibbles: 16-byte step t (0-7) holds, in its 32-bit lane k, bytes 4t .. 4t + 3
 *   of the 32-byte group k (group k: values of sub-block 2k in the low nibbles, of 2k + 1 in the
 *   high ones). So every lane of a step stays with one pair of sub-blocks for the whole block: the
 *   one-position kernel sums each sub-block in its own lane and scales all of them once a block,
 *   where the block in file order needs the rows' lanes folded and scaled chunk by chunk;
 * - its head (fp16 d and dmin, 12 bytes of packed 6-bit scales and mins): 32-bit word k holds
 *   sc[2k] | sc[2k + 1] << 6 | m[2k] << 12 | m[2k + 1] << 18 (as get_scale_min_k4 decodes them) and,
 *   in its top byte, byte k of d, dmin (little-endian). Each scale or min comes out of a shift and a
 *   mask, where the file's packing takes ten shuffles, shifts and blends a row.
 * Activations to match (quantize.ts): Q8KL (Q8KX's values in the same order, in Q8KX's places: step
 * t = 2c + h of chunk c, its A evens, A odds, B evens, B odds at 16 + 128 c + 32 h + 0, 16, 64, 80;
 * i16 lane 2k + l the value 4t + 2l (odds: + 1) of sub-block 2k (A) or 2k + 1 (B)) and Q8KLY (Q8KL
 * with Q8KY's lane factors, and the sub-blocks' sums as i32 at 544 (2k) and 560 (2k + 1)).
 *
 * Speed (Zen 4, one thread, 14336 x 4096, alternating with q4k_matvec_y, bit-exact first): 10.9-11.0
 * -> 11.45-11.5 GB/s (+5%) with the four accumulators pinned at the end of each step; pinned after
 * each half 11.3-11.4; all loads of a step first 10.1-10.2, each row's half pinned apart 10.5; two or
 * no pins a step spill everything (4-5 GB/s). The same kernel with its step loop not unrolled ran
 * as fast as the file order (V8 checks the stack at each iteration). With the head in words as above
 * instead of the file's packing (the mins' dot in i32 against Q8KLY's sums): 11.5-11.6 -> 12.2 GB/s.
 */
import {foldPair, halves, pin} from './common'
import {LaneOrder, q4kDotsA, q4kDotsB, q4kScales, q4kSweep} from './q4_k'
import {rowsPair} from './rows_pair'

/** Stores the 4 x 4 transpose (of 32-bit words) of v0 .. v3 at b + o0 .. b + o3. */
@inline function storeTransposed(b: usize, v0: v128, v1: v128, v2: v128, v3: v128, o0: usize, o1: usize, o2: usize, o3: usize): void {
  const lo = i32x4.shuffle(v0, v1, 0, 4, 1, 5), hi = i32x4.shuffle(v0, v1, 2, 6, 3, 7)
  const lo2 = i32x4.shuffle(v2, v3, 0, 4, 1, 5), hi2 = i32x4.shuffle(v2, v3, 2, 6, 3, 7)
  v128.store(b + o0, i64x2.shuffle(lo, lo2, 0, 2))
  v128.store(b + o1, i64x2.shuffle(lo, lo2, 1, 3))
  v128.store(b + o2, i64x2.shuffle(hi, hi2, 0, 2))
  v128.store(b + o3, i64x2.shuffle(hi, hi2, 1, 3))
}

/** Scale (lane k: sc[2k]; odd: sc[2k + 1]) or min (m[2k], m[2k + 1]) of a head in lane order (m63: 63 in each i32 lane). */
@inline export function laneField(head: v128, min: bool, odd: bool, m63: v128): v128 {
  const at = (min ? 12 : 0) + (odd ? 6 : 0)
  return v128.and(at == 0 ? head : i32x4.shr_u(head, at), m63)
}

/** d (i = 0) or dmin (1) of the block in lane order at b, fp16 bits. */
@inline export function laneHalf(b: usize, i: usize): u32 {
  return <u32>load<u8>(b + 8 * i, 3) | (<u32>load<u8>(b + 8 * i, 7) << 8)
}

/** The head of the file-order block at h in lane order (see the top), in place. */
@inline function packHead(h: usize, m0F: v128, m30: v128): void {
  const sm = q4kScales(h, m0F, m30) // bytes sc[0..7], m[0..7]
  const sc = i16x8.extend_low_i8x16_u(sm), mn = i16x8.extend_high_i8x16_u(sm) // i32 lane k: x[2k] | x[2k + 1] << 16
  const m16 = i32x4.shr_u(i32x4.eq(sc, sc), 16)
  const scw = v128.or(v128.and(sc, m16), i32x4.shl(i32x4.shr_u(sc, 16), 6))
  const mnw = v128.or(v128.and(mn, m16), i32x4.shl(i32x4.shr_u(mn, 16), 6))
  const dBytes = i8x16.shuffle(v128.load(h), i32x4.splat(0), 16, 16, 16, 0, 16, 16, 16, 1, 16, 16, 16, 2, 16, 16, 16, 3)
  v128.store(h, v128.or(v128.or(scw, i32x4.shl(mnw, 12)), dBytes))
}

/** Bytes j, j + 4, j + 8 of the file's 12 packed scale bytes at q from sc[j], sc[j + 4], m[j], m[j + 4]. */
@inline function packScales(q: usize, j: usize, sc: u32, sc4: u32, m: u32, m4: u32): void {
  store<u8>(q + j, sc | ((sc4 >> 4) << 6))
  store<u8>(q + j, m | ((m4 >> 4) << 6), 4)
  store<u8>(q + j, (sc4 & 15) | ((m4 & 15) << 4), 8)
}

/** The head of the lane-order block at h back in the file's packing (get_scale_min_k4's inverse), in place. */
@inline function unpackHead(h: usize): void {
  const w0 = load<u32>(h), w1 = load<u32>(h, 4), w2 = load<u32>(h, 8), w3 = load<u32>(h, 12)
  store<u16>(h, (w0 >> 24) | ((w1 >> 24) << 8))
  store<u16>(h, (w2 >> 24) | ((w3 >> 24) << 8), 2)
  packScales(h + 4, 0, w0 & 63, w2 & 63, (w0 >> 12) & 63, (w2 >> 12) & 63)
  packScales(h + 4, 1, (w0 >> 6) & 63, (w2 >> 6) & 63, (w0 >> 18) & 63, (w2 >> 18) & 63)
  packScales(h + 4, 2, w1 & 63, w3 & 63, (w1 >> 12) & 63, (w3 >> 12) & 63)
  packScales(h + 4, 3, (w1 >> 6) & 63, (w3 >> 6) & 63, (w1 >> 18) & 63, (w3 >> 18) & 63)
}

/**
 * Puts nBlocks Q4_K blocks at p into lane order, in place (back into file order with `back`). Steps
 * 0-3 are the transpose of the groups' first halves (the nibbles' 16-byte vectors 0, 2, 4, 6),
 * steps 4-7 of their second halves (1, 3, 5, 7); the head is repacked (packHead, unpackHead).
 */
export function q4k_lanes(p: usize, nBlocks: i32, back: bool): void {
  const m0F = i8x16.splat(0x0f), m30 = i8x16.splat(0x30)
  for (let i = 0; i < nBlocks; i++) {
    const h = p + <usize>i * 144, b = h + 16
    const v0 = v128.load(b), v1 = v128.load(b, 16), v2 = v128.load(b, 32), v3 = v128.load(b, 48)
    const v4 = v128.load(b, 64), v5 = v128.load(b, 80), v6 = v128.load(b, 96), v7 = v128.load(b, 112)
    if (back) {
      storeTransposed(b, v0, v1, v2, v3, 0, 32, 64, 96)
      storeTransposed(b, v4, v5, v6, v7, 16, 48, 80, 112)
      unpackHead(h)
    } else {
      storeTransposed(b, v0, v2, v4, v6, 0, 16, 32, 48)
      storeTransposed(b, v1, v3, v5, v7, 64, 80, 96, 112)
      packHead(h, m0F, m30)
    }
  }
}

/**
 * Two Q4_K blocks in lane order (rows r at b, s at b2; b2 = b computes one row twice) against one
 * Q8KLY block at x: S plus each block as vecDotQ4KQ8K folds it (the float step of q4_k.ts
 * q4kBlockPairY). Each row keeps two accumulators, lane k of aR the sum of sub-block 2k, of bR of
 * 2k + 1, every product times 256 (the lane factors, as on Q8KY); the eight steps are written out
 * (a loop ran 4% slower) and pin the four accumulators at their end (see the speed notes above).
 * Bound: a lane holds 32 products |15 * 256 * 127|, 1.56e7; times a scale <= 63 and added to the
 * other sub-block's, 1.97e9 < 2^31, so the scaled sums are divided by 256 after they are added.
 */
@inline export function q4kBlockPairL(b: usize, b2: usize, x: usize, S: v128, o: usize): v128 {
  const head = v128.load(b)
  const m000F = i16x8.shr_u(i16x8.eq(head, head), 12)
  const m0F00 = i16x8.shl(m000F, 8), m00F0 = i16x8.shl(m000F, 4)
  let aR = i32x4.splat(0), bR = aR, aS = aR, bS = aR
  let w: v128, v: v128, x0: v128, x1: v128
  w = v128.load(b, 16); v = v128.load(b2, 16); x0 = v128.load(x, 16); x1 = v128.load(x, 32)
  aR = i32x4.add(aR, q4kDotsA(w, x0, x1, m000F, m0F00)); aS = i32x4.add(aS, q4kDotsA(v, x0, x1, m000F, m0F00))
  x0 = v128.load(x, 80); x1 = v128.load(x, 96)
  bR = i32x4.add(bR, q4kDotsB(w, x0, x1, m00F0)); bS = i32x4.add(bS, q4kDotsB(v, x0, x1, m00F0))
  pin(o, aR); pin(o, aS); pin(o, bR); pin(o, bS)
  w = v128.load(b, 32); v = v128.load(b2, 32); x0 = v128.load(x, 48); x1 = v128.load(x, 64)
  aR = i32x4.add(aR, q4kDotsA(w, x0, x1, m000F, m0F00)); aS = i32x4.add(aS, q4kDotsA(v, x0, x1, m000F, m0F00))
  x0 = v128.load(x, 112); x1 = v128.load(x, 128)
  bR = i32x4.add(bR, q4kDotsB(w, x0, x1, m00F0)); bS = i32x4.add(bS, q4kDotsB(v, x0, x1, m00F0))
  pin(o, aR); pin(o, aS); pin(o, bR); pin(o, bS)
  w = v128.load(b, 48); v = v128.load(b2, 48); x0 = v128.load(x, 144); x1 = v128.load(x, 160)
  aR = i32x4.add(aR, q4kDotsA(w, x0, x1, m000F, m0F00)); aS = i32x4.add(aS, q4kDotsA(v, x0, x1, m000F, m0F00))
  x0 = v128.load(x, 208); x1 = v128.load(x, 224)
  bR = i32x4.add(bR, q4kDotsB(w, x0, x1, m00F0)); bS = i32x4.add(bS, q4kDotsB(v, x0, x1, m00F0))
  pin(o, aR); pin(o, aS); pin(o, bR); pin(o, bS)
  w = v128.load(b, 64); v = v128.load(b2, 64); x0 = v128.load(x, 176); x1 = v128.load(x, 192)
  aR = i32x4.add(aR, q4kDotsA(w, x0, x1, m000F, m0F00)); aS = i32x4.add(aS, q4kDotsA(v, x0, x1, m000F, m0F00))
  x0 = v128.load(x, 240); x1 = v128.load(x, 256)
  bR = i32x4.add(bR, q4kDotsB(w, x0, x1, m00F0)); bS = i32x4.add(bS, q4kDotsB(v, x0, x1, m00F0))
  pin(o, aR); pin(o, aS); pin(o, bR); pin(o, bS)
  w = v128.load(b, 80); v = v128.load(b2, 80); x0 = v128.load(x, 272); x1 = v128.load(x, 288)
  aR = i32x4.add(aR, q4kDotsA(w, x0, x1, m000F, m0F00)); aS = i32x4.add(aS, q4kDotsA(v, x0, x1, m000F, m0F00))
  x0 = v128.load(x, 336); x1 = v128.load(x, 352)
  bR = i32x4.add(bR, q4kDotsB(w, x0, x1, m00F0)); bS = i32x4.add(bS, q4kDotsB(v, x0, x1, m00F0))
  pin(o, aR); pin(o, aS); pin(o, bR); pin(o, bS)
  w = v128.load(b, 96); v = v128.load(b2, 96); x0 = v128.load(x, 304); x1 = v128.load(x, 320)
  aR = i32x4.add(aR, q4kDotsA(w, x0, x1, m000F, m0F00)); aS = i32x4.add(aS, q4kDotsA(v, x0, x1, m000F, m0F00))
  x0 = v128.load(x, 368); x1 = v128.load(x, 384)
  bR = i32x4.add(bR, q4kDotsB(w, x0, x1, m00F0)); bS = i32x4.add(bS, q4kDotsB(v, x0, x1, m00F0))
  pin(o, aR); pin(o, aS); pin(o, bR); pin(o, bS)
  w = v128.load(b, 112); v = v128.load(b2, 112); x0 = v128.load(x, 400); x1 = v128.load(x, 416)
  aR = i32x4.add(aR, q4kDotsA(w, x0, x1, m000F, m0F00)); aS = i32x4.add(aS, q4kDotsA(v, x0, x1, m000F, m0F00))
  x0 = v128.load(x, 464); x1 = v128.load(x, 480)
  bR = i32x4.add(bR, q4kDotsB(w, x0, x1, m00F0)); bS = i32x4.add(bS, q4kDotsB(v, x0, x1, m00F0))
  pin(o, aR); pin(o, aS); pin(o, bR); pin(o, bS)
  w = v128.load(b, 128); v = v128.load(b2, 128); x0 = v128.load(x, 432); x1 = v128.load(x, 448)
  aR = i32x4.add(aR, q4kDotsA(w, x0, x1, m000F, m0F00)); aS = i32x4.add(aS, q4kDotsA(v, x0, x1, m000F, m0F00))
  x0 = v128.load(x, 496); x1 = v128.load(x, 512)
  bR = i32x4.add(bR, q4kDotsB(w, x0, x1, m00F0)); bS = i32x4.add(bS, q4kDotsB(v, x0, x1, m00F0))
  pin(o, aR); pin(o, aS); pin(o, bR); pin(o, bS)
  const hS = v128.load(b2)
  const m63 = i32x4.shr_u(i32x4.eq(head, head), 26)
  const bsA = v128.load(x, 544), bsB = v128.load(x, 560) // sums of the activations of sub-blocks 2k, 2k + 1 (i32)
  const mR = i32x4.add(i32x4.mul(laneField(head, true, false, m63), bsA), i32x4.mul(laneField(head, true, true, m63), bsB))
  const mS = i32x4.add(i32x4.mul(laneField(hS, true, false, m63), bsA), i32x4.mul(laneField(hS, true, true, m63), bsB))
  const mins = foldPair(mR, mS) // imin r, r, s, s (halves)
  const iR = i32x4.add(i32x4.mul(aR, laneField(head, false, false, m63)), i32x4.mul(bR, laneField(head, false, true, m63)))
  const iS = i32x4.add(i32x4.mul(aS, laneField(hS, false, false, m63)), i32x4.mul(bS, laneField(hS, false, true, m63)))
  const acc = foldPair(i32x4.shr_s(iR, 8), i32x4.shr_s(iS, 8)) // exact: every product carries 256
  const ints = i32x4.add(i32x4.shuffle(acc, mins, 0, 4, 2, 6), i32x4.shuffle(acc, mins, 1, 5, 3, 7)) // isumR, iminR, isumS, iminS
  const tR = i32x4.shr_u(head, 24), tS = i32x4.shr_u(hS, 24) // bytes of d, dmin
  const h16 = v128.or(i32x4.shuffle(tR, tS, 0, 2, 4, 6), i32x4.shl(i32x4.shuffle(tR, tS, 1, 3, 5, 7), 8))
  const dd = halves(i16x8.narrow_i32x4_u(h16, h16), false) // dR, dminR, dS, dminS
  const p = f32x4.mul(f32x4.mul(dd, v128.load32_splat(x)), f32x4.convert_i32x4_s(ints))
  return f32x4.sub(f32x4.add(S, i32x4.shuffle(p, p, 0, 2, 0, 2)), i32x4.shuffle(p, p, 1, 3, 1, 3))
}

/** One position: out[r] = row r of the Q4_K matrix in lane order at wPtr . the Q8KLY activations at xPtr (as q4k_matvec_y). */
export function q4k_matvec_l(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  rowsPair(wPtr, <usize>rowBytes, rows, <usize>(rowBytes / 144), xPtr, outPtr, false, false, false, false, true)
}

/** q4k_matmul for a matrix in lane order against Q8KL activations: equal to vecDotQ4KQ8K bit for bit. */
export function q4k_matmul_l(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  q4kSweep<LaneOrder>(wPtr, rowBytes, rows, xPtr, nPos, outPtr)
}
