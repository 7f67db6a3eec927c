/**
 * Loader of the WebAssembly SIMD kernels (source: assembly/kernels.ts, built by `npm run build:wasm`
 * into dist/wasm/kernels.wasm; `npm ci` builds it through `prepare`).
 *
 * THE MEMORY CONTRACT (between these kernels and whoever owns the memory, e.g. src/model/arena.ts):
 * - The module imports one memory, `env.memory`: a shared WebAssembly.Memory with maximum <= 65536
 *   pages (the arena creates them with 65535). One compiled module is instantiated once per memory
 *   and per thread (`instantiateWasmKernels(memory)`); worker threads get the same memory object in
 *   `workerData` and instantiate their own instance.
 * - The module has no data segment, no globals that address memory and no stack: it never writes
 *   anywhere but the output ranges its arguments name, so the owner lays the memory out freely.
 *   (Its one global, a v128 of assembly/q4_k_lanes.ts, carries a float step from one block to the
 *   next within a call; globals belong to the instance, so each thread has its own.)
 * - Pointers are byte offsets into that memory. Weights, prepared activations and outputs of one
 *   call must all live in the instance's memory (a 14 GB model spans several memories, each with its
 *   own instance and its own activation/output scratch, e.g. after the weights).
 * - No alignment is required (v128 loads are unaligned); 16-byte alignment of activations and
 *   outputs is faster, and the arena's 64-byte alignment of weights is ideal.
 * - Calls are synchronous and thread-safe as long as threads write disjoint output ranges: split a
 *   matrix by rows, give each thread its own (wPtr + r0 * rowBytes, rows = r1 - r0) and out offset.
 *
 * Exports (all sizes in bytes, n values, counts as i32):
 *   quantize_q8k(xPtr, n, outPtr)      n f32 -> standard Q8_K blocks (292 bytes / 256 values),
 *                                      byte-identical to quantizeRowQ8K (ggml quantize_row_q8_K_ref)
 *   quantize_q8kx(xPtr, n, outPtr)     n f32 -> Q8KX (576 bytes / 256 values; same d and q as Q8_K,
 *                                      widened to i16, see assembly/kernels.ts), for Q4_K and Q6_K
 *   quantize_q8ky(xPtr, n, outPtr)     n f32 -> Q8KY (576 bytes / 256 values: Q8KX scaled per group
 *                                      for the Q4_K nibble lanes), for one position of Q4_K
 *   quantize_q8kb(xPtr, n, outPtr)     n f32 -> Q8KB (320 bytes / 256 values: Q8KX's values as bytes)
 *   quantize_q8kn(xPtr, n, outPtr)     n f32 -> Q8KN (Q8KB's layout, the values in natural order)
 *   quantize_q8_0x(xPtr, n, outPtr)    n f32 -> Q80X (80 bytes / 32 values; as quantizeRowQ8_0), for Q8_0
 *   q4k_matmul(wPtr, rowBytes, rows, xPtr, nPos, outPtr)
 *   q6k_matmul(...), q8_0_matmul(...)  out[p * rows + r] = row r . activation p (prepared as above,
 *                                      positions contiguous); equal to vecDotQ4KQ8K / vecDotQ6KQ8K /
 *                                      vecDotQ8_0Q8_0 bit for bit
 *   q4k_matvec_y(...)                  one position of Q4_K against Q8KY activations (the same sums)
 *   q6k_matvec_b(...)                  q6k_matmul against Q8KB activations, one position at a time:
 *                                      for wide rows, whose Q8KX vector crowds L1
 *   q4k_matmul_g, q4k_matvec_y_g, q6k_matmul_g  the above for a matrix in the grouped layout
 *                                      (grouped.ts); rows: whole groups of ROW_GROUP
 *   q4k_lanes(p, nBlocks, back), q6k_lanes(p, nBlocks, back)  a matrix's blocks into lane order, in
 *                                      place, or back (assembly/q4_k_lanes.ts, q6_k_lanes.ts)
 *   q4k_matmul_l, q4k_matvec_l, q4k_matmul_l_g, q4k_matvec_l_g  Q4_K in lane order (Q8KL; one
 *                                      position Q8KLY), plain rows and the grouped layout
 *   q6k_matmul_l, q6k_matmul_l_g       Q6_K in lane order (Q8KX, any number of positions)
 *   f32_matmul(...), f16_matmul(...)   same with plain f32 activations (x: nPos * cols f32) and any
 *                                      number of columns; float sums (within 1e-5 of the reference)
 *   q4k_matmul_r, q4k_matmul_r_g,      only in the relaxed build (dist/wasm/kernels-relaxed.wasm,
 *   q6k_matmul_r, q6k_matmul_r_g       assembly/relaxed.ts): Q4_K / Q6_K against Q8KN activations on
 *                                      relaxed SIMD (the same sums), plain rows and the grouped layout
 *   prepare_f32x(xPtr, n, outPtr)      n f32 -> F32X (1120 bytes / 256 values: de-interleaved x and
 *                                      partial sums, see assembly/kernels.ts), for the two below
 *   q4k_f32_matmul(...), q6k_f32_matmul(...)  the float path of Q4_K / Q6_K (within 1e-5 of
 *                                      dotRowQ4K / dotRowQ6K), for an engine mode without 8-bit
 *                                      activations
 *   swiglu(g, u, n)                    f32 g[i] = silu(g[i]) * u[i] (as ops.ts swiglu, bit for bit)
 *   attend_group(q, keys, ks, values, vs, out, att, len, headDim, headDimV, group, scale)
 *                                      one position's attention for one kv head and its query heads
 *                                      (assembly/attention.ts; f32, within 1e-6 of attendGroup's float64)
 */
import {existsSync, readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import {LlmfragError} from '../../errors.js'
import {GGMLType, ggmlTypeName} from '../../gguf/ggml-types.js'
import {enableRelaxedSimd} from './relaxed.js'

/** Bytes of Q8KX activations per 256 values. */
export const Q8KX_BLOCK_BYTES = 576
/** Bytes of Q8KB activations per 256 values. */
export const Q8KB_BLOCK_BYTES = 320
/**
 * Columns from which a one-position Q6_K product reads Q8KB instead of Q8KX activations.
 * Measured (scripts/bench-kernels.mjs, one thread, Zen 5, 48 KB L1): Q8KX runs Q6_K at 10.0 GB/s
 * for 4096 columns, 9.3 for 8192, 7.3 for 14336; Q8KB at ~9.4 whatever the width (its widening
 * loads cost ~8% where Q8KX fits in L1). The engine groups rows wider than 32 blocks (grouped.ts)
 * and runs those on Q8KX in short column chunks, faster still, so in a model this choice is left
 * to rows of exactly 8192 columns. (One position of Q4_K reads Q8KY at any width: as fast as bytes
 * at 8192 columns.)
 */
export const BYTE_ACTIVATION_MIN_COLS = 8192
/** Bytes of Q80X activations per 32 values. */
export const Q80X_BLOCK_BYTES = 80
/** Bytes of F32X activations per 256 values. */
export const F32X_BLOCK_BYTES = 1120

/** The part of the WebAssembly API used here (the project's TypeScript libs carry no declarations). */
export interface SharedWasmMemory {
  readonly buffer: SharedArrayBuffer
  grow(deltaPages: number): number
}
interface Wasm {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: {env: {memory: SharedWasmMemory}}) => {readonly exports: WasmKernelExports}
  Memory: new (d: {initial: number; maximum: number; shared: true}) => SharedWasmMemory
}
const wasm = (globalThis as unknown as {WebAssembly: Wasm}).WebAssembly

type QuantizeFn = (xPtr: number, n: number, outPtr: number) => void
type MatmulFn = (wPtr: number, rowBytes: number, rows: number, xPtr: number, nPos: number, outPtr: number) => void

export interface WasmKernelExports {
  readonly quantize_q8k: QuantizeFn
  readonly quantize_q8kx: QuantizeFn
  readonly quantize_q8ky: QuantizeFn
  readonly quantize_q8kl: QuantizeFn
  readonly quantize_q8kly: QuantizeFn
  readonly quantize_q8kb: QuantizeFn
  readonly quantize_q8kn: QuantizeFn
  readonly quantize_q8_0x: QuantizeFn
  readonly q4k_matmul: MatmulFn
  readonly q6k_matmul: MatmulFn
  readonly q4k_matvec_y: MatmulFn
  readonly q6k_matvec_b: MatmulFn
  readonly q4k_matmul_g: MatmulFn
  readonly q4k_matvec_y_g: MatmulFn
  /**
   * assembly/q4_k_lanes.ts: nBlocks Q4_K blocks at p into lane order, in place (back: into file
   * order); -1, or (into lane order) the index of a block with an infinite or NaN d or dmin, the
   * blocks left in file order.
   */
  readonly q4k_lanes: (p: number, nBlocks: number, back: boolean) => number
  readonly q4k_matmul_l: MatmulFn
  readonly q4k_matvec_l: MatmulFn
  readonly q4k_matmul_l_g: MatmulFn
  readonly q4k_matvec_l_g: MatmulFn
  readonly q6k_matmul_g: MatmulFn
  /** assembly/q6_k_lanes.ts: nBlocks Q6_K blocks at p into lane order, in place (back: into file order). */
  readonly q6k_lanes: (p: number, nBlocks: number, back: boolean) => void
  readonly q6k_matmul_l: MatmulFn
  readonly q6k_matmul_l_g: MatmulFn
  readonly q8_0_matmul: MatmulFn
  readonly f32_matmul: MatmulFn
  readonly f16_matmul: MatmulFn
  readonly prepare_f32x: QuantizeFn
  readonly q4k_f32_matmul: MatmulFn
  readonly q6k_f32_matmul: MatmulFn
  /** assembly/swiglu.ts: f32 g[i] = silu(g[i]) * u[i] for i < n (byte offsets), as src/model/ops.ts swiglu bit for bit. */
  readonly swiglu: (g: number, u: number, n: number) => void
  /** assembly/attention.ts: one position's attention for one kv head and its query heads (byte pointers; see there). */
  readonly attend_group: (q: number, keys: number, ks: number, values: number, vs: number, out: number, att: number,
    len: number, headDim: number, headDimV: number, group: number, scale: number) => void
  /** Only in the relaxed build. */
  readonly q4k_matmul_r?: MatmulFn
  readonly q4k_matmul_r_g?: MatmulFn
  readonly q6k_matmul_r?: MatmulFn
  readonly q6k_matmul_r_g?: MatmulFn
}

/** dist/wasm/kernels.wasm: three levels up from src/kernels/wasm/ (tsx) and dist/kernels/wasm/ alike. */
export const WASM_PATH = fileURLToPath(new URL('../../../dist/wasm/kernels.wasm', import.meta.url))
/** The relaxed-SIMD build: every kernel of kernels.wasm plus those of assembly/relaxed.ts. */
export const RELAXED_WASM_PATH = fileURLToPath(new URL('../../../dist/wasm/kernels-relaxed.wasm', import.meta.url))

const compiled = new Map<boolean, object>()

/**
 * The compiled module (synchronous, cached: 16 KB of code compiles in milliseconds); with `relaxed`
 * the relaxed-SIMD build, after turning relaxed SIMD on for the process (relaxed.ts).
 */
export function wasmKernelModule(relaxed = false): object {
  const cached = compiled.get(relaxed)
  if (cached) return cached
  const path = relaxed ? RELAXED_WASM_PATH : WASM_PATH
  if (!existsSync(path)) {
    throw new LlmfragError('INTERNAL', `the WebAssembly kernels are not built: ${path} is missing`, {
      hints: ['run `npm run build` (or `npm run build:wasm`) in the llmfrag checkout', 'use --safe-mode to run on the reference kernels'],
    })
  }
  if (relaxed) enableRelaxedSimd()
  const module = new wasm.Module(readFileSync(path))
  compiled.set(relaxed, module)
  return module
}

/** An instance of the kernels over `memory` (see the contract above); `relaxed`: of the relaxed-SIMD build. */
export function instantiateWasmKernels(memory: SharedWasmMemory, relaxed = false): WasmKernelExports {
  return new wasm.Instance(wasmKernelModule(relaxed), {env: {memory}}).exports
}

/** A kernel only the relaxed build exports, or INTERNAL when `k` is an instance of the base build. */
function relaxedExport(k: WasmKernelExports, name: 'q4k_matmul_r' | 'q4k_matmul_r_g' | 'q6k_matmul_r' | 'q6k_matmul_r_g'): MatmulFn {
  const f = k[name]
  if (!f) throw new LlmfragError('INTERNAL', `kernel ${name} runs only on the relaxed-SIMD build (instantiateWasmKernels(memory, true))`)
  return f
}

/** A new shared memory of `bytes` (rounded up to pages) that the kernels can import. */
export function createSharedMemory(bytes: number, maximumPages = 65535): SharedWasmMemory {
  return new wasm.Memory({initial: Math.ceil(bytes / 65536), maximum: maximumPages, shared: true})
}

/**
 * How one weight type runs on the fast path: the activation preparation (quantization) done once
 * per matrix product and shared by all rows and threads, and the matrix kernel.
 */
export interface WasmTypeKernel {
  readonly type: GGMLType
  /** Names this kernel to worker threads (requireWasmKernel): the type, plus BYTE_VARIANT for the Q8KB kernels, ONE_VARIANT for the Q8KY ones, GROUPED_VARIANT for the grouped layout. */
  readonly id: number
  /** The prepared-activation layout: kernels of one format share one preparation of an input. */
  readonly format: ActivationFormat
  /** Bytes of prepared activations for one position of n values (0: the kernel reads the f32 x). */
  activationBytes(n: number): number
  /** Prepares nPos positions of n f32 at xPtr into actPtr; returns the pointer the matmul reads. */
  prepare(k: WasmKernelExports, xPtr: number, n: number, nPos: number, actPtr: number): number
  /** out[p * rows + r] for rows [0, rows) of the matrix at wPtr. */
  matmul(k: WasmKernelExports, wPtr: number, rowBytes: number, rows: number, actPtr: number, nPos: number, outPtr: number): void
}

export type ActivationFormat = 'q8kx' | 'q8ky' | 'q8kl' | 'q8kly' | 'q8kb' | 'q8kn' | 'q80x' | 'f32x' | 'f32'
/** Added to a type's id for its Q8KB kernel. */
const BYTE_VARIANT = 0x100
/** Added to a type's id for its kernel of the grouped layout. */
const GROUPED_VARIANT = 0x200
/** Added to a type's id for its one-position kernel on Q8KY. */
const ONE_VARIANT = 0x400
/** Added to a type's id for its kernel on relaxed SIMD (Q8KN). */
const RELAXED_VARIANT = 0x800
/** Added to a type's id for its kernel of weights in lane order (Q4_K: Q8KL, Q8KLY; Q6_K: Q8KX). */
const LANE_VARIANT = 0x1000

/**
 * A prepared-activation format of `bytesPerBlock` bytes a block of `valuesPerBlock` values, made by
 * the module's `quantize` export (positions are whole blocks, so one call covers all of them).
 */
function blockFormat<F extends ActivationFormat>(format: F, valuesPerBlock: number, bytesPerBlock: number,
  quantize: (k: WasmKernelExports) => QuantizeFn): Pick<WasmTypeKernel, 'activationBytes' | 'prepare'> & {readonly format: F} {
  return {
    format,
    activationBytes: (n) => (n / valuesPerBlock) * bytesPerBlock,
    prepare(k, xPtr, n, nPos, actPtr) {
      quantize(k)(xPtr, n * nPos, actPtr)
      return actPtr
    },
  }
}
const q8kx = blockFormat('q8kx', 256, Q8KX_BLOCK_BYTES, (k) => k.quantize_q8kx)
const q8ky = blockFormat('q8ky', 256, Q8KX_BLOCK_BYTES, (k) => k.quantize_q8ky)
const q8kl = blockFormat('q8kl', 256, Q8KX_BLOCK_BYTES, (k) => k.quantize_q8kl)
const q8kly = blockFormat('q8kly', 256, Q8KX_BLOCK_BYTES, (k) => k.quantize_q8kly)
const q8kb = blockFormat('q8kb', 256, Q8KB_BLOCK_BYTES, (k) => k.quantize_q8kb)
const q8kn = blockFormat('q8kn', 256, Q8KB_BLOCK_BYTES, (k) => k.quantize_q8kn)
const float = {
  format: 'f32' as const,
  activationBytes: (): number => 0,
  prepare: (_k: WasmKernelExports, xPtr: number): number => xPtr,
}

const f32Kernel: WasmTypeKernel = {type: GGMLType.F32, id: GGMLType.F32, ...float, matmul: (k, ...a) => k.f32_matmul(...a)}
const f16Kernel: WasmTypeKernel = {type: GGMLType.F16, id: GGMLType.F16, ...float, matmul: (k, ...a) => k.f16_matmul(...a)}

const table = new Map<GGMLType, WasmTypeKernel>([
  [GGMLType.Q4_K, {type: GGMLType.Q4_K, id: GGMLType.Q4_K, ...q8kx, matmul: (k, ...a) => k.q4k_matmul(...a)}],
  [GGMLType.Q6_K, {type: GGMLType.Q6_K, id: GGMLType.Q6_K, ...q8kx, matmul: (k, ...a) => k.q6k_matmul(...a)}],
  [GGMLType.Q8_0, {type: GGMLType.Q8_0, id: GGMLType.Q8_0, ...blockFormat('q80x', 32, Q80X_BLOCK_BYTES, (k) => k.quantize_q8_0x), matmul: (k, ...a) => k.q8_0_matmul(...a)}],
  [GGMLType.F32, f32Kernel],
  [GGMLType.F16, f16Kernel],
])

/** The one-position kernels on Q8KY, by type: plain rows, and the grouped layout. */
const oneTable = new Map<GGMLType, WasmTypeKernel>([
  [GGMLType.Q4_K, {type: GGMLType.Q4_K, id: GGMLType.Q4_K + ONE_VARIANT, ...q8ky, matmul: (k, ...a) => k.q4k_matvec_y(...a)}],
])
const groupedOneTable = new Map<GGMLType, WasmTypeKernel>([
  [GGMLType.Q4_K, {type: GGMLType.Q4_K, id: GGMLType.Q4_K + ONE_VARIANT + GROUPED_VARIANT, ...q8ky, matmul: (k, ...a) => k.q4k_matvec_y_g(...a)}],
])

/** The kernels on relaxed SIMD (Q8KN, any number of positions), by type: plain rows, and the grouped layout. */
const relaxedTable = new Map<GGMLType, WasmTypeKernel>([
  [GGMLType.Q4_K, {type: GGMLType.Q4_K, id: GGMLType.Q4_K + RELAXED_VARIANT, ...q8kn, matmul: (k, ...a) => relaxedExport(k, 'q4k_matmul_r')(...a)}],
  [GGMLType.Q6_K, {type: GGMLType.Q6_K, id: GGMLType.Q6_K + RELAXED_VARIANT, ...q8kn, matmul: (k, ...a) => relaxedExport(k, 'q6k_matmul_r')(...a)}],
])
const relaxedGroupedTable = new Map<GGMLType, WasmTypeKernel>([
  [GGMLType.Q4_K, {type: GGMLType.Q4_K, id: GGMLType.Q4_K + RELAXED_VARIANT + GROUPED_VARIANT, ...q8kn, matmul: (k, ...a) => relaxedExport(k, 'q4k_matmul_r_g')(...a)}],
  [GGMLType.Q6_K, {type: GGMLType.Q6_K, id: GGMLType.Q6_K + RELAXED_VARIANT + GROUPED_VARIANT, ...q8kn, matmul: (k, ...a) => relaxedExport(k, 'q6k_matmul_r_g')(...a)}],
])

/** The Q8KB kernels, by type. */
const byteTable = new Map<GGMLType, WasmTypeKernel>([
  [GGMLType.Q6_K, {type: GGMLType.Q6_K, id: GGMLType.Q6_K + BYTE_VARIANT, ...q8kb, matmul: (k, ...a) => k.q6k_matvec_b(...a)}],
])

/** The kernels of matrices in the grouped layout (grouped.ts), Q8KX activations for any positions. */
const groupedTable = new Map<GGMLType, WasmTypeKernel>([
  [GGMLType.Q4_K, {type: GGMLType.Q4_K, id: GGMLType.Q4_K + GROUPED_VARIANT, ...q8kx, matmul: (k, ...a) => k.q4k_matmul_g(...a)}],
  [GGMLType.Q6_K, {type: GGMLType.Q6_K, id: GGMLType.Q6_K + GROUPED_VARIANT, ...q8kx, matmul: (k, ...a) => k.q6k_matmul_g(...a)}],
])

/**
 * The kernels of Q4_K and Q6_K matrices in lane order (assembly/q4_k_lanes.ts, q6_k_lanes.ts; the
 * base build's layouts, see src/model/weight-layouts.ts): [several positions, one position], plain
 * rows and the grouped layout. Q6_K reads Q8KX for any number of positions.
 */
const Q4K = GGMLType.Q4_K, Q6K = GGMLType.Q6_K
const laneKernels = {
  plain: [
    {type: Q4K, id: Q4K + LANE_VARIANT, ...q8kl, matmul: (k, ...a) => k.q4k_matmul_l(...a)},
    {type: Q4K, id: Q4K + LANE_VARIANT + ONE_VARIANT, ...q8kly, matmul: (k, ...a) => k.q4k_matvec_l(...a)},
  ],
  grouped: [
    {type: Q4K, id: Q4K + LANE_VARIANT + GROUPED_VARIANT, ...q8kl, matmul: (k, ...a) => k.q4k_matmul_l_g(...a)},
    {type: Q4K, id: Q4K + LANE_VARIANT + ONE_VARIANT + GROUPED_VARIANT, ...q8kly, matmul: (k, ...a) => k.q4k_matvec_l_g(...a)},
  ],
} satisfies Record<string, [WasmTypeKernel, WasmTypeKernel]>
const q6kLaneKernels = {
  plain: {type: Q6K, id: Q6K + LANE_VARIANT, ...q8kx, matmul: (k, ...a) => k.q6k_matmul_l(...a)},
  grouped: {type: Q6K, id: Q6K + LANE_VARIANT + GROUPED_VARIANT, ...q8kx, matmul: (k, ...a) => k.q6k_matmul_l_g(...a)},
} satisfies Record<string, WasmTypeKernel>

/** Every 8-bit and plain float kernel by its id, as worker threads look them up. */
const byId = new Map([...[table, oneTable, groupedOneTable, relaxedTable, relaxedGroupedTable, byteTable, groupedTable].flatMap((t) => [...t.values()]), ...laneKernels.plain, ...laneKernels.grouped,
  q6kLaneKernels.plain, q6kLaneKernels.grouped]
  .map((k) => [k.id, k] as const))

const f32x = blockFormat('f32x', 256, F32X_BLOCK_BYTES, (k) => k.prepare_f32x)
/** Float-activation kernels (no 8-bit rounding of the activations). */
const floatTable = new Map<GGMLType, WasmTypeKernel>([
  [GGMLType.Q4_K, {type: GGMLType.Q4_K, id: GGMLType.Q4_K, ...f32x, matmul: (k, ...a) => k.q4k_f32_matmul(...a)}],
  [GGMLType.Q6_K, {type: GGMLType.Q6_K, id: GGMLType.Q6_K, ...f32x, matmul: (k, ...a) => k.q6k_f32_matmul(...a)}],
  [GGMLType.F32, f32Kernel],
  [GGMLType.F16, f16Kernel],
])

/** How a product's kernel is chosen beside its weight type and shape (wasmKernelFor). */
export interface KernelChoice {
  /** Columns from which one position of Q6_K reads Q8KB (default BYTE_ACTIVATION_MIN_COLS). */
  readonly byteMinCols?: number
  /** The matrix is in the grouped layout (grouped.ts). */
  readonly grouped?: boolean
  /** Q4_K and Q6_K on relaxed SIMD (the kernel instances must be of the relaxed build). */
  readonly relaxed?: boolean
  /** The Q4_K or Q6_K matrix is in lane order (assembly/q4_k_lanes.ts, q6_k_lanes.ts; ignored for other types and with relaxed). */
  readonly lanes?: boolean
}

/**
 * The fast path of `type` as llama.cpp's CPU backend computes it: 8-bit activations (Q8_K for
 * Q4_K / Q6_K, Q8_0 for Q8_0), float for F32 / F16; undefined for BF16 and Q5_K (use the
 * reference kernels). With `shape`, the kernel for that product: one position of Q4_K reads Q8KY
 * activations, one position of a Q6_K matrix at least `byteMinCols` wide Q8KB (the same sums, bit
 * for bit). `grouped`: the matrix is in the grouped layout (grouped.ts), whose kernels read Q8KX, or
 * Q8KY for one position of Q4_K. `relaxed`: Q4_K and Q6_K run on relaxed SIMD, plain or grouped, any
 * number of positions (Q8KN). `lanes`: a Q4_K matrix in lane order reads Q8KL, or Q8KLY for one position;
 * a Q6_K matrix in lane order reads Q8KX.
 */
export function wasmKernelFor(type: GGMLType, shape?: {cols: number; nPos: number}, o: KernelChoice = {}): WasmTypeKernel | undefined {
  const {byteMinCols = BYTE_ACTIVATION_MIN_COLS, grouped = false, relaxed = false, lanes = false} = o
  const one = shape?.nPos === 1
  if (lanes && !relaxed && type === Q4K) return laneKernels[grouped ? 'grouped' : 'plain'][one ? 1 : 0]
  if (lanes && !relaxed && type === Q6K) return q6kLaneKernels[grouped ? 'grouped' : 'plain']
  if (grouped) {
    const g = (relaxed ? relaxedGroupedTable.get(type) : undefined) ?? (one ? groupedOneTable.get(type) : undefined) ?? groupedTable.get(type)
    if (!g) throw new LlmfragError('INTERNAL', `no kernel for ${ggmlTypeName(type)} weights in the grouped layout`)
    return g
  }
  if (relaxed && relaxedTable.has(type)) return relaxedTable.get(type)
  if (shape && one) {
    const k = oneTable.get(type) ?? (shape.cols >= byteMinCols ? byteTable.get(type) : undefined)
    if (k) return k
  }
  return table.get(type)
}

/** The fast path with float activations (Q4_K, Q6_K, F32, F16), or undefined. */
export function wasmFloatKernelFor(type: GGMLType): WasmTypeKernel | undefined {
  return floatTable.get(type)
}

/**
 * The kernel with this id (a type's, or a WasmTypeKernel.id as worker threads receive it), or an
 * UNSUPPORTED error naming the type when there is no fast path.
 */
export function requireWasmKernel(id: number): WasmTypeKernel {
  const k = byId.get(id)
  if (k) return k
  const type = id as GGMLType
  throw new LlmfragError('UNSUPPORTED', `no WebAssembly kernel for tensor type ${ggmlTypeName(type)}`, {
    hints: [`fast kernels exist for ${[...table.keys()].map((t) => ggmlTypeName(t)).join(', ')}; the reference kernels (kernelFor) cover the rest`],
  })
}
