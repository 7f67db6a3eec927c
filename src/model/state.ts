/**
 * The run state (llama2.c's `RunState`): every activation buffer and the KV cache, allocated once
 * for a context size and a batch size, so a forward pass allocates nothing. Activations live in
 * one SharedArrayBuffer so that worker threads can later read inputs and write their share of
 * outputs in place.
 */
import {LlmfragError} from '../errors.js'
import type {ModelConfig} from './config.js'

export interface RunStateOptions {
  /** Context size in tokens: positions 0..ctx-1 have a K/V slot. */
  readonly ctx: number
  /** Most positions evaluated by one forward call (prompt chunks are at most this long). */
  readonly maxBatch: number
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
  readonly keyCache: readonly Float32Array[] // [layer] (ctx, kvDim)
  readonly valueCache: readonly Float32Array[] // [layer] (ctx, kvDimV)

  constructor(readonly config: ModelConfig, options: RunStateOptions) {
    const c = config
    const {ctx, maxBatch} = options
    if (!Number.isInteger(ctx) || ctx < 1) throw new LlmfragError('BAD_INPUT', `context size ${ctx} must be a positive whole number`)
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new LlmfragError('BAD_INPUT', `batch size ${maxBatch} must be a positive whole number`)
    this.ctx = ctx
    this.maxBatch = maxBatch
    const widths = {x: c.dim, xb: c.dim, q: c.qDim, k: c.kvDim, v: c.kvDimV, attOut: c.attnOutDim, hb: c.ffnHidden, hb2: c.ffnHidden, logits: c.vocab}
    const total = Object.values(widths).reduce((s, w) => s + w * maxBatch, 0)
    const sab = allocate(total * 4, 'activation buffers', `-b/--batch-size ${maxBatch}`)
    this.buffer = sab
    let at = 0
    const take = (width: number): Float32Array => {
      const a = new Float32Array(sab, at * 4, width * maxBatch)
      at += width * maxBatch
      return a
    }
    this.x = take(widths.x)
    this.xb = take(widths.xb)
    this.q = take(widths.q)
    this.k = take(widths.k)
    this.v = take(widths.v)
    this.attOut = take(widths.attOut)
    this.hb = take(widths.hb)
    this.hb2 = take(widths.hb2)
    this.logits = take(widths.logits)
    this.att = new Float64Array(ctx)
    this.attAcc = new Float64Array(c.headDimV)
    this.ropeCos = new Float64Array(maxBatch * (c.ropeDims >>> 1))
    this.ropeSin = new Float64Array(maxBatch * (c.ropeDims >>> 1))
    // One buffer per layer: a typed array holds at most 2^32 elements, and (layers, ctx, kvDim)
    // passes that for big models at long contexts.
    const kv = (width: number): Float32Array[] => Array.from({length: c.layers},
      () => new Float32Array(allocate(ctx * width * 4, 'KV cache', `-c/--ctx-size ${ctx}`)))
    this.keyCache = kv(c.kvDim)
    this.valueCache = kv(c.kvDimV)
  }

  /** Bytes of the K/V cache (float32), for memory reports. */
  static kvCacheBytes(c: ModelConfig, ctx: number): number {
    return c.layers * ctx * (c.kvDim + c.kvDimV) * 4
  }
}

function allocate(bytes: number, what: string, knob: string): SharedArrayBuffer {
  try {
    return new SharedArrayBuffer(bytes)
  } catch (err) {
    throw new LlmfragError('BAD_INPUT', `cannot allocate ${(bytes / 1024 ** 3).toFixed(2)} GiB for the ${what}`, {
      hints: [`lower ${knob}`], cause: err, details: {bytes},
    })
  }
}
