/**
 * The run state (llama2.c's `RunState`): every activation buffer and the KV cache, allocated once
 * for a context size and a batch size, so a forward pass allocates nothing. Activations and the KV
 * cache live in shared WebAssembly memories (the fast path's attention kernel reads the cache where
 * it lies): the activations and the first layers' caches in memory 0, further layers' caches in
 * further memories of under 4 GiB each, which also hold a copy slot for q and the attention output.
 * With wasmMemory false the state lives in SharedArrayBuffers (activations in one, the cache one per
 * layer). Worker threads read inputs and write their share of outputs in place either way.
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
  /** Put the state in WebAssembly memories (default true; false: SharedArrayBuffers, and the fast path's attention in float64 JavaScript). */
  readonly wasmMemory?: boolean
  /** Most bytes per WebAssembly memory (default: the most one holds; tests lower it to spread a tiny model's cache over several). */
  readonly maxMemoryBytes?: number
}

/** A WebAssembly memory of the run state: byte offsets of the rows attention reads q from and writes its output to, and of its score scratch. */
export interface StateMemory {
  readonly memory: SharedWasmMemory
  readonly q: number // (maxBatch, qDim) f32: in memory 0 the run state's q itself, elsewhere a slot q is copied into
  readonly out: number // (maxBatch, attnOutDim) f32: in memory 0 attOut itself, elsewhere a slot copied out of
  readonly scratch: number // MAX_THREADS score rows of attScratchStride bytes
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
  /** The WebAssembly memories of the state (empty with wasmMemory false); memories[0].memory.buffer is `buffer`. */
  readonly memories: readonly StateMemory[]
  /** [layer] the index into memories of the memory holding that layer's keys and values. */
  readonly layerMemory: readonly number[]
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
    this.attScratchStride = ctx * 16 // four heads' scores per slot (assembly/attention.ts attendFour)
    const scratchBytes = MAX_THREADS * this.attScratchStride
    const layerBytes = ctx * (c.kvDim + c.kvDimV) * 4
    const slotBytes = maxBatch * (c.qDim + c.attnOutDim) * 4
    // Layers per memory: memory 0 after the activations, the others after their q and output slots.
    const limit = options.maxMemoryBytes ?? WASM_STATE_MAX_BYTES
    const plan: number[] = []
    const firstFits = Math.floor((limit - activations - scratchBytes) / layerBytes), nextFits = Math.floor((limit - slotBytes - scratchBytes) / layerBytes)
    if ((options.wasmMemory ?? true) && firstFits >= 0 && nextFits >= 1) {
      for (let left = c.layers; left > 0 || plan.length === 0;) {
        const k = Math.min(left, plan.length === 0 ? firstFits : nextFits)
        plan.push(k)
        left -= k
      }
    }
    const knob = `-c/--ctx-size ${ctx} or -b/--batch-size ${maxBatch}`
    const memories = plan.map((k, i) => {
      const bytes = (i === 0 ? activations : slotBytes) + k * layerBytes + scratchBytes
      return allocate(bytes, 'activation buffers and KV cache', knob, () => createSharedMemory(bytes, Math.ceil(bytes / 65536)))
    })
    const sab = memories[0]?.buffer ?? allocate(activations, 'activation buffers', `-b/--batch-size ${maxBatch}`, () => new SharedArrayBuffer(activations))
    this.buffer = sab
    let at = 0 // bytes into sab
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
    const keyCache: Float32Array[] = [], valueCache: Float32Array[] = [], layerMemory: number[] = []
    const stateMemories: StateMemory[] = memories.map((memory, i) => {
      let off = i === 0 ? activations : slotBytes
      const first = plan.slice(0, i).reduce((a, b) => a + b, 0)
      for (let l = first; l < first + plan[i]; l++) {
        keyCache.push(new Float32Array(memory.buffer, off, ctx * c.kvDim))
        valueCache.push(new Float32Array(memory.buffer, off + ctx * c.kvDim * 4, ctx * c.kvDimV))
        layerMemory.push(i)
        off += layerBytes
      }
      return i === 0 ? {memory, q: this.q.byteOffset, out: this.attOut.byteOffset, scratch: off}
        : {memory, q: 0, out: maxBatch * c.qDim * 4, scratch: off}
    })
    // Outside WebAssembly memory, one buffer per layer: a typed array holds at most 2^32 elements,
    // and (layers, ctx, kvDim) passes that for big models at long contexts.
    if (memories.length === 0) {
      for (let l = 0; l < c.layers; l++) {
        for (const [list, width] of [[keyCache, c.kvDim], [valueCache, c.kvDimV]] as const) {
          list.push(new Float32Array(allocate(ctx * width * 4, 'KV cache', `-c/--ctx-size ${ctx}`, () => new SharedArrayBuffer(ctx * width * 4))))
        }
      }
    }
    this.keyCache = keyCache
    this.valueCache = valueCache
    this.layerMemory = layerMemory
    this.memories = stateMemories
  }

  /**
   * Slots 0..n-1 of one layer's keys or values, copied into slot-major order (n, kvHeads * width):
   * the order of saved chat sessions and prompt-cache entries, independent of this layout.
   */
  cacheSlots(which: 'keys' | 'values', layer: number, n: number): Float32Array {
    const {kvHeads} = this.config
    const {cache, width} = this.cacheOf(which, layer)
    const out = new Float32Array(n * kvHeads * width)
    for (let g = 0; g < kvHeads; g++) {
      for (let t = 0; t < n; t++) out.set(cache.subarray((g * this.ctx + t) * width, (g * this.ctx + t + 1) * width), (t * kvHeads + g) * width)
    }
    return out
  }

  /** Puts slot-major keys or values of slots 0..n-1 (as cacheSlots gives them) into one layer's cache. */
  setCacheSlots(which: 'keys' | 'values', layer: number, n: number, data: Float32Array): void {
    const {kvHeads} = this.config
    const {cache, width} = this.cacheOf(which, layer)
    for (let g = 0; g < kvHeads; g++) {
      for (let t = 0; t < n; t++) cache.set(data.subarray((t * kvHeads + g) * width, (t * kvHeads + g + 1) * width), (g * this.ctx + t) * width)
    }
  }

  /** One layer's keys or values and the floats of a kv head's slot in them. */
  private cacheOf(which: 'keys' | 'values', layer: number): {cache: Float32Array; width: number} {
    return which === 'keys' ? {cache: this.keyCache[layer], width: this.config.headDim} : {cache: this.valueCache[layer], width: this.config.headDimV}
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
