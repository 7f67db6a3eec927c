/**
 * Q4_K in lane order: the base build's layout of Q4_K matrices (src/model/matmul-fast.ts puts them
 * in it after loading). A block keeps its 144 bytes and its head (d, dmin, the 12 scale bytes);
 * only its 128 bytes of nibbles move: 16-byte step t (0-7) holds, in its 32-bit lane k, bytes
 * 4t .. 4t + 3 of the 32-byte group k (group k: values of sub-block 2k in the low nibbles, of
 * 2k + 1 in the high ones). So every lane of a step stays with one pair of sub-blocks for the whole
 * block: the one-position kernel sums each sub-block in its own lane and scales all of them once a
 * block, where the block in file order needs the rows' lanes folded and scaled chunk by chunk.
 * Activations to match (quantize.ts): Q8KL (Q8KX's values in the same order, in Q8KX's places: step
 * t = 2c + h of chunk c, its A evens, A odds, B evens, B odds at 16 + 128 c + 32 h + 0, 16, 64, 80;
 * i16 lane 2k + l the value 4t + 2l (odds: + 1) of sub-block 2k (A) or 2k + 1 (B)) and Q8KLY (Q8KL
 * with Q8KY's lane factors).
 *
 * Speed (Zen 4, one thread, 14336 x 4096, alternating with q4k_matvec_y, bit-exact first): 10.9-11.0
 * -> 11.45-11.5 GB/s (+5%) with the four accumulators pinned at the end of each step; pinned after
 * each half 11.3-11.4; all loads of a step first 10.1-10.2, each row's half pinned apart 10.5; two or
 * no pins a step spill everything (4-5 GB/s). The same kernel with its step loop not unrolled ran
 * as fast as the file order (V8 checks the stack at each iteration).
 */
import {dot, everyByte, foldPair, halves, pin} from './common'
import {q4kDotsA, q4kDotsB, q4kScales, q4kSweep} from './q4_k'
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

/**
 * Puts nBlocks Q4_K blocks at p into lane order, in place (back into file order with `back`). Steps
 * 0-3 are the transpose of the groups' first halves (the nibbles' 16-byte vectors 0, 2, 4, 6),
 * steps 4-7 of their second halves (1, 3, 5, 7).
 */
export function q4k_lanes(p: usize, nBlocks: i32, back: bool): void {
  for (let i = 0; i < nBlocks; i++) {
    const b = p + <usize>i * 144 + 16
    const v0 = v128.load(b), v1 = v128.load(b, 16), v2 = v128.load(b, 32), v3 = v128.load(b, 48)
    const v4 = v128.load(b, 64), v5 = v128.load(b, 80), v6 = v128.load(b, 96), v7 = v128.load(b, 112)
    if (back) {
      storeTransposed(b, v0, v1, v2, v3, 0, 32, 64, 96)
      storeTransposed(b, v4, v5, v6, v7, 16, 48, 80, 112)
    } else {
      storeTransposed(b, v0, v2, v4, v6, 0, 16, 32, 48)
      storeTransposed(b, v1, v3, v5, v7, 64, 80, 96, 112)
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
  const m0F = everyByte(m000F), m30 = everyByte(i16x8.shl(i16x8.shr_u(m0F00, 10), 4))
  const smR = q4kScales(b, m0F, m30), smS = q4kScales(b2, m0F, m30)
  const bsum = v128.load(x, 528)
  const mins = foldPair(dot(i16x8.extend_high_i8x16_u(smR), bsum), dot(i16x8.extend_high_i8x16_u(smS), bsum)) // imin r, r, s, s (halves)
  const scR = i16x8.extend_low_i8x16_u(smR), scS = i16x8.extend_low_i8x16_u(smS) // i16 scales 0-7: i32 lane k holds 2k and 2k + 1
  const iR = i32x4.add(i32x4.mul(aR, i32x4.shr_u(i32x4.shl(scR, 16), 16)), i32x4.mul(bR, i32x4.shr_u(scR, 16)))
  const iS = i32x4.add(i32x4.mul(aS, i32x4.shr_u(i32x4.shl(scS, 16), 16)), i32x4.mul(bS, i32x4.shr_u(scS, 16)))
  const acc = foldPair(i32x4.shr_s(iR, 8), i32x4.shr_s(iS, 8)) // exact: every product carries 256
  const ints = i32x4.add(i32x4.shuffle(acc, mins, 0, 4, 2, 6), i32x4.shuffle(acc, mins, 1, 5, 3, 7)) // isumR, iminR, isumS, iminS
  const dd = halves(v128.load32_lane(b2, v128.load32_zero(b), 1), false) // dR, dminR, dS, dminS
  const p = f32x4.mul(f32x4.mul(dd, v128.load32_splat(x)), f32x4.convert_i32x4_s(ints))
  return f32x4.sub(f32x4.add(S, i32x4.shuffle(p, p, 0, 2, 0, 2)), i32x4.shuffle(p, p, 1, 3, 1, 3))
}

/** One position: out[r] = row r of the Q4_K matrix in lane order at wPtr . the Q8KLY activations at xPtr (as q4k_matvec_y). */
export function q4k_matvec_l(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  rowsPair(wPtr, <usize>rowBytes, rows, <usize>(rowBytes / 144), xPtr, outPtr, false, false, false, false, true)
}

/** q4k_matmul for a matrix in lane order against Q8KL activations: equal to vecDotQ4KQ8K bit for bit. */
export function q4k_matmul_l(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  q4kSweep(wPtr, rowBytes, rows, xPtr, nPos, outPtr, true)
}
