/**
 * One position of the Q4_K and Q6_K kernels, two rows at a time: how rows are paired, for plain
 * rows and for the column chunks of the grouped layout. The blocks of a pair are q4_k.ts
 * q4kBlockPairY (Q8KY activations), q4_k_lanes.ts q4kBlockPairL (Q8KLY; Q4_K in lane order, each
 * pair's float step left to the next: lanePending before a row, laneFinish after), relaxed.ts
 * q4kBlockPairR and q6kBlockPairR (Q8KN; relaxed SIMD, only in the relaxed build) and q6_k.ts
 * q6kBlockPair (Q8KX, or with B Q8KB), q6kBlockPairL (Q8KX; Q6_K in lane order, q6_k_lanes.ts).
 */
import {Q8KB_BYTES} from './common'
import {q4kBlockPairY} from './q4_k'
import {laneFinish, lanePending, q4kBlockPairL} from './q4_k_lanes'
import {q6kBlockPair, q6kBlockPairL} from './q6_k'
import {q4kBlockPairR, q6kBlockPairR} from './relaxed'

/** Bytes of one position's activations per block for the kernel chosen by (B, R): Q8KB and Q8KN 320, Q8KX and Q8KY 576. */
@inline export function actBlockBytes(B: bool, R: bool): usize {
  return B || R ? Q8KB_BYTES : 576
}

/**
 * One position of `rows` Q4_K rows (Q6 false) or Q6_K rows of nb blocks, rowStride bytes apart from
 * wPtr, against the activations at x: out + 4 r = row r's sum (with more: plus the sum already
 * there, for column chunks after the first). Row r goes with row r + ceil(rows / 2), the last of an
 * odd count with itself: rows far apart are two sequential streams, where adjacent rows, one
 * interleaved stream, ran at half the speed from memory (Zen 4, Q4_K: 4.5 GB/s against 10.0; from
 * L2 both ran ~10). R: Q4_K on relaxed SIMD against Q8KN (a constant; only the relaxed build sets it).
 * L: rows in lane order; Q4_K against Q8KLY (q4_k_lanes.ts), each pair's float step deferred to the
 * next; Q6_K against Q8KX (q6_k_lanes.ts).
 */
@inline export function rowsPair(wPtr: usize, rowStride: usize, rows: i32, nb: usize, x: usize, out: usize, more: bool, Q6: bool, B: bool, R: bool, L: bool): void {
  const blockBytes: usize = Q6 ? 210 : 144
  const xb = actBlockBytes(B, R)
  const h = (rows + 1) >> 1
  for (let r = 0; r < h; r++) {
    const s = r + h < rows ? r + h : r
    const w = wPtr + <usize>r * rowStride, w2 = wPtr + <usize>s * rowStride
    const o = out + (<usize>r << 2), o2 = out + (<usize>s << 2)
    let S = more ? f32x4.replace_lane(f32x4.splat(load<f32>(o)), 1, load<f32>(o2)) : f32x4.splat(0)
    const end = w + nb * blockBytes
    let b2 = w2, xi = x // pointers stepped, not recomputed from a block index: 4-8% faster (fewer instructions a block)
    if (L && !Q6) lanePending()
    for (let b = w; b < end; b += blockBytes) {
      S = Q6 ? (R ? q6kBlockPairR(b, b2, xi, S, o) : L ? q6kBlockPairL(b, b2, xi, S, o) : q6kBlockPair(b, b2, xi, S, o, B))
        : R ? q4kBlockPairR(b, b2, xi, S, o) : L ? q4kBlockPairL(b, b2, xi, S, o) : q4kBlockPairY(b, b2, xi, S, o)
      b2 += blockBytes; xi += xb
    }
    if (L && !Q6) S = laneFinish(S) // the last pair's float step (q4kBlockPairL defers each to the next pair)
    store<f32>(o, f32x4.extract_lane(S, 0))
    if (s != r) store<f32>(o2, f32x4.extract_lane(S, 1))
  }
}
