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
  /** Rows of each block's first chunk (0: every chunk chunkRows; see writeMatmulJob's blocks). */
  readonly leadRows?: number
  /** Rows of a block (default ceil(rows / blocks); the grouped layout's are whole groups). */
  readonly blockRows?: number
}

/**
 * Fills `job` with the parts (at most MAX_PARTS); returns the number of chunks. `glu`: the two
 * parts are gate and up of a gated FFN, taken together chunk by chunk (protocol.ts, J.glu).
 * `blocks`: each part's rows are cut into that many blocks of blockRows rows, block b's chunks
 * (a lead chunk of leadRows rows if given, then chunks of chunkRows) in the b-th run of the job's
 * chunks; with as many blocks as threads, each thread's segment is one block of every part.
 */
export function writeMatmulJob(job: Uint32Array, parts: readonly MatmulPart[], nPos: number, scratchPerThread: number, glu = false, blocks = 1): number {
  if (parts.length < 1 || parts.length > MAX_PARTS) throw new RangeError(`a job holds 1..${MAX_PARTS} parts, got ${parts.length}`)
  if (glu && (parts.length !== 2 || parts[0].rows !== parts[1].rows || parts[0].chunkRows !== parts[1].chunkRows || parts[0].posTile !== parts[1].posTile
    || parts[0].leadRows !== parts[1].leadRows || parts[0].blockRows !== parts[1].blockRows)) {
    throw new RangeError('a gated job holds two parts with the same rows, chunk rows, lead and block rows and position tile')
  }
  // A gated job's second part writes half a thread's scratch past the first (thread-context.ts).
  if (glu && parts[1].scratch !== parts[0].scratch + scratchPerThread / 2) throw new RangeError('a gated job\'s up rows go half a thread\'s scratch past its gate rows')
  const room = glu ? scratchPerThread / 2 : scratchPerThread
  let chunks = 0 // per block
  parts.forEach((p, i) => {
    const lead = p.leadRows ?? 0
    const blockRows = p.blockRows ?? Math.ceil(p.rows / blocks)
    if (!(p.chunkRows >= 1 && p.posTile >= 1 && Math.max(p.chunkRows, lead) * Math.min(p.posTile, nPos) * 4 <= room)) {
      throw new RangeError(`part ${i}: ${Math.max(p.chunkRows, lead)} rows x ${p.posTile} positions of output do not fit ${room} bytes of scratch`)
    }
    if (!(Number.isInteger(blocks) && blocks >= 1 && blocks * blockRows >= p.rows && lead >= 0 && lead <= blockRows)) {
      throw new RangeError(`part ${i}: ${blocks} blocks of ${blockRows} rows (a lead chunk of ${lead}) for ${p.rows} rows`)
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
    job[b + P.leadRows] = lead
    job[b + P.blockRows] = blockRows
    if (!glu || i === 0) chunks += lead > 0 ? 1 + Math.ceil((blockRows - lead) / p.chunkRows) : Math.ceil(blockRows / p.chunkRows)
  })
  job[J.blocks] = blocks
  chunks *= blocks
  job[J.glu] = glu ? 1 : 0
  job[J.kind] = JOB_MATMUL
  job[J.nPos] = nPos
  job[J.nParts] = parts.length
  job[J.totalChunks] = chunks
  job[J.scratchPerThread] = scratchPerThread
  return chunks
}
