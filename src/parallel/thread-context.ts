/**
 * What one thread of the pool (the main thread or a worker) holds to run chunks of a job: one
 * WebAssembly kernel instance per memory (a module instance imports exactly one memory), float32
 * views of the shared buffers (run state, KV caches) and attention scratch. The chunk loop here is
 * the same code on every thread.
 */
import {instantiateWasmKernels, requireWasmKernel, type SharedWasmMemory, type WasmKernelExports, type WasmTypeKernel} from '../kernels/wasm/kernels-wasm.js'
import {attendGroup} from '../model/attention.js'
import {A, ERR_TEXT, ERR_TEXT_BYTES, ERRLEN, ERROR, J, JOB_ATTENTION, JOB_HEADER_WORDS, JOB_MATMUL, JOB_WORD, JOB_WORDS, NEXT, P, PART_WORDS} from './protocol.js'

export class ThreadContext {
  readonly ctl: Int32Array // the control block's words
  readonly job: Uint32Array // (JOB_WORDS) the job, a view into the control block
  private readonly kernels: WasmKernelExports[]
  private readonly heaps: Float32Array[] // per memory; remade when the memory has grown
  private readonly views: Float32Array[] // (per shared buffer) run state, KV caches
  private readonly typeKernels = new Map<number, WasmTypeKernel>() // by WasmTypeKernel.id
  private att = new Float64Array(0) // attention scores of one head (grown to the context in use)
  private acc = new Float64Array(0) // (headDimV) weighted sum of values

  constructor(
    readonly index: number,
    control: SharedArrayBuffer,
    private readonly memories: readonly SharedWasmMemory[],
    buffers: readonly SharedArrayBuffer[],
    relaxedSimd = false,
  ) {
    this.ctl = new Int32Array(control)
    this.job = new Uint32Array(control, JOB_WORD * 4, JOB_WORDS)
    this.kernels = memories.map((m) => instantiateWasmKernels(m, relaxedSimd))
    this.heaps = memories.map((m) => new Float32Array(m.buffer))
    this.views = buffers.map((b) => new Float32Array(b))
  }

  /** The kernel instance over memory `i` (the main thread also uses it to prepare activations). */
  kernelsOf(i: number): WasmKernelExports {
    return this.kernels[i]
  }

  /** A float32 view of all of memory `i` (valid until the memory grows). */
  heap(i: number): Float32Array {
    const buf = this.memories[i].buffer
    if (this.heaps[i].buffer !== buf) this.heaps[i] = new Float32Array(buf)
    return this.heaps[i]
  }

  /** Takes chunks of the current job until none are left: its own segment first, then the others'. */
  runChunks(): void {
    const job = this.job
    const kind = job[J.kind]
    if (kind !== JOB_MATMUL && kind !== JOB_ATTENTION) throw new Error(`unknown job kind ${kind}`)
    const chunk = kind === JOB_MATMUL ? (c: number): void => this.matmulChunk(c) : this.attentionChunks()
    const total = job[J.totalChunks]
    const threads = job[J.threads]
    for (let i = 0; i < threads; i++) {
      const t = (this.index + i) % threads
      const end = segmentStart(t + 1, total, threads)
      for (let c = Atomics.add(this.ctl, NEXT + t, 1); c < end; c = Atomics.add(this.ctl, NEXT + t, 1)) chunk(c)
    }
  }

  /** The chunk function of the current attention job (its views and scratch made once per job). */
  private attentionChunks(): (c: number) => void {
    const job = this.job
    const dims = {heads: job[A.heads], kvHeads: job[A.kvHeads], headDim: job[A.headDim], headDimV: job[A.headDimV]}
    const pos0 = job[A.pos0]
    const len = pos0 + job[J.nPos]
    const kv = dims.kvHeads
    if (job[A.memory] !== 0) {
      const k = this.kernels[job[A.memory] - 1]
      const {heads, headDim, headDimV} = dims
      const group = heads / kv, ctx = job[A.ctx]
      const qPtr = job[A.qOffset] * 4, outPtr = job[A.outOffset] * 4, kPtr = job[A.kPtr], vPtr = job[A.vPtr]
      const scratch = job[A.scratch] + this.index * job[A.scratchStride]
      const scale = Math.fround(1 / Math.sqrt(headDim))
      return (c) => {
        const p = Math.floor(c / kv), g = c % kv
        k.attend_group(qPtr + (p * heads + g * group) * headDim * 4, kPtr + g * ctx * headDim * 4, headDim * 4, vPtr + g * ctx * headDimV * 4, headDimV * 4,
          outPtr + (p * heads + g * group) * headDimV * 4, scratch, pos0 + p + 1, headDim, headDimV, group, scale)
      }
    }
    if (this.att.length < len) this.att = new Float64Array(len)
    if (this.acc.length < dims.headDimV) this.acc = new Float64Array(dims.headDimV)
    const {att, acc} = this
    const q = this.views[job[A.qBuffer]], keys = this.views[job[A.kBuffer]], values = this.views[job[A.vBuffer]], out = this.views[job[A.outBuffer]]
    const qOff = job[A.qOffset], outOff = job[A.outOffset]
    return (c) => attendGroup(dims, q, qOff, keys, values, out, outOff, Math.floor(c / kv), pos0, c % kv, att, acc)
  }

  /**
   * Chunk c: rows [r0, r1) of one part (protocol.ts: which block, part and rows), for every
   * position, a tile of positions per kernel call.
   * The kernel writes (np, r1 - r0) floats to this thread's scratch; each position's run of rows
   * is then copied to out[(p0 + p) * rows + r0 ..] in the destination buffer. In a gated job the
   * chunk is those rows of gate and of up, each into its own scratch (up's half a thread's scratch
   * past gate's), combined there by the kernels' swiglu (silu(gate) * up, as the forward pass's
   * ops.ts swiglu, bit for bit) and copied to gate's destination.
   */
  private matmulChunk(c: number): void {
    const job = this.job
    const perBlock = job[J.totalChunks] / job[J.blocks]
    const block = Math.floor(c / perBlock)
    const k = c - block * perBlock
    if (job[J.glu] !== 0) {
      this.partRows(JOB_HEADER_WORDS, block, k, JOB_HEADER_WORDS + PART_WORDS)
      return
    }
    const nParts = job[J.nParts]
    let base = JOB_HEADER_WORDS
    for (let i = 1; i < nParts && k >= job[JOB_HEADER_WORDS + i * PART_WORDS + P.firstChunk]; i++) base = JOB_HEADER_WORDS + i * PART_WORDS
    this.partRows(base, block, k - job[base + P.firstChunk], 0)
  }

  /**
   * Chunk k of block `block` of the part at word `base` (protocol.ts: a lead chunk, then chunks of
   * chunkRows); with `up` (the word of a gated job's second part), of both, combined (see matmulChunk).
   */
  private partRows(base: number, block: number, k: number, up: number): void {
    const job = this.job
    const mem = job[base + P.memory]
    const rows = job[base + P.rows]
    const rowBytes = job[base + P.rowBytes]
    const chunkRows = job[base + P.chunkRows]
    const lead = job[base + P.leadRows]
    const start = block * job[base + P.blockRows]
    const r0 = start + (lead === 0 ? k * chunkRows : k === 0 ? 0 : lead + (k - 1) * chunkRows)
    const nr = Math.min(rows, start + job[base + P.blockRows], r0 + (lead !== 0 && k === 0 ? lead : chunkRows)) - r0
    if (nr <= 0) return // a chunk past the end of the last block, which may be shorter
    const nPos = job[J.nPos]
    const tile = job[base + P.posTile]
    const actStride = job[base + P.actStride]
    const scratch = job[base + P.scratch] + this.index * job[J.scratchPerThread]
    const upScratch = up === 0 ? 0 : job[up + P.scratch] + this.index * job[J.scratchPerThread]
    const instance = this.kernels[mem]
    const kernel = this.kernelFor(job[base + P.kernel])
    const heap = this.heap(mem)
    const dst = this.views[job[base + P.dstBuffer]]
    const dstOffset = job[base + P.dstOffset] + r0
    const s0 = scratch >>> 2
    for (let p0 = 0; p0 < nPos; p0 += tile) {
      const np = Math.min(tile, nPos - p0)
      kernel.matmul(instance, job[base + P.wPtr] + r0 * rowBytes, rowBytes, nr, job[base + P.actPtr] + p0 * actStride, np, scratch)
      if (up !== 0) {
        kernel.matmul(instance, job[up + P.wPtr] + r0 * rowBytes, rowBytes, nr, job[up + P.actPtr] + p0 * actStride, np, upScratch)
        instance.swiglu(scratch, upScratch, np * nr)
      }
      for (let p = 0; p < np; p++) copyRun(dst, dstOffset + (p0 + p) * rows, heap, s0 + p * nr, nr)
    }
  }

  private kernelFor(id: number): WasmTypeKernel {
    let k = this.typeKernels.get(id)
    if (!k) {
      k = requireWasmKernel(id)
      this.typeKernels.set(id, k)
    }
    return k
  }

  /** Records the first failure of a job (the main thread raises it once every thread is done). */
  fail(err: unknown): void {
    if (Atomics.compareExchange(this.ctl, ERROR, 0, this.index + 1) !== 0) return
    const text = err instanceof Error ? err.message : String(err)
    const bytes = new Uint8Array(this.ctl.buffer, ERR_TEXT, ERR_TEXT_BYTES)
    const {written} = new TextEncoder().encodeInto(text, bytes)
    Atomics.store(this.ctl, ERRLEN, written)
  }
}

/** First chunk of thread t's segment when `total` chunks are cut among `threads` (t = threads gives total). */
export function segmentStart(t: number, total: number, threads: number): number {
  return Math.floor((t * total) / threads)
}

/**
 * dst[at ..] = src[from ..], n floats. Element loops for short runs (a batch makes one short run per
 * position and chunk, ~40 floats at 96 KB chunks, where two view objects cost more than the copy);
 * set() for long ones (one position's ~450 rows: 110 ns against 1.1 µs for the loop).
 */
function copyRun(dst: Float32Array, at: number, src: Float32Array, from: number, n: number): void {
  if (n >= COPY_SET_MIN) dst.set(src.subarray(from, from + n), at)
  else for (let r = 0; r < n; r++) dst[at + r] = src[from + r]
}

/** Floats from which copyRun uses set() (40 floats: 45-76 ns as a loop, 52-64 with set). */
const COPY_SET_MIN = 64
