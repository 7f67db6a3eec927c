/**
 * WebAssembly SIMD kernels (AssemblyScript; compiled by `npm run build:wasm` into
 * dist/wasm/kernels.wasm). The memory contract is written down in src/kernels/wasm/kernels-wasm.ts:
 * the module imports a shared `env.memory`, owns no static data and no stack (its one global, a v128
 * of q4_k_lanes.ts, holds no address), and touches only the byte ranges its arguments name. Every
 * kernel here has a scalar reference in src/kernels/ and is checked against it
 * (test/unit/kernels-wasm.test.ts): the 8-bit paths bit for bit.
 *
 * Activation layouts built here for the integer kernels (one "position" = one activation vector):
 *   Q8KX, 576 bytes per 256 values (Q8_K widened to i16, pairs de-interleaved):
 *     0    f32 d                          (as quantize_row_q8_K_ref)
 *     16   i16 q[256] in 16 groups of 16: each group's 8 even-index values, then its 8 odd ones
 *     528  i16 bsum32[8]                  sum of q over each 32-value sub-block
 *     544  i16 bsum16[16]                 sum of q over each 16-value group
 *   Q8KY, 576 bytes per 256 values: Q8KX with the values of each group times the factor of the Q4_K
 *     nibble lanes they meet (q4_k.ts q4kBlockPairY; |value| <= 127, so x 256 still fits i16): groups
 *     of sub-block A (g & 2 == 0) evens x 256, odds x 1; of B evens x 16, odds x 256. d and the
 *     sums as in Q8KX. One position of Q4_K reads it (q4k_matvec_y).
 *   Q8KL, 576 bytes per 256 values: Q8KX's values in the lane order of Q4_K matrices in lane order
 *     (q4_k_lanes.ts, the base build's layout of Q4_K), in Q8KX's places: step t = 2c + h (0-7) has
 *     its A evens, A odds, B evens, B odds at 16 + 128 c + 32 h + 0, 16, 64, 80, i16 lane 2k + l the
 *     value 4t + 2l (odds: + 1) of sub-block 2k (A) or 2k + 1 (B); d and the sums as in Q8KX.
 *     Several positions (q4k_matmul_l).
 *   Q8KLY: Q8KL times the lane factors of Q8KY (A evens x 256, odds x 1, B evens x 16, odds x 256),
 *     with two constants of q4_k_lanes.ts finiteHalves in Q8KX's unused bytes: f32 2^112 at 4, the
 *     mask 0x8fffffff at 8; for one position (q4k_matvec_l).
 *   Q8KB, 320 bytes per 256 values: Q8KX with i8 values (16 q[256] in the same order, 272 bsum32,
 *     288 bsum16), widened on load (v128.load8x8_s) by the one-position Q6_K kernel of wide rows
 *   Q8KN, 320 bytes per 256 values: Q8KB with the values in their natural order (a Q4_K nibble meets
 *     its activation byte for byte), for the relaxed-SIMD kernels (relaxed.ts, kernels_relaxed.ts)
 *   Q80X, 80 bytes per 32 values: 0 f32 d (the fp16-rounded scale), 16 i16 q[32] in order.
 * Widening once per activation vector lets every weight row use i32x4.dot_i16x8_s directly; the
 * de-interleaving matches weight nibbles pulled out of 16-bit lanes (even byte = low 8 bits).
 * And for the float path of Q4_K / Q6_K:
 *   F32X, 1120 bytes per 256 values:
 *     0     f32 x[256] in 16 groups of 16, each group's 8 even-index values then its 8 odd ones
 *     1024  f32 sum32[8]   sum of x over each 32-value sub-block (for the Q4_K mins)
 *     1056  f32 sum16[16]  sum of x over each 16-value group (for Q6_K's -32 offset)
 *
 * Files: common.ts (fp16, sums, the batching scheme), quantize.ts (activation preparation), q4_k.ts,
 * q4_k_lanes.ts (Q4_K in lane order: the repack and its one-position kernel),
 * q6_k.ts, q6_k_lanes.ts (Q6_K in lane order: the repack and its one-position quad), q8_0.ts (8-bit paths), rows_pair.ts (one position two rows at a time, for both),
 * grouped.ts (Q4_K / Q6_K in the grouped layout), attention.ts (one position's attention over the
 * KV cache, f32), swiglu.ts (a gated FFN chunk's SwiGLU, as ops.ts swiglu), relaxed.ts (relaxed SIMD: the second build,
 * kernels_relaxed.ts), float_k.ts
 * (Q4_K / Q6_K against F32X), float.ts (F32 / F16 weights).
 *
 * Weight layouts: a matrix is its rows one after another (rowBytes each), except in the grouped
 * layout (the *_g kernels), which the engine gives Q4_K / Q6_K matrices wider than 32 blocks
 * (src/kernels/wasm/grouped.ts): rows go in groups of ROW_GROUP (the last group of the matrix may
 * be smaller), each group holding its rows' first column chunk (grouped.ts), row after row,
 * then their second, and so on; a group still takes ROW_GROUP * rowBytes bytes. A kernel call
 * covers whole groups (the caller's row ranges start at multiples of ROW_GROUP).
 *
 * Batched products (nPos > 1, a prompt) decode each weight block once per pass of up to 8
 * positions and reuse it from registers (common.ts POS_PASS); the stores the passes make to their
 * first output slot before the result (common.ts pin) only order V8's code.
 */

export {quantize_q8k, quantize_q8kx, quantize_q8ky, quantize_q8kl, quantize_q8kly, quantize_q8kb, quantize_q8kn, quantize_q8_0x, prepare_f32x} from './quantize'
export {q4k_matmul, q4k_matvec_y} from './q4_k'
export {q6k_matmul, q6k_matvec_b} from './q6_k'
export {q4k_lanes, q4k_matmul_l, q4k_matvec_l} from './q4_k_lanes'
export {q6k_lanes, q6k_matmul_l} from './q6_k_lanes'
export {q4k_matmul_g, q4k_matvec_y_g, q4k_matmul_l_g, q4k_matvec_l_g, q6k_matmul_g, q6k_matmul_l_g} from './grouped'
export {q4k_f32_matmul, q6k_f32_matmul} from './float_k'
export {q8_0_matmul} from './q8_0'
export {f32_matmul, f16_matmul} from './float'
export {attend_group} from './attention'
export {swiglu} from './swiglu'
