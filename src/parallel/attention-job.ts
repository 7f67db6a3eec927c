/**
 * Writing one layer's attention as a pool job (layout in protocol.ts): chunk c is batch position
 * floor(c / kvHeads) with kv head c % kvHeads and its query heads, computed on whichever thread
 * takes it by attendGroup (src/model/attention.ts, float64) or, when the run state lies in a
 * WebAssembly memory, by the f32 SIMD kernel attend_group (assembly/attention.ts): the same
 * result as on one thread either way.
 */
import type {AttentionDims} from '../model/attention.js'
import {A, J, JOB_ATTENTION} from './protocol.js'

/** A float32 array in one of the pool's shared buffers. */
export interface BufferRef {
  readonly buffer: number // index into the pool's buffers
  readonly offset: number // float offset of element 0
}

export interface AttentionJob {
  readonly dims: AttentionDims
  readonly n: number // batch positions
  readonly pos0: number // absolute position of batch position 0
  readonly q: BufferRef // (n, heads * headDim)
  readonly keys: number // buffer index of the layer's key cache (kvHeads, ctx, headDim)
  readonly values: number // buffer index of the layer's value cache (kvHeads, ctx, headDimV)
  readonly out: BufferRef // (n, heads * headDimV)
  /** The SIMD kernel's operands, when q, the cache and out lie in WebAssembly memory `memory` (q.offset, out.offset: float offsets in it). */
  readonly wasm?: {readonly memory: number; readonly kPtr: number; readonly vPtr: number; readonly scratch: number; readonly scratchStride: number; readonly ctx: number}
}

/** Fills `job`; returns the number of chunks. */
export function writeAttentionJob(job: Uint32Array, a: AttentionJob): number {
  const chunks = a.n * a.dims.kvHeads
  job[J.kind] = JOB_ATTENTION
  job[J.nPos] = a.n
  job[J.nParts] = 0
  job[J.totalChunks] = chunks
  job[J.scratchPerThread] = 0
  job[A.pos0] = a.pos0
  job[A.heads] = a.dims.heads
  job[A.kvHeads] = a.dims.kvHeads
  job[A.headDim] = a.dims.headDim
  job[A.headDimV] = a.dims.headDimV
  job[A.qBuffer] = a.q.buffer
  job[A.qOffset] = a.q.offset
  job[A.kBuffer] = a.keys
  job[A.vBuffer] = a.values
  job[A.outBuffer] = a.out.buffer
  job[A.outOffset] = a.out.offset
  job[A.memory] = a.wasm ? a.wasm.memory + 1 : 0
  job[A.kPtr] = a.wasm?.kPtr ?? 0
  job[A.vPtr] = a.wasm?.vPtr ?? 0
  job[A.scratch] = a.wasm?.scratch ?? 0
  job[A.scratchStride] = a.wasm?.scratchStride ?? 0
  job[A.ctx] = a.wasm?.ctx ?? 0
  return chunks
}
