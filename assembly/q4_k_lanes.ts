/**
 * Q4_K in lane order: the base build's layout of Q4_K matrices (src/model/weight-layouts.ts puts
 * them in it after loading). A block keeps its 144 bytes, rearranged:
 * - its 128 bytes of nibbles: 16-byte step t (0-7) holds, in its 32-bit lane k, bytes 4t .. 4t + 3
 *   of the 32-byte group k (group k: values of sub-block 2k in the low nibbles, of 2k + 1 in the
 *   high ones). So every lane of a step stays with one pair of sub-blocks for the whole block: the
 *   one-position kernel sums each sub-block in its own lane and scales all of them once a block,
 *   where the block in file order needs the rows' lanes folded and scaled chunk by chunk;
 * - its head (fp16 d and dmin, 12 bytes of packed 6-bit scales and mins): 16-bit lane j (0-7) holds
 *   m[j] | sc[j] << 6 (as get_scale_min_k4 decodes them) and, in its top four bits, nibble j of
 *   (d | dmin << 16). The mins are then a dot (i32x4.dot_i16x8_s) of the head masked with the sub-blocks'
 *   sums, each scale comes out of two shifts, and d, dmin of both rows are gathered from the top
 *   nibbles with two narrows. The fp16 values are widened by a shift and a mask (finiteHalves),
 *   which is exact for every finite half; a matrix with an infinite or NaN d or dmin stays in file
 *   order (q4k_lanes refuses it).
 * Activations to match (quantize.ts): Q8KL (Q8KX's values in the same order, in Q8KX's places: step
 * t = 2c + h of chunk c, its A evens, A odds, B evens, B odds at 16 + 128 c + 32 h + 0, 16, 64, 80;
 * i16 lane 2k + l the value 4t + 2l (odds: + 1) of sub-block 2k (A) or 2k + 1 (B)) and Q8KLY (Q8KL
 * with Q8KY's lane factors, and at 4 and 8 the f32 2^112 and the mask 0x8fffffff of finiteHalves).
 *
 * Speed (Zen 4, one thread, 14336 x 4096, alternating with q4k_matvec_y, bit-exact first): 10.9-11.0
 * -> 11.45-11.5 GB/s (+5%) with the four accumulators pinned at the end of each step; pinned after
 * each half 11.3-11.4; all loads of a step first 10.1-10.2, each row's half pinned apart 10.5; two or
 * no pins a step spill everything (4-5 GB/s). The same kernel with its step loop not unrolled ran
 * as fast as the file order (V8 checks the stack at each iteration). With an earlier head layout (32-bit
 * word k: sc[2k], sc[2k + 1], m[2k], m[2k + 1] and a byte of d / dmin; the mins' dot in i32 against
 * i32 sub-block sums) instead of the file's packing: 11.5-11.6 -> 12.2 GB/s.
 * The head in 16-bit lanes as above (mins by one dot, d and dmin by narrows and finiteHalves in
 * place of halves), and each block's float step deferred to the middle of the next block
 * (q4kBlockPairL): 12.1 -> 13.3 GB/s (file order 10.95).
 */
import {dot, foldPair, LaneOrder, pin} from './common'
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

/** The scales of a head in lane order, i32 lane k: sc[2k] (odd: sc[2k + 1]). */
@inline export function laneScales(head: v128, odd: bool): v128 {
  return i32x4.shr_u(i32x4.shl(head, odd ? 4 : 20), 26)
}

/** The mins of a head in lane order, i16 lane j: m[j] (m3F: 0x003f in each 16-bit lane). */
@inline export function laneMins(head: v128, m3F: v128): v128 {
  return v128.and(head, m3F)
}

/**
 * d and dmin of the heads in lane order hR, hS: i16 lanes dR, dminR, dS, dminS (fp16 bits; lanes
 * 4-7 the same again), from the top nibbles of their 16-bit lanes. mFF: 0x00ff in each 16-bit lane.
 */
@inline export function laneHalves(hR: v128, hS: v128, mFF: v128): v128 {
  const t = i8x16.narrow_i16x8_u(i16x8.shr_u(hR, 12), i16x8.shr_u(hS, 12)) // i16 lane i: nibbles 2i, 2i + 1 in its two bytes
  const bytes = v128.and(v128.or(t, i16x8.shr_u(t, 4)), mFF)
  return i8x16.narrow_i16x8_u(bytes, bytes)
}

/**
 * The low four fp16 values of h16 as f32, exact for finite halves (not for inf / NaN): the half
 * in the top of an i32 lane, shifted right by 3 with its sign and masked (m: 0x8fffffff) is its
 * value times 2^-112 as an f32 (normal or subnormal alike), and times 2^112 (k) it is the value.
 */
@inline export function finiteHalves(h16: v128, m: v128, k: v128): v128 {
  return f32x4.mul(v128.and(i32x4.shr_s(i32x4.shl(i32x4.extend_low_i16x8_u(h16), 16), 3), m), k)
}

/** d | dmin << 16 of the block in lane order at b (fp16 bits). */
@inline function laneD(b: usize): u32 {
  const head = v128.load(b)
  return i32x4.extract_lane(laneHalves(head, head, i16x8.shr_u(i16x8.eq(head, head), 8)), 0)
}

/** The head of the file-order block at h in lane order (see the top), in place. */
@inline function packHead(h: usize, m0F: v128, m30: v128): void {
  const sm = q4kScales(h, m0F, m30) // bytes sc[0..7], m[0..7]
  const v = v128.load(h)
  const dd = i8x16.shuffle(v, i32x4.splat(0), 0, 16, 0, 16, 1, 16, 1, 16, 2, 16, 2, 16, 3, 16, 3, 16) // i16 lane j: byte j >> 1 of d, dmin
  const m000F = i16x8.shr_u(i16x8.eq(v, v), 12)
  const nib = v128.bitselect(v128.and(dd, m000F), i16x8.shr_u(dd, 4), i32x4.shr_u(i32x4.eq(v, v), 16)) // even lanes the low nibble
  const sc = i16x8.extend_low_i8x16_u(sm), mn = i16x8.extend_high_i8x16_u(sm)
  v128.store(h, v128.or(v128.or(mn, i16x8.shl(sc, 6)), i16x8.shl(nib, 12)))
}

/** Bytes j, j + 4, j + 8 of the file's 12 packed scale bytes at q from sc[j], sc[j + 4], m[j], m[j + 4]. */
@inline function packScales(q: usize, j: usize, sc: u32, sc4: u32, m: u32, m4: u32): void {
  store<u8>(q + j, sc | ((sc4 >> 4) << 6))
  store<u8>(q + j, m | ((m4 >> 4) << 6), 4)
  store<u8>(q + j, (sc4 & 15) | ((m4 & 15) << 4), 8)
}

/** The head of the lane-order block at h back in the file's packing (get_scale_min_k4's inverse), in place. */
@inline function unpackHead(h: usize): void {
  const D = laneD(h)
  const lo = load<u64>(h), hi = load<u64>(h, 8) // lanes 0-3, 4-7
  for (let j: u64 = 0; j < 4; j++) {
    const u = (lo >> (j << 4)) & 0xfff, u4 = (hi >> (j << 4)) & 0xfff // m | sc << 6 of lanes j and j + 4
    packScales(h + 4, <usize>j, <u32>(u >> 6), <u32>(u4 >> 6), <u32>(u & 63), <u32>(u4 & 63))
  }
  store<u32>(h, D)
}

/** Whether the fp16 d or dmin of the file-order block at h is infinite or NaN (exponent bits all ones). */
@inline function nonFiniteScale(h: usize): bool {
  const v = load<u32>(h)
  return (v & 0x7c00) == 0x7c00 || (v & 0x7c000000) == 0x7c000000
}

/**
 * Puts nBlocks Q4_K blocks at p into lane order, in place (back into file order with `back`), and
 * returns -1; going into lane order, a block with an infinite or NaN d or dmin (which finiteHalves
 * cannot widen) stops it: the blocks before it are put back and its index is returned, the matrix
 * left in file order as it was. Steps 0-3 are the transpose of the groups' first halves (the
 * nibbles' 16-byte vectors 0, 2, 4, 6), steps 4-7 of their second halves (1, 3, 5, 7); the head is
 * repacked (packHead, unpackHead).
 */
export function q4k_lanes(p: usize, nBlocks: i32, back: bool): i32 {
  const m0F = i8x16.splat(0x0f), m30 = i8x16.splat(0x30)
  for (let i = 0; i < nBlocks; i++) {
    const h = p + <usize>i * 144, b = h + 16
    if (!back && nonFiniteScale(h)) {
      q4k_lanes(p, i, true)
      return i
    }
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
  return -1
}

/**
 * The float step of a pair of blocks that q4kBlockPairL leaves for the next one: (d * dy) * isum and
 * (dmin * dy) * imin of rows r and s in lanes 0-3 of an f32x4, added to and taken from the rows'
 * sums after the next block's first four steps. Taken at the end of a block, that step waited on
 * all of its work, and a chain of some 40 dependent instructions at the end of each block held back
 * the next block's (measured: 12.1 -> 12.7 GB/s deferred, bit for bit the same sums). A global of
 * the instance, so private to each thread; rowsPair starts each row with lanePending and ends it with
 * laneFinish.
 */
let pending: v128 = i32x4(0, 0, 0, 0) // a constant initializer: no start function

/** No step pending: -0 to add and +0 to take away leave any sum as it is, -0 included. */
@inline export function lanePending(): void {
  pending = i32x4.replace_lane(i32x4.replace_lane(i32x4.splat(0), 0, 0x80000000), 2, 0x80000000)
}

/** S (f32 lanes 0, 1: rows r, s) with the pending float step taken: sumf + (d * dy) * isum - (dmin * dy) * imin. */
@inline export function laneFinish(S: v128): v128 {
  const p = pending
  return f32x4.sub(f32x4.add(S, i32x4.shuffle(p, p, 0, 2, 0, 2)), i32x4.shuffle(p, p, 1, 3, 1, 3))
}

/**
 * Two Q4_K blocks in lane order (rows r at b, s at b2; b2 = b computes one row twice) against one
 * Q8KLY block at x: S with the previous pair's float step taken (laneFinish), and this pair's left
 * pending, as vecDotQ4KQ8K folds it. Each row keeps two accumulators, lane k of aR the sum of
 * sub-block 2k, of bR of 2k + 1, every product times 256 (the lane factors, as on Q8KY); the eight
 * steps are written out (a loop ran 4% slower) and pin the four accumulators at their end (see the
 * speed notes above).
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
  S = laneFinish(S)
  pin(o, S)
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
  const ones = i16x8.eq(head, head)
  const m3F = i16x8.shr_u(ones, 10), mFF = i16x8.shr_u(ones, 8)
  const bs = v128.load(x, 528) // i16: the sums of the activations of sub-blocks 0-7
  const mins = foldPair(dot(laneMins(head, m3F), bs), dot(laneMins(hS, m3F), bs)) // imin r, r, s, s (halves)
  const iR = i32x4.add(i32x4.mul(aR, laneScales(head, false)), i32x4.mul(bR, laneScales(head, true)))
  const iS = i32x4.add(i32x4.mul(aS, laneScales(hS, false)), i32x4.mul(bS, laneScales(hS, true)))
  const acc = foldPair(i32x4.shr_s(iR, 8), i32x4.shr_s(iS, 8)) // exact: every product carries 256
  const ints = i32x4.add(i32x4.shuffle(acc, mins, 0, 4, 2, 6), i32x4.shuffle(acc, mins, 1, 5, 3, 7)) // isumR, iminR, isumS, iminS
  const dd = finiteHalves(laneHalves(head, hS, mFF), v128.load32_splat(x, 8), v128.load32_splat(x, 4)) // dR, dminR, dS, dminS
  pending = f32x4.mul(f32x4.mul(dd, v128.load32_splat(x)), f32x4.convert_i32x4_s(ints))
  return S
}

/** One position: out[r] = row r of the Q4_K matrix in lane order at wPtr . the Q8KLY activations at xPtr (as q4k_matvec_y). */
export function q4k_matvec_l(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  rowsPair(wPtr, <usize>rowBytes, rows, <usize>(rowBytes / 144), xPtr, outPtr, false, false, false, false, true)
}

/** q4k_matmul for a matrix in lane order against Q8KL activations: equal to vecDotQ4KQ8K bit for bit. */
export function q4k_matmul_l(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  q4kSweep<LaneOrder>(wPtr, rowBytes, rows, xPtr, nPos, outPtr)
}
