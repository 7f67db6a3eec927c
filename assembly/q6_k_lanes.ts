/**
 * Q6_K in lane order, the base build's layout of Q6_K matrices (as q4_k_lanes.ts is of Q4_K): each
 * block's 6-bit values rearranged so that a 16-bit lane holds two whole values, each read with one
 * or two instructions, where file order spreads a value over a nibble of ql and two bits of qh
 * (three shifts, four ands and four ors a quad of 64 values, and two more instructions to part the
 * even values from the odd). The scales and d stay where they are; the activations are Q8KX.
 *
 * Layout. A block is four quads (h, is) of 64 values, as the file-order kernels take them (q6_k.ts):
 * groups k = 8h + is + {0, 2, 4, 6}, the values v0..v3[16] of those groups, in the quad's own 48
 * bytes (16 of ql at 64h + 16is, 16 of ql at 64h + 32 + 16is, 16 of qh at 128 + 32h + 16is), which
 * become three vectors A, B, C of eight 16-bit lanes; lane i holds values 2i and 2i + 1 (the even
 * and odd halves of a group, as Q8KX holds its activations):
 *   A  v0[2i] | v0[2i + 1] << 6 | (v3[2i] & 15) << 12
 *   B  v1[2i] | v1[2i + 1] << 6 | (v3[2i] >> 4) << 12 | (v3[2i + 1] & 3) << 14
 *   C  v2[2i] | v2[2i + 1] << 6 | (v3[2i + 1] >> 2) << 12
 * so groups k0..k2 come out of an and (even) and a shift and an and (odd), and group k3 out of the
 * four top bits of each (laneD3Even, laneD3Odd).
 *
 * Speed notes (Zen 4, 14336 x 4096, one thread, one position, two rows at a time as q6kBlockPair):
 * file order 11.0 GB/s; lane order with A, B, C read as even at bits 0-5, odd at 10-15: 11.7; group
 * k3 first (its sources die early; V8 had spilled 44 vectors a pair of blocks): 12.2-12.4, with
 * a pin after row R's group k3 12.55; B's odd field at bits 6-11 and its spare at the top, so that
 * one fewer mask stays live: 12.95; all three so: 13.0-13.05. Without the pins between groups: 11.1.
 * Reloading the scales per quad, and making the masks per quad: 11.7.
 */
import {dot, foldPair, LaneOrder, pin} from './common'
import {q6kHigh, q6kLow, q6kScaled, q6kSweep} from './q6_k'

/** A group's even values (0..63, i16) from a lane-order vector A, B or C. */
@inline export function laneEven(v: v128, m3F: v128): v128 {
  return v128.and(v, m3F)
}

/** A group's odd values from a lane-order vector A, B or C. */
@inline export function laneOdd(v: v128, m3F: v128): v128 {
  return v128.and(i16x8.shr_u(v, 6), m3F)
}

/** Group k3's even values: the top four bits of A and bits 12-13 of B. */
@inline export function laneD3Even(a: v128, b: v128, m30: v128): v128 {
  return v128.or(i16x8.shr_u(a, 12), v128.and(i16x8.shr_u(b, 8), m30))
}

/** Group k3's odd values: bits 14-15 of B and the top four bits of C. */
@inline export function laneD3Odd(b: v128, c: v128, m3C: v128): v128 {
  return v128.or(i16x8.shr_u(b, 14), v128.and(i16x8.shr_u(c, 10), m3C))
}

/** The even (low byte) and odd (high byte) values of file-order bytes v as lane-order fields: even | odd << 6. */
@inline function laneFields(v: v128, mFF: v128, m0FC0: v128): v128 {
  return v128.or(v128.and(v, mFF), v128.and(i16x8.shr_u(v, 2), m0FC0))
}

/**
 * Puts nBlocks Q6_K blocks at p into lane order, in place, or back into file order with `back`.
 * Every bit pattern goes both ways (no value is refused: d stays an fp16 in its place).
 */
export function q6k_lanes(p: usize, nBlocks: i32, back: bool): void {
  const m0F = i8x16.splat(0x0f), m30 = i8x16.splat(0x30), m03 = i8x16.splat(0x03), m0C = i8x16.splat(0x0c), mC0 = i8x16.splat(<i8>0xc0)
  const mFF = i16x8.splat(0xff), m3F = i16x8.splat(0x3f), m0FC0 = i16x8.splat(0x0fc0)
  const m30w = i16x8.splat(0x30), m3Cw = i16x8.splat(0x3c), mC000 = i16x8.splat(<i16>0xc000), mF000 = i16x8.splat(<i16>0xf000)
  for (let n = 0; n < nBlocks; n++) {
    const b = p + <usize>n * 210
    for (let q: usize = 0; q < 4; q++) {
      const pa = b + ((q >> 1) << 6) + ((q & 1) << 4), pb = pa + 32, pc = b + 128 + ((q >> 1) << 5) + ((q & 1) << 4)
      const a = v128.load(pa), bb = v128.load(pb), c = v128.load(pc)
      if (back) {
        // v_g: value l of group k_g in byte l (the even value of lane i in its low byte, the odd in its high)
        const v0 = v128.or(laneEven(a, m3F), i16x8.shl(laneOdd(a, m3F), 8))
        const v1 = v128.or(laneEven(bb, m3F), i16x8.shl(laneOdd(bb, m3F), 8))
        const v2 = v128.or(laneEven(c, m3F), i16x8.shl(laneOdd(c, m3F), 8))
        const v3 = v128.or(laneD3Even(a, bb, m30w), i16x8.shl(laneD3Odd(bb, c, m3Cw), 8))
        v128.store(pa, v128.or(v128.and(v0, m0F), i16x8.shl(v128.and(v2, m0F), 4)))
        v128.store(pb, v128.or(v128.and(v1, m0F), i16x8.shl(v128.and(v3, m0F), 4)))
        const h01 = v128.or(v128.and(i16x8.shr_u(v0, 4), m03), v128.and(i16x8.shr_u(v1, 2), m0C))
        v128.store(pc, v128.or(h01, v128.or(v128.and(v2, m30), v128.and(i16x8.shl(v3, 2), mC0))))
      } else {
        const v0 = q6kLow(a, c, 4, m0F, m30), v1 = q6kLow(bb, c, 2, m0F, m30)
        const v2 = q6kHigh(a, c, 0, m0F, m30), v3 = q6kHigh(bb, c, 2, m0F, m30)
        v128.store(pa, v128.or(laneFields(v0, mFF, m0FC0), i16x8.shl(v3, 12)))
        v128.store(pb, v128.or(v128.or(laneFields(v1, mFF, m0FC0), i16x8.shl(v128.and(v3, m30w), 8)), v128.and(i16x8.shl(v3, 6), mC000)))
        v128.store(pc, v128.or(laneFields(v2, mFF, m0FC0), v128.and(i16x8.shl(v3, 2), mF000)))
      }
    }
  }
}

/** A group's integer dot in lane order: even values e and odd o (0..63, i16) with their activations (Q8KX: evens x0, odds x1). */
@inline function laneGroup(e: v128, o: v128, x0: v128, x1: v128): v128 {
  return i32x4.add(dot(e, x0), dot(o, x1))
}

/**
 * q6_k.ts q6kQuadPair for blocks in lane order (rows R at b, S at b2) against one position of Q8KX
 * at x, the same partial sums: group k3 first, whose decoding reads A, B and C, so that they die
 * early, then k2 (C) with it, k0 (A) and k1 (B). m3F: 0x003f, m30: 0x0030, m3C: 0x003c (16-bit lanes).
 */
@inline export function q6kQuadPairL(b: usize, b2: usize, x: usize, q: usize, scR01: v128, scR23: v128, scS01: v128, scS23: v128,
  m3F: v128, m30: v128, m3C: v128, o: usize): v128 {
  const ql: usize = ((q >> 1) << 6) + ((q & 1) << 4), qh: usize = 128 + ((q >> 1) << 5) + ((q & 1) << 4)
  const rA = v128.load(b + ql), rB = v128.load(b + ql, 32), rC = v128.load(b + qh)
  const sA = v128.load(b2 + ql), sB = v128.load(b2 + ql, 32), sC = v128.load(b2 + qh)
  const xq = x + 16 + (((q >> 1) << 8) + ((q & 1) << 5))
  let x0 = v128.load(xq, 192), x1 = v128.load(xq, 208)
  const g3R = laneGroup(laneD3Even(rA, rB, m30), laneD3Odd(rB, rC, m3C), x0, x1)
  pin(o, g3R)
  const g3S = laneGroup(laneD3Even(sA, sB, m30), laneD3Odd(sB, sC, m3C), x0, x1)
  pin(o, g3S)
  x0 = v128.load(xq, 128); x1 = v128.load(xq, 144)
  let cR = q6kScaled(laneGroup(laneEven(rC, m3F), laneOdd(rC, m3F), x0, x1), g3R, scR23)
  let cS = q6kScaled(laneGroup(laneEven(sC, m3F), laneOdd(sC, m3F), x0, x1), g3S, scS23)
  pin(o, cR)
  pin(o, cS)
  x0 = v128.load(xq); x1 = v128.load(xq, 16)
  const g0R = laneGroup(laneEven(rA, m3F), laneOdd(rA, m3F), x0, x1), g0S = laneGroup(laneEven(sA, m3F), laneOdd(sA, m3F), x0, x1)
  pin(o, g0R)
  pin(o, g0S)
  x0 = v128.load(xq, 64); x1 = v128.load(xq, 80)
  cR = i32x4.add(cR, q6kScaled(g0R, laneGroup(laneEven(rB, m3F), laneOdd(rB, m3F), x0, x1), scR01))
  cS = i32x4.add(cS, q6kScaled(g0S, laneGroup(laneEven(sB, m3F), laneOdd(sB, m3F), x0, x1), scS01))
  return foldPair(cR, cS)
}

/**
 * q6_k.ts q6k_matmul for a Q6_K matrix in lane order against Q8KX activations, any number of
 * positions (one two rows at a time, more in passes): equal to vecDotQ6KQ8K bit for bit.
 */
export function q6k_matmul_l(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  q6kSweep<LaneOrder>(wPtr, rowBytes, rows, xPtr, nPos, outPtr)
}
