/**
 * Writing a matrix-product job into the control block (layout in protocol.ts): typed parts in,
 * words out, so callers never touch word offsets.
 */
import {J, JOB_HEADER_WORDS, JOB_MATMUL, MAX_PARTS, P, PART_WORDS} from './protocol.js'

/** One matrix of a job: out (nPos, rows) = prepared activations (nPos, cols) x W (rows, cols)^T. */
export interface MatmulPart {
  readonly kernel: number // WasmTypeKernel.id: the weight type, and the activation layout
  readonly memory: number // index of the memory holding weights, activations and scratch
  readonly wPtr: number // byte offset of row 0
  readonly rowBytes: number
  readonly rows: number
  readonly actPtr: number // byte offset of position 0's prepared activations
  readonly actStride: number // bytes of prepared activations per position
  readonly dstBuffer: number // index of the shared output buffer
  readonly dstOffset: number // float index of out[0][0] in it
  readonly chunkRows: number // rows per chunk (the unit threads take)
  readonly scratch: number // byte offset of thread 0's output scratch in `memory`
  readonly posTile: number // positions per kernel call
}

/**
 * Fills `job` with the parts (at most MAX_PARTS); returns the number of chunks. `glu`: the two
 * parts are gate and up of a gated FFN, taken together chunk by chunk (protocol.ts, J.glu).
 */
export function writeMatmulJob(job: Uint32Array, parts: readonly MatmulPart[], nPos: number, scratchPerThread: number, glu = false): number {
  if (parts.length < 1 || parts.length > MAX_PARTS) throw new RangeError(`a job holds 1..${MAX_PARTS} parts, got ${parts.length}`)
  if (glu && (parts.length !== 2 || parts[0].rows !== parts[1].rows || parts[0].chunkRows !== parts[1].chunkRows || parts[0].posTile !== parts[1].posTile)) {
    throw new RangeError('a gated job holds two parts with the same rows, chunk rows and position tile')
  }
  // A gated job's second part writes half a thread's scratch past the first (thread-context.ts).
  if (glu && parts[1].scratch !== parts[0].scratch + scratchPerThread / 2) throw new RangeError('a gated job\'s up rows go half a thread\'s scratch past its gate rows')
  const room = glu ? scratchPerThread / 2 : scratchPerThread
  let chunks = 0
  parts.forEach((p, i) => {
    if (!(p.chunkRows >= 1 && p.posTile >= 1 && p.chunkRows * Math.min(p.posTile, nPos) * 4 <= room)) {
      throw new RangeError(`part ${i}: ${p.chunkRows} rows x ${p.posTile} positions of output do not fit ${room} bytes of scratch`)
    }
    const b = JOB_HEADER_WORDS + i * PART_WORDS
    job[b + P.kernel] = p.kernel
    job[b + P.memory] = p.memory
    job[b + P.wPtr] = p.wPtr
    job[b + P.rowBytes] = p.rowBytes
    job[b + P.rows] = p.rows
    job[b + P.actPtr] = p.actPtr
    job[b + P.actStride] = p.actStride
    job[b + P.dstBuffer] = p.dstBuffer
    job[b + P.dstOffset] = p.dstOffset
    job[b + P.chunkRows] = p.chunkRows
    job[b + P.firstChunk] = glu ? 0 : chunks
    job[b + P.scratch] = p.scratch
    job[b + P.posTile] = p.posTile
    if (!glu || i === 0) chunks += Math.ceil(p.rows / p.chunkRows)
  })
  job[J.glu] = glu ? 1 : 0
  job[J.kind] = JOB_MATMUL
  job[J.nPos] = nPos
  job[J.nParts] = parts.length
  job[J.totalChunks] = chunks
  job[J.scratchPerThread] = scratchPerThread
  return chunks
}
