/**
 * The run state (llama2.c's `RunState`): every activation buffer and the KV cache, allocated once
 * for a context size and a batch size, so a forward pass allocates nothing. Activations and the KV
 * cache live in one shared WebAssembly memory when they fit in one (under 4 GiB: the fast path's
 * attention kernel then reads q and the cache where they lie and writes its output in place), else
 * in SharedArrayBuffers (activations in one, the cache one per layer); worker threads read inputs
 * and write their share of outputs in place either way.
 */
import {LlmfragError} from '../errors.js'
import {createSharedMemory, type SharedWasmMemory} from '../kernels/wasm/kernels-wasm.js'
import {MAX_THREADS} from '../parallel/protocol.js'
import type {ModelConfig} from './config.js'

/** Largest run state kept in one WebAssembly memory (a memory holds at most 65535 pages of 64 KiB). */
const WASM_STATE_MAX_BYTES = 65535 * 65536

export interface RunStateOptions {
  /** Context size in tokens: positions 0..ctx-1 have a K/V slot. */
  readonly ctx: number
  /** Most positions evaluated by one forward call (prompt chunks are at most this long). */
  readonly maxBatch: number
  /** Put the state in one WebAssembly memory when it fits (default true; false: SharedArrayBuffers, the float64 JavaScript attention). */
  readonly wasmMemory?: boolean
}

export class RunState {
  readonly ctx: number
  readonly maxBatch: number
  /** The one shared buffer behind x .. logits (worker threads copy matmul outputs into it). */
  readonly buffer: SharedArrayBuffer
  readonly x: Float32Array // (maxBatch, dim) the residual stream
  readonly xb: Float32Array // (maxBatch, dim) normed input of a sub-block, then its projected output
  readonly q: Float32Array // (maxBatch, qDim)
  readonly k: Float32Array // (maxBatch, kvDim) keys of the batch before they enter the cache
  readonly v: Float32Array // (maxBatch, kvDimV)
  readonly attOut: Float32Array // (maxBatch, attnOutDim) attention output, input of attn_output
  readonly hb: Float32Array // (maxBatch, ffnHidden) gate, then silu(gate) * up
  readonly hb2: Float32Array // (maxBatch, ffnHidden) up
  readonly logits: Float32Array // (maxBatch, vocab)
  readonly att: Float64Array // (ctx) attention scores of one head at one position
  readonly attAcc: Float64Array // (headDimV) weighted sum of values for one head
  readonly ropeCos: Float64Array // (maxBatch, ropeDims / 2) per-position angles of the batch
  readonly ropeSin: Float64Array // (maxBatch, ropeDims / 2)
  /**
   * [layer] (kvHeads, ctx, headDim): each kv head's keys slot after slot, so attending to one kv
   * head reads one contiguous run. Slot-major rows (kvDim apart: at 1024 kv dims each slot of a
   * head on its own 4 KiB page, where the hardware prefetchers stop) ran the SIMD attention at 35.0
   * ms a token against 17.7 head-major (7B synth, 1024 cached positions, 2 threads, Zen 4).
   */
  readonly keyCache: readonly Float32Array[]
  readonly valueCache: readonly Float32Array[] // [layer] (kvHeads, ctx, headDimV)
  /**
   * The WebAssembly memory holding every buffer above (buffer is its SharedArrayBuffer), with
   * MAX_THREADS attention score rows of `attScratchStride` bytes from byte `attScratch`; undefined
   * when the state does not fit in one memory.
   */
  readonly memory?: SharedWasmMemory
  readonly attScratch: number
  readonly attScratchStride: number

  constructor(readonly config: ModelConfig, options: RunStateOptions) {
    const c = config
    const {ctx, maxBatch} = options
    if (!Number.isInteger(ctx) || ctx < 1) throw new LlmfragError('BAD_INPUT', `context size ${ctx} must be a positive whole number`)
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new LlmfragError('BAD_INPUT', `batch size ${maxBatch} must be a positive whole number`)
    this.ctx = ctx
    this.maxBatch = maxBatch
    const widths = {x: c.dim, xb: c.dim, q: c.qDim, k: c.kvDim, v: c.kvDimV, attOut: c.attnOutDim, hb: c.ffnHidden, hb2: c.ffnHidden, logits: c.vocab}
    const activations = Object.values(widths).reduce((s, w) => s + w * maxBatch, 0) * 4
    const kvBytes = RunState.kvCacheBytes(c, ctx)
    this.attScratchStride = ctx * 16 // four heads' scores per slot (assembly/attention.ts attendFour)
    const scratchBytes = MAX_THREADS * this.attScratchStride
    const inWasm = (options.wasmMemory ?? true) && activations + kvBytes + scratchBytes <= WASM_STATE_MAX_BYTES
    if (inWasm) {
      const bytes = activations + kvBytes + scratchBytes
      this.memory = allocate(bytes, 'activation buffers and KV cache', `-c/--ctx-size ${ctx} or -b/--batch-size ${maxBatch}`,
        () => createSharedMemory(bytes, Math.ceil(bytes / 65536)))
    }
    const sab = this.memory?.buffer ?? allocate(activations, 'activation buffers', `-b/--batch-size ${maxBatch}`, () => new SharedArrayBuffer(activations))
    this.buffer = sab
    let at = 0 // bytes
    const take = (floats: number): Float32Array => {
      const a = new Float32Array(sab, at, floats)
      at += floats * 4
      return a
    }
    this.x = take(widths.x * maxBatch)
    this.xb = take(widths.xb * maxBatch)
    this.q = take(widths.q * maxBatch)
    this.k = take(widths.k * maxBatch)
    this.v = take(widths.v * maxBatch)
    this.attOut = take(widths.attOut * maxBatch)
    this.hb = take(widths.hb * maxBatch)
    this.hb2 = take(widths.hb2 * maxBatch)
    this.logits = take(widths.logits * maxBatch)
    this.att = new Float64Array(ctx)
    this.attAcc = new Float64Array(c.headDimV)
    this.ropeCos = new Float64Array(maxBatch * (c.ropeDims >>> 1))
    this.ropeSin = new Float64Array(maxBatch * (c.ropeDims >>> 1))
    // Outside a WebAssembly memory, one buffer per layer: a typed array holds at most 2^32
    // elements, and (layers, ctx, kvDim) passes that for big models at long contexts.
    const kv = (width: number): Float32Array[] => Array.from({length: c.layers}, () => inWasm ? take(ctx * width)
      : new Float32Array(allocate(ctx * width * 4, 'KV cache', `-c/--ctx-size ${ctx}`, () => new SharedArrayBuffer(ctx * width * 4))))
    this.keyCache = kv(c.kvDim)
    this.valueCache = kv(c.kvDimV)
    this.attScratch = inWasm ? at : 0
  }

  /**
   * Slots 0..n-1 of one layer's keys or values, copied into slot-major order (n, kvHeads * width):
   * the order of saved chat sessions and prompt-cache entries, independent of this layout.
   */
  cacheSlots(which: 'keys' | 'values', layer: number, n: number): Float32Array {
    const {kvHeads, headDim, headDimV} = this.config
    const width = which === 'keys' ? headDim : headDimV
    const cache = (which === 'keys' ? this.keyCache : this.valueCache)[layer]
    const out = new Float32Array(n * kvHeads * width)
    for (let g = 0; g < kvHeads; g++) {
      for (let t = 0; t < n; t++) out.set(cache.subarray((g * this.ctx + t) * width, (g * this.ctx + t + 1) * width), (t * kvHeads + g) * width)
    }
    return out
  }

  /** Puts slot-major keys or values of slots 0..n-1 (as cacheSlots gives them) into one layer's cache. */
  setCacheSlots(which: 'keys' | 'values', layer: number, n: number, data: Float32Array): void {
    const {kvHeads, headDim, headDimV} = this.config
    const width = which === 'keys' ? headDim : headDimV
    const cache = (which === 'keys' ? this.keyCache : this.valueCache)[layer]
    for (let g = 0; g < kvHeads; g++) {
      for (let t = 0; t < n; t++) cache.set(data.subarray((t * kvHeads + g) * width, (t * kvHeads + g + 1) * width), (g * this.ctx + t) * width)
    }
  }

  /** Bytes of the K/V cache (float32), for memory reports. */
  static kvCacheBytes(c: ModelConfig, ctx: number): number {
    return c.layers * ctx * (c.kvDim + c.kvDimV) * 4
  }
}

function allocate<T>(bytes: number, what: string, knob: string, make: () => T): T {
  try {
    return make()
  } catch (err) {
    throw new LlmfragError('BAD_INPUT', `cannot allocate ${(bytes / 1024 ** 3).toFixed(2)} GiB for the ${what}`, {
      hints: [`lower ${knob}`], cause: err, details: {bytes},
    })
  }
}
