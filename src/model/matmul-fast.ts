/**
 * The fast Matmul: WebAssembly SIMD kernels (src/kernels/wasm, 8-bit activations as llama.cpp's
 * Q8_K / Q8_0 dots, bit-exact with the scalar integer references) over the weights where they lie
 * in the arena's shared memories, rows split over a ComputePool.
 *
 * Per memory region, scratch after the weights (the kernels only address their own memory):
 *   xin   (SLICE, maxCols) f32        the input positions of one job, copied from the run state
 *   q8kx  (SLICE, maxCols/256 * 576)  prepared activations for Q4_K / Q6_K (if the region has any)
 *   q8ky  (1, maxCols/256 * 576)      Q8KX scaled for the Q4_K nibble lanes, one position of Q4_K
 *   q8kl, q8kly                       Q8KX, Q8KY in lane order, for Q4_K in lane order (the base build)
 *   q8kb  (1, maxCols/256 * 320)      Q8KX as bytes, for one position of a wide Q6_K matrix
 *                                     (kernels-wasm.ts BYTE_ACTIVATION_MIN_COLS)
 *   q8kn  (SLICE, maxCols/256 * 320)  natural-order bytes, for Q4_K / Q6_K on relaxed SIMD (--relaxed-simd)
 *   q80x  (SLICE, maxCols/32 * 80)    prepared activations for Q8_0 (if the region has any)
 *   out   (threads, 2 x SCRATCH_PER_THREAD bytes)  each thread's kernel output, copied to the run
 *                                     state (a gated job's up rows in the second half)
 * A batch longer than SLICE positions runs as several jobs, which bounds the scratch (a few MB per
 * region) at the cost of reading the weights once per SLICE positions (negligible next to the
 * compute of 64 positions). The input is prepared once per job on the calling thread, shared by
 * every thread and by every matrix of the call.
 *
 * Q4_K / Q6_K matrices wider than 32 blocks (ffn_down) are rearranged once into the grouped layout
 * (kernels/wasm/grouped.ts) and run on the grouped kernels (Q8KX activations, Q8KY for one
 * position of Q4_K; short contiguous column chunks), in chunks of whole row groups. On the base
 * build, Q4_K matrices with finite scales (all but broken files) are put in lane order
 * (assembly/q4_k_lanes.ts; weight-layouts.ts) and read Q8KL activations, Q8KLY for one position,
 * instead of Q8KX / Q8KY; Q6_K matrices too (q6_k_lanes.ts), on the same Q8KX. Gate and up run as
 * one gated job (glu): a chunk's rows of both, combined by the kernels' SwiGLU on the thread that
 * made them. One position's jobs go in blocks (parallel/protocol.ts): each thread's share of a
 * matrix opens with one long lead chunk and ends in short chunks, for the threads to end together.
 *
 * Weight types without a WebAssembly kernel (BF16, Q5_K) run the reference rows on the calling thread.
 * A layer's attention runs on the f32 SIMD kernel (assembly/attention.ts) when the run state lies in
 * a WebAssembly memory (else on attendGroup, float64), on the pool when it is large enough (long
 * prompts, long contexts), else on the calling thread alone.
 */
import {LlmfragError} from '../errors.js'
import {GGMLType} from '../gguf/ggml-types.js'
import {CHUNK_BLOCKS, ROW_GROUP} from '../kernels/wasm/grouped.js'
import {type ActivationFormat, BYTE_ACTIVATION_MIN_COLS, Q8KB_BLOCK_BYTES, Q8KX_BLOCK_BYTES, Q80X_BLOCK_BYTES, wasmKernelFor, type WasmTypeKernel} from '../kernels/wasm/kernels-wasm.js'
import {ComputePool} from '../parallel/pool.js'
import {writeAttentionJob} from '../parallel/attention-job.js'
import {type MatmulPart, writeMatmulJob} from '../parallel/matmul-job.js'
import {MAX_PARTS} from '../parallel/protocol.js'
import type {ArenaSlice} from './arena.js'
import {attention} from './attention.js'
import {type KernelsInUse, type Matmul, matmulRows} from './matmul.js'
import {swiglu} from './ops.js'
import type {RunState} from './state.js'
import {groupWideMatrices, laneOrderMatrices, setLaneOrder} from './weight-layouts.js'
import type {ModelWeights, WeightTensor} from './weights.js'

/** Most positions in one job. */
const SLICE = 64
/** Target weight bytes per chunk of rows: small enough for L2 beside a tile of activations, large enough to keep chunk overhead low. */
const CHUNK_BYTES = 96 * 1024
/**
 * The same for one position, which re-reads no activation tile: longer runs of rows stream faster
 * (measured, 7B decode step: 1 thread 466 ms at 96 KB chunks, 438 at 1 MB; 2 threads 242 -> 232 ms).
 */
const CHUNK_BYTES_ONE = 1024 * 1024
/** Fewest chunks per thread in a product, so a thread slowed by other processes can hand work to the others (several positions; 4x for one). */
const CHUNKS_PER_THREAD = 4
/** Most prepared-activation bytes per kernel call (a tile of positions re-read for every row of a chunk, so it should stay in L2). */
const ACT_TILE_BYTES = 384 * 1024
/**
 * Positions the batched kernels take in one sweep over the rows (two passes of assembly/common.ts
 * POS_PASS = 8). A tile of positions that cannot hold the whole batch is cut to whole sweeps:
 * 64 positions of 4096 columns as 32 + 32 rather than 41 + 23 (passes of 7 and 6) ran Q4_K 15.2
 * against 14.6-14.9 GB/s and Q6_K 18.3 against 17.0-17.6 (scripts/bench-kernels.mjs, Zen 4).
 */
const SWEEP_POSITIONS = 16
/**
 * Share of a thread's rows of one position's product in its lead chunk (blocks()): one long kernel
 * call streams faster than many short ones (one thread, Q4_K 4096 columns from memory: 128-row
 * calls 11.5 GB/s, 455-row 12.6, one call 13.0), and the rest in ordinary chunks lets the threads end together.
 */
const LEAD_SHARE = 0.75
/** Bytes of kernel output scratch per thread per region for one part of a job (a gated job's two parts take two). */
const SCRATCH_PER_THREAD = 64 * 1024

/** Prepared activations kept in a region's scratch, with their bytes for `cols` columns, one position. */
const ACT_FORMATS: ReadonlyArray<[ActivationFormat, (cols: number) => number]> = [
  ['q8kx', (cols) => Math.ceil(cols / 256) * Q8KX_BLOCK_BYTES],
  ['q8ky', (cols) => Math.ceil(cols / 256) * Q8KX_BLOCK_BYTES],
  ['q8kl', (cols) => Math.ceil(cols / 256) * Q8KX_BLOCK_BYTES],
  ['q8kly', (cols) => Math.ceil(cols / 256) * Q8KX_BLOCK_BYTES],
  ['q8kb', (cols) => Math.ceil(cols / 256) * Q8KB_BLOCK_BYTES],
  ['q8kn', (cols) => Math.ceil(cols / 256) * Q8KB_BLOCK_BYTES],
  ['q80x', (cols) => Math.ceil(cols / 32) * Q80X_BLOCK_BYTES],
]

interface RegionScratch {
  readonly xin: number // byte offsets into the region's memory
  readonly act: ReadonlyMap<ActivationFormat, number>
  readonly out: number
}

export interface FastMatmulOptions {
  readonly threads: number
  /** Columns from which one position of Q6_K reads byte activations (default BYTE_ACTIVATION_MIN_COLS; tests lower it). */
  readonly byteMinCols?: number
  /** Microseconds a waiting thread spins before sleeping (ComputePool). */
  readonly spinMicros?: number
  /** Q4_K and Q6_K on the relaxed-SIMD kernels (kernels/wasm/relaxed.ts; default false). */
  readonly relaxedSimd?: boolean
}

/** All matrices the forward pass multiplies by. */
function matricesOf(w: ModelWeights): WeightTensor[] {
  return [...w.layers.flatMap((l) => [l.wq, l.wk, l.wv, l.wo, l.gate, l.up, l.down]), w.output]
}

export async function createFastMatmul(weights: ModelWeights, state: RunState, o: FastMatmulOptions): Promise<Matmul> {
  const slice = Math.min(SLICE, state.maxBatch)
  const mats = matricesOf(weights)
  const byteMinCols = o.byteMinCols ?? BYTE_ACTIVATION_MIN_COLS
  const relaxed = o.relaxedSimd ?? false
  const grouped = groupWideMatrices(weights, mats)
  // Shared buffers the threads write into or read from: 0 the run state, then (for the JavaScript attention) each layer's keys, then its values.
  const inWasm = state.memories.length > 0
  const buffers = inWasm ? [state.buffer] : [state.buffer, ...state.keyCache.map(sharedBuffer), ...state.valueCache.map(sharedBuffer)]
  // The run state's memories go after the weights' memories: every thread gets a kernel instance over each for attention.
  const memories = [...weights.arena.memories, ...state.memories.map((m) => m.memory)]
  const pool = await ComputePool.create({threads: o.threads, memories, buffers, spinMicros: o.spinMicros, relaxedSimd: relaxed})
  try {
    // Q4_K and Q6_K into the order their kernels read, at load rather than in the first product: lane
    // order on the base build (for Q4_K: every matrix whose scales are all finite), file order on
    // relaxed SIMD.
    const lanes = new Set<WeightTensor>()
    for (const m of laneOrderMatrices(weights, mats)) {
      const k = pool.main.kernelsOf(m.slice.region)
      if (!relaxed && setLaneOrder(m, true, k)) lanes.add(m)
      else setLaneOrder(m, false, k)
    }
    const scratch = allocateScratch(weights, mats, slice, o.threads, {byteMinCols, grouped, relaxed, lanes})
    const stateMemories = inWasm ? weights.arena.memories.length : undefined
    return new FastMatmul(pool, state, scratch, slice, Math.max(...mats.map((m) => m.cols)), byteMinCols, grouped, lanes, relaxed, stateMemories)
  } catch (err) {
    // The weights may be left in lane order: every FastMatmul sets the order it reads before each product.
    await pool.close().catch(() => undefined) // the first error is the one to report
    throw err
  }
}

/** Each memory region's kernel scratch: the widest input, each prepared activation format at its most positions, and the threads' outputs. */
function allocateScratch(weights: ModelWeights, mats: readonly WeightTensor[], slice: number, threads: number,
  c: {byteMinCols: number; grouped: ReadonlySet<WeightTensor>; relaxed: boolean; lanes: ReadonlySet<WeightTensor>}): Map<number, RegionScratch> {
  // Per region: the widest input, and the widest of each prepared format with its positions.
  const regions = new Map<number, {maxCols: number; formats: Map<ActivationFormat, number>}>()
  for (const m of mats) {
    const r = regions.get(m.slice.region) ?? {maxCols: 0, formats: new Map<ActivationFormat, number>()}
    r.maxCols = Math.max(r.maxCols, m.cols)
    const choice = {byteMinCols: c.byteMinCols, grouped: c.grouped.has(m), relaxed: c.relaxed, lanes: c.lanes.has(m)}
    for (const [k, positions] of [[wasmKernelFor(m.type, {cols: m.cols, nPos: slice}, choice), slice], [wasmKernelFor(m.type, {cols: m.cols, nPos: 1}, choice), 1]] as const) {
      if (k) r.formats.set(k.format, Math.max(r.formats.get(k.format) ?? 0, positions * m.cols))
    }
    regions.set(m.slice.region, r)
  }
  const scratch = new Map<number, RegionScratch>()
  for (const [region, {maxCols, formats}] of regions) {
    const alloc = (bytes: number): number => weights.arena.allocScratch(region, bytes).offset
    const xin = alloc(slice * maxCols * 4)
    const act = new Map<ActivationFormat, number>()
    for (const [f, bytesOf] of ACT_FORMATS) {
      const values = formats.get(f)
      if (values) act.set(f, alloc(bytesOf(values)))
    }
    scratch.set(region, {xin, act, out: alloc(threads * 2 * SCRATCH_PER_THREAD)})
  }
  return scratch
}

function sharedBuffer(a: Float32Array): SharedArrayBuffer {
  if (!(a.buffer instanceof SharedArrayBuffer)) throw new LlmfragError('INTERNAL', 'the KV cache must live in shared memory')
  return a.buffer
}

/**
 * Multiply-adds below which a layer's attention runs on the calling thread alone. 7B synth, one
 * position on the SIMD kernel at 2 threads, median µs pooled against alone: 9 slots 7.1 / 8.0, 17
 * slots 8.5 / 12.5, 65 slots 20.5 / 39.6; this bound (17 slots for the 7B) sits at the crossover.
 */
const ATTENTION_POOL_MIN = 1 << 17

class FastMatmul implements Matmul {
  private readonly refRow: Float32Array // (maxCols) for weight types without a fast kernel

  constructor(
    private readonly pool: ComputePool,
    private readonly state: RunState,
    private readonly scratch: ReadonlyMap<number, RegionScratch>,
    private readonly slice: number,
    maxCols: number,
    private readonly byteMinCols: number,
    private readonly grouped: ReadonlySet<WeightTensor>,
    /** The Q4_K matrices this Matmul put in lane order (weight-layouts.ts). */
    private readonly lanes: ReadonlySet<WeightTensor>,
    private readonly relaxed: boolean,
    /** The pool's index of the run state's first WebAssembly memory (undefined: the state has none, attention runs in JavaScript). */
    private readonly stateMemories: number | undefined,
  ) {
    this.refRow = new Float32Array(maxCols)
    this.stateViews = state.memories.map((m) => new Float32Array(m.memory.buffer))
  }

  /** A float32 view of each of the run state's memories (they never grow). */
  private readonly stateViews: Float32Array[]

  get threads(): number {
    return this.pool.threads
  }

  get kernels(): KernelsInUse {
    return this.relaxed ? 'relaxed' : 'fast'
  }

  attention(layer: number, n: number, pos0: number): void {
    const c = this.state.config
    const s = this.state
    const local = this.pool.threads === 1 || n * (pos0 + n) * c.heads * (c.headDim + c.headDimV) < ATTENTION_POOL_MIN
    if (this.stateMemories === undefined) {
      if (local) {
        attention(c, s, layer, n, pos0)
        return
      }
      writeAttentionJob(this.pool.job, {
        dims: c, n, pos0, q: {buffer: 0, offset: s.q.byteOffset / 4}, keys: 1 + layer, values: 1 + c.layers + layer, out: {buffer: 0, offset: s.attOut.byteOffset / 4},
      })
      this.pool.run()
      return
    }
    // The SIMD kernel over the memory holding this layer's cache; q and the output are copied there and back unless it is memory 0, where they lie.
    const i = s.layerMemory[layer]
    const m = s.memories[i]
    const view = this.stateViews[i]
    if (i !== 0) view.set(s.q.subarray(0, n * c.qDim), m.q / 4)
    writeAttentionJob(this.pool.job, {
      dims: c, n, pos0, q: {buffer: 0, offset: m.q / 4}, keys: 0, values: 0, out: {buffer: 0, offset: m.out / 4},
      wasm: {memory: this.stateMemories + i, kPtr: s.keyCache[layer].byteOffset, vPtr: s.valueCache[layer].byteOffset,
        scratch: m.scratch, scratchStride: s.attScratchStride, ctx: s.ctx},
    })
    this.pool.run(local)
    if (i !== 0) s.attOut.set(view.subarray(m.out / 4, m.out / 4 + n * c.attnOutDim))
  }

  glu(gate: WeightTensor, up: WeightTensor, x: Float32Array, out: Float32Array, upOut: Float32Array, nRows: number): void {
    // One gated job (each chunk: the same rows of gate and up, combined by the thread that made
    // them) when both matrices run on the same kernel in the same memory; else products then swiglu.
    const np = Math.min(nRows, this.slice)
    const kg = this.kernel(gate, np)
    const gated = kg !== undefined && kg.id === this.kernel(up, np)?.id && gate.slice.region === up.slice.region && gate.rows === up.rows && gate.rowBytes === up.rowBytes
    this.products([gate, up], x, [out, upOut], nRows, gated)
    if (!gated) swiglu(out, upOut, nRows * gate.rows)
  }

  run(ws: readonly WeightTensor[], x: Float32Array, outs: readonly Float32Array[], nRows: number): void {
    this.products(ws, x, outs, nRows, false)
  }

  /** The products of ws with nRows positions of x, SLICE positions a job; `glu` as in runSlice. */
  private products(ws: readonly WeightTensor[], x: Float32Array, outs: readonly Float32Array[], nRows: number, glu: boolean): void {
    const cols = ws[0].cols
    for (const w of ws) {
      if (w.cols !== cols) throw new LlmfragError('INTERNAL', `matmul: ${w.name} has ${w.cols} columns, ${ws[0].name} has ${cols}; one call shares one input`)
    }
    for (const out of outs) {
      if (out.buffer !== this.state.buffer) throw new LlmfragError('INTERNAL', 'matmul outputs must be run-state buffers (workers copy into them)')
    }
    for (let p0 = 0; p0 < nRows; p0 += this.slice) this.runSlice(ws, x, outs, p0, Math.min(this.slice, nRows - p0), cols, glu)
  }

  /**
   * Positions p0 .. p0+np-1: prepare the input in each region once, run the fast parts as one job,
   * then the rest. `glu`: ws are gate and up (both fast, one memory), run as one gated job.
   */
  private runSlice(ws: readonly WeightTensor[], x: Float32Array, outs: readonly Float32Array[], p0: number, np: number, cols: number, glu: boolean): void {
    const main = this.pool.main
    const prepared = new Map<string, number>() // `${region}:${format}` -> activation pointer
    const copied = new Set<number>()
    let parts: MatmulPart[] = []
    const blocks = this.blocks(ws, np)
    ws.forEach((w, j) => {
      const kernel = this.kernel(w, np)
      if (!kernel) return
      const region = w.slice.region
      const sc = this.regionScratch(w.slice)
      if (!copied.has(region)) {
        main.heap(region).set(x.subarray(p0 * cols, (p0 + np) * cols), sc.xin >>> 2)
        copied.add(region)
      }
      const format = kernel.format
      const key = `${region}:${format}`
      let actPtr = prepared.get(key)
      if (actPtr === undefined) {
        actPtr = kernel.prepare(main.kernelsOf(region), sc.xin, cols, np, sc.act.get(format) ?? sc.xin)
        prepared.set(key, actPtr)
      }
      if (parts.length === MAX_PARTS) parts = this.runJob(parts, np, false, blocks)
      const scratch = sc.out + (glu && j === 1 ? SCRATCH_PER_THREAD : 0) // a gated job's up rows: the second half of each thread's scratch
      parts.push(this.part(w, kernel, region, actPtr, scratch, outs[j].byteOffset / 4 + p0 * w.rows, np, cols, blocks))
    })
    if (parts.length > 0) this.runJob(parts, np, glu, blocks)
    ws.forEach((w, j) => {
      if (wasmKernelFor(w.type)) return
      matmulRows(w, x.subarray(p0 * cols), outs[j].subarray(p0 * w.rows), np, 0, w.rows, this.refRow)
    })
  }

  /**
   * The fast kernel of w for np positions (undefined: w's type has none). A Q4_K or Q6_K matrix is
   * first put in the order this Matmul's kernels read, should fast kernels of the other build have
   * reordered it since (weight-layouts.ts setLaneOrder; a no-op otherwise).
   */
  private kernel(w: WeightTensor, np: number): WasmTypeKernel | undefined {
    const lanes = this.lanes.has(w)
    if (w.type === GGMLType.Q4_K || w.type === GGMLType.Q6_K) setLaneOrder(w, lanes, this.pool.main.kernelsOf(w.slice.region))
    return wasmKernelFor(w.type, {cols: w.cols, nPos: np}, {byteMinCols: this.byteMinCols, grouped: this.grouped.has(w), relaxed: this.relaxed, lanes})
  }

  private runJob(parts: readonly MatmulPart[], np: number, glu: boolean, blocks: number): MatmulPart[] {
    writeMatmulJob(this.pool.job, parts, np, 2 * SCRATCH_PER_THREAD, glu, blocks)
    this.pool.run()
    return []
  }

  /**
   * Blocks of one position's job: each thread's share of every part's rows (its segment of the
   * chunks) opens with one lead chunk, most of the share in one kernel call, and ends in chunks of
   * the usual size for the threads to even out with (threads x more blocks where a lead chunk would
   * not fit the scratch). One block for batches, and after a pause (ComputePool.warm), when the
   * workers sleep: one that wakes late would find its lead chunk taken by the main thread (7B, 2
   * threads, products 20 ms apart: gate and up 3056 µs and ffn_down 2763 in blocks, 2897-2939 and
   * 2198-2209 in even chunks).
   */
  private blocks(ws: readonly WeightTensor[], np: number): number {
    const t = this.pool.threads
    if (np !== 1 || t === 1 || !this.pool.warm) return 1
    const most = Math.max(...ws.map((w) => w.rows))
    return t * Math.max(1, Math.ceil((most * LEAD_SHARE) / t / (SCRATCH_PER_THREAD / 4)))
  }

  /** One matrix of a job, with its chunk, tile and block sizes. */
  private part(w: WeightTensor, kernel: WasmTypeKernel, region: number, actPtr: number, scratch: number, dstOffset: number, np: number, cols: number, blocks: number): MatmulPart {
    const actStride = kernel.activationBytes(cols) || cols * 4
    const one = np === 1
    const perThread = one ? 4 * CHUNKS_PER_THREAD : CHUNKS_PER_THREAD
    const g = this.grouped.has(w) ? ROW_GROUP : 1 // a grouped kernel call covers whole groups
    let chunkRows = Math.max(1, Math.min(Math.round((one ? CHUNK_BYTES_ONE : CHUNK_BYTES) / w.rowBytes), Math.ceil(w.rows / (perThread * this.pool.threads)), SCRATCH_PER_THREAD / 4))
    chunkRows = Math.ceil(chunkRows / g) * g
    // A grouped matrix is swept one column chunk at a time: a position's activations in use are the chunk's.
    const liveStride = this.grouped.has(w) ? Math.min(actStride, CHUNK_BLOCKS * kernel.activationBytes(256)) : actStride
    const fit = Math.min(Math.floor(SCRATCH_PER_THREAD / (4 * chunkRows)), Math.floor(ACT_TILE_BYTES / liveStride))
    const posTile = Math.max(1, np <= fit ? np : fit >= SWEEP_POSITIONS ? fit - (fit % SWEEP_POSITIONS) : fit)
    const blockRows = Math.ceil(w.rows / blocks / g) * g
    const tail = Math.max(1, Math.round((blockRows * (1 - LEAD_SHARE)) / chunkRows)) * chunkRows
    const leadRows = blocks > 1 && blockRows - tail >= 2 * chunkRows ? Math.min(blockRows - tail, Math.floor(SCRATCH_PER_THREAD / 4 / g) * g) : 0
    return {kernel: kernel.id, memory: region, wPtr: w.slice.offset, rowBytes: w.rowBytes, rows: w.rows, actPtr, actStride,
      dstBuffer: 0, dstOffset, chunkRows, scratch, posTile, leadRows, blockRows}
  }

  private regionScratch(s: ArenaSlice): RegionScratch {
    const sc = this.scratch.get(s.region)
    if (!sc) throw new LlmfragError('INTERNAL', `no kernel scratch in memory region ${s.region}`)
    return sc
  }

  close(): Promise<void> {
    return this.pool.close()
  }
}
