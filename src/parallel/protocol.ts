/**
 * The compute pool's protocol: how the main thread hands work to its worker threads.
 *
 * MESSAGES (postMessage, only at start-up and shut-down; jobs never go through postMessage, whose
 * round trip costs 50-73 µs against 12-34 µs for shared memory and Atomics, see PLATFORM.md):
 *   main -> worker   `workerData: WorkerInit` (the control block, the WebAssembly memories, the
 *                    shared buffers outputs are copied into)
 *   worker -> main   `{type: 'ready'}` once its kernel instances exist, or
 *                    `{type: 'error', message}` if start-up failed
 *   shut-down        the main thread sets STOP, bumps GEN and notifies; the worker leaves its loop
 *                    and exits by itself (terminate() is the fallback)
 *
 * CONTROL BLOCK (one SharedArrayBuffer of CONTROL_BYTES; word = 32 bits, little-endian):
 *   word 0  GEN      job generation; the main thread bumps it (Atomics.add + notify) to start a job
 *   word 1  (unused)
 *   word 2  PENDING  workers not yet done with the current job; the last one to finish notifies
 *   word 3  STOP     1: workers leave their loop
 *   word 4  ERROR    0, or 1 + the index of the first thread whose chunk threw
 *   word 5  ERRLEN   bytes of that error's UTF-8 message at ERR_TEXT
 *   word 8..         the job (JOB_WORDS words, layout below)
 *   word NEXT + t    thread t's next chunk (t < MAX_THREADS); see "chunks" below
 *   byte ERR_TEXT..  ERR_TEXT_BYTES bytes of error text
 *
 * JOB (uint32 words from word 8). A job is a list of matrix products that share one prepared input
 * (Q, K and V of a block read the same normed activations; gate and up too), cut into chunks of
 * rows. Chunks: the job's chunks 0..C-1 are cut into one contiguous segment per thread
 * ([floor(t C / T), floor((t+1) C / T))); thread t takes its own segment's chunks in order through
 * counter NEXT + t (Atomics.add), then steals from the other threads' counters. Each part's rows
 * are cut into B blocks (word 7; B = T for one position on a warm pool, each thread's segment then
 * one block of every part; 1 for a batch or after a pause): chunk c is chunk c mod (C / B) of block
 * floor(c B / C), the parts' chunks of a block one after another (firstChunk); a block is a lead
 * chunk (leadRows; one long kernel call) then chunks of chunkRows, short ones last for the threads
 * to end together. Each thread thus streams through contiguous memory (hardware prefetchers lose
 * time at every jump), and a thread slowed down by another process on the machine simply ends up
 * with fewer chunks.
 *   0 kind             JOB_MATMUL
 *   1 nPos             positions in the batch (activation vectors)
 *   2 nParts           matrices in the job (<= MAX_PARTS)
 *   3 totalChunks      C
 *   4 scratchPerThread bytes of kernel output scratch each thread owns in every memory
 *   5 threads          T
 *   6 glu              1: a gated pair (JOB_MATMUL, parts 0 and 1 alike in rows and chunks: gate and
 *                      up): chunk c is the same rows of both, written as silu(gate) * up into part
 *                      0's destination (part 1's is not written); 0: every part on its own
 *   7 blocks           B (1..): the blocks each part's rows are cut into
 *   then, for JOB_MATMUL, per part i, PART_WORDS words at 8 + i * PART_WORDS:
 *   0 kernel      WasmTypeKernel.id: selects the WebAssembly kernel (weight type and activation layout)
 *   1 memory      index of the WebAssembly memory holding weights, activations and scratch
 *   2 wPtr        byte offset of row 0 of the weights
 *   3 rowBytes
 *   4 rows        output width: out is (nPos, rows)
 *   5 actPtr      byte offset of position 0's prepared activations
 *   6 actStride   bytes of prepared activations per position
 *   7 dstBuffer   index into WorkerInit.buffers of the float32 output
 *   8 dstOffset   float index of out[0][0] there
 *   9 chunkRows   rows per chunk
 *   10 firstChunk index of this part's first chunk in a block's run of chunks
 *   11 scratch    byte offset of thread 0's output scratch in `memory` (thread t: + t * scratchPerThread)
 *   12 posTile    positions per kernel call (so a tile of activations stays in L2 across rows)
 *   13 leadRows   rows of each block's first chunk (0: every chunk chunkRows)
 *   14 blockRows  rows of a block (block b: rows b * blockRows .. min(rows, (b + 1) * blockRows))
 *   or, for JOB_ATTENTION (one layer's attention, src/model/attention.ts; chunk c is batch position
 *   floor(c / kvHeads) and kv head c % kvHeads with its group of query heads), from word 8:
 *   0 pos0        absolute position of batch position 0
 *   1 heads, 2 kvHeads, 3 headDim, 4 headDimV
 *   5 qBuffer, 6 qOffset         q (n, heads * headDim): buffer index and float offset
 *   7 kBuffer, 8 vBuffer         the layer's key and value caches (whole buffers; head-major)
 *   9 outBuffer, 10 outOffset    out (n, heads * headDimV)
 *   11 memory     0: the float64 JavaScript attention (attendGroup) over the buffers above; else 1 +
 *                 the index of the WebAssembly memory holding q, the caches and out (the run
 *                 state's; qOffset and outOffset are float offsets in it) for the f32 SIMD kernel
 *                 (assembly/attention.ts attend_group), with:
 *   12 kPtr, 13 vPtr              byte offsets of the layer's key and value caches in that memory
 *   14 scratch, 15 scratchStride  byte offset of thread 0's score scratch (thread t: + t * scratchStride)
 *   16 ctx                        cache slots per kv head (the caches are head-major: src/model/state.ts)
 */
import type {SharedWasmMemory} from '../kernels/wasm/kernels-wasm.js'

export const GEN = 0
export const PENDING = 2
export const STOP = 3
export const ERROR = 4
export const ERRLEN = 5
export const JOB_WORD = 8

export const JOB_MATMUL = 1
export const JOB_ATTENTION = 2
export const MAX_PARTS = 4
export const JOB_HEADER_WORDS = 8
export const PART_WORDS = 15
export const JOB_WORDS = JOB_HEADER_WORDS + MAX_PARTS * PART_WORDS

export const MAX_THREADS = 64
export const NEXT = JOB_WORD + JOB_WORDS
export const ERR_TEXT = (NEXT + MAX_THREADS) * 4
export const ERR_TEXT_BYTES = 1024
export const CONTROL_BYTES = ERR_TEXT + ERR_TEXT_BYTES

/** Job header fields (word offsets within the job). */
export const J = {kind: 0, nPos: 1, nParts: 2, totalChunks: 3, scratchPerThread: 4, threads: 5, glu: 6, blocks: 7} as const
/** Part fields (word offsets within a part). */
export const P = {
  kernel: 0, memory: 1, wPtr: 2, rowBytes: 3, rows: 4, actPtr: 5, actStride: 6,
  dstBuffer: 7, dstOffset: 8, chunkRows: 9, firstChunk: 10, scratch: 11, posTile: 12, leadRows: 13, blockRows: 14,
} as const

/** Attention fields (word offsets within the job). */
export const A = {
  pos0: 8, heads: 9, kvHeads: 10, headDim: 11, headDimV: 12, qBuffer: 13, qOffset: 14, kBuffer: 15, vBuffer: 16, outBuffer: 17, outOffset: 18,
  memory: 19, kPtr: 20, vPtr: 21, scratch: 22, scratchStride: 23, ctx: 24,
} as const

/** Everything a worker needs, passed once as workerData. */
export interface WorkerInit {
  /** This worker's thread index (the main thread is 0). */
  readonly index: number
  readonly control: SharedArrayBuffer
  readonly memories: readonly SharedWasmMemory[]
  /** Shared buffers that outputs are copied into (float32 views). */
  readonly buffers: readonly SharedArrayBuffer[]
  /** Microseconds to spin on GEN before sleeping in Atomics.wait. */
  readonly spinMicros: number
  /** Instantiate the relaxed-SIMD build of the kernels (the main thread has turned relaxed SIMD on). */
  readonly relaxedSimd: boolean
}

export type FromWorker =
  | {readonly type: 'ready'}
  | {readonly type: 'error'; readonly message: string}
