/**
 * The compute pool without a model: matrix jobs over a shared WebAssembly memory give, at 1, 2 and
 * 3 threads, exactly the scalar integer reference (Q4_K / Q6_K x Q8_K, Q8_0 x Q8_0) and exactly a
 * one-call kernel run (F32); chunks that do not divide the rows, position tiles, several parts per
 * job; a failing chunk is reported (naming the thread) and the pool keeps working; close() stops
 * the workers. Attention jobs equal the one-thread attention bit for bit.
 */
import {expect} from 'chai'

import {GGMLType} from '../../src/gguf/ggml-types.js'
import {Q4_K_BLOCK_BYTES, vecDotQ4KQ8K} from '../../src/kernels/q4_k.js'
import {Q6_K_BLOCK_BYTES, vecDotQ6KQ8K} from '../../src/kernels/q6_k.js'
import {Q8_0_BLOCK_BYTES, quantizeRowQ8_0, vecDotQ8_0Q8_0} from '../../src/kernels/q8_0.js'
import {Q8_K_BLOCK_BYTES, quantizeRowQ8K} from '../../src/kernels/q8_k.js'
import {quantizeRowQ4K, quantizeRowQ6K} from '../../src/kernels/quantize-k.js'
import {createSharedMemory, instantiateWasmKernels, requireWasmKernel} from '../../src/kernels/wasm/kernels-wasm.js'
import {LlmfragError} from '../../src/errors.js'
import {attendGroup} from '../../src/model/attention.js'
import {swiglu} from '../../src/model/ops.js'
import {writeAttentionJob} from '../../src/parallel/attention-job.js'
import {type MatmulPart, writeMatmulJob} from '../../src/parallel/matmul-job.js'
import {ComputePool} from '../../src/parallel/pool.js'
import {segmentStart} from '../../src/parallel/thread-context.js'
import {gaussian} from './kernels-support.js'

const COLS = 512 // values per row: 2 K-blocks, 16 Q8_0 blocks
const NPOS = 5
const SCRATCH = 4096 // bytes of output scratch per thread: 1024 floats
const MAX_THREADS = 3

/** One test matrix: its weights in the memory and the expected (NPOS, rows) product. */
interface Matrix {
  readonly type: GGMLType
  readonly rows: number
  readonly rowBytes: number
  readonly wPtr: number
  readonly expected: Float32Array
}

describe('parallel: ComputePool matrix jobs', () => {
  const memory = createSharedMemory(8 << 20)
  const heap = new Uint8Array(memory.buffer)
  const k = instantiateWasmKernels(memory)
  let top = 0
  const alloc = (bytes: number): number => {
    const at = Math.ceil(top / 64) * 64
    top = at + bytes
    return at
  }
  const x = gaussian(NPOS * COLS, 11) // (NPOS, COLS)
  const xPtr = alloc(x.byteLength)
  new Float32Array(memory.buffer, xPtr, x.length).set(x)
  const q8kx = requireWasmKernel(GGMLType.Q4_K)
  const q80x = requireWasmKernel(GGMLType.Q8_0)
  const actK = q8kx.prepare(k, xPtr, COLS, NPOS, alloc(q8kx.activationBytes(COLS) * NPOS))
  const act0 = q80x.prepare(k, xPtr, COLS, NPOS, alloc(q80x.activationBytes(COLS) * NPOS))
  const scratch = alloc(MAX_THREADS * SCRATCH)
  const out = new SharedArrayBuffer(4 * NPOS * 1024)
  const outF = new Float32Array(out)

  /** A quantized matrix of Gaussian rows and its product by the reference integer dot. */
  function quantMatrix(type: GGMLType, rows: number, seed: number): Matrix {
    const [blockBytes, blockValues, quantize, vecDot, q8Bytes, q8Block, qx] = type === GGMLType.Q4_K
      ? [Q4_K_BLOCK_BYTES, 256, quantizeRowQ4K, vecDotQ4KQ8K, Q8_K_BLOCK_BYTES, 256, quantizeRowQ8K]
      : type === GGMLType.Q6_K
        ? [Q6_K_BLOCK_BYTES, 256, quantizeRowQ6K, vecDotQ6KQ8K, Q8_K_BLOCK_BYTES, 256, quantizeRowQ8K]
        : [Q8_0_BLOCK_BYTES, 32, quantizeRowQ8_0, vecDotQ8_0Q8_0, Q8_0_BLOCK_BYTES, 32, quantizeRowQ8_0]
    const rowBytes = (COLS / blockValues) * blockBytes
    const w = new Uint8Array(rows * rowBytes)
    const g = gaussian(rows * COLS, seed, 0.02)
    for (let r = 0; r < rows; r++) quantize(g, r * COLS, COLS, w, r * rowBytes)
    const wPtr = alloc(w.length)
    heap.set(w, wPtr)
    const expected = new Float32Array(NPOS * rows)
    const q = new Uint8Array((COLS / q8Block) * q8Bytes)
    for (let p = 0; p < NPOS; p++) {
      qx(x, p * COLS, COLS, q, 0)
      for (let r = 0; r < rows; r++) expected[p * rows + r] = vecDot(w, r * rowBytes, COLS, q, 0)
    }
    return {type, rows, rowBytes, wPtr, expected}
  }

  /** An F32 matrix; expected from one kernel call over all rows and positions. */
  function f32Matrix(rows: number, seed: number): Matrix {
    const w = gaussian(rows * COLS, seed, 0.02)
    const wPtr = alloc(w.byteLength)
    new Float32Array(memory.buffer, wPtr, w.length).set(w)
    const o = alloc(4 * NPOS * rows)
    k.f32_matmul(wPtr, COLS * 4, rows, xPtr, NPOS, o)
    return {type: GGMLType.F32, rows, rowBytes: COLS * 4, wPtr, expected: new Float32Array(memory.buffer, o, NPOS * rows).slice()}
  }

  const q4 = quantMatrix(GGMLType.Q4_K, 77, 1)
  const q6 = quantMatrix(GGMLType.Q6_K, 45, 2)
  const q8 = quantMatrix(GGMLType.Q8_0, 31, 3)
  const f32 = f32Matrix(50, 4)

  /** A part writing matrix m's output at float `dst` of the output buffer (its kernel output `scratchAt` bytes into each thread's scratch). */
  function part(m: Matrix, dst: number, chunkRows: number, posTile: number, scratchAt = 0): MatmulPart {
    const [actPtr, actStride] = m.type === GGMLType.Q8_0 ? [act0, q80x.activationBytes(COLS)]
      : m.type === GGMLType.F32 ? [xPtr, COLS * 4] : [actK, q8kx.activationBytes(COLS)]
    return {kernel: m.type, memory: 0, wPtr: m.wPtr, rowBytes: m.rowBytes, rows: m.rows, actPtr, actStride, dstBuffer: 0, dstOffset: dst,
      chunkRows, scratch: scratch + scratchAt, posTile}
  }

  for (const threads of [1, 2, 3]) {
    describe(`${threads} thread${threads > 1 ? 's' : ''}`, () => {
      let pool: ComputePool
      before(async () => {
        pool = await ComputePool.create({threads, memories: [memory], buffers: [out]})
      })
      after(async () => pool?.close())

      it('has the threads it was asked for', () => expect(pool.threads).to.equal(threads))

      it('is warm right after a job and cold after a pause of 10 ms (matmul-fast.ts cuts one position into blocks only when warm)', () => {
        writeMatmulJob(pool.job, [part(q4, 0, 8, 1)], 1, SCRATCH)
        pool.run()
        expect(pool.warm).to.equal(true)
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10)
        expect(pool.warm).to.equal(false)
      })

      for (const [label, chunkRows, posTile] of [['7-row chunks, 2-position tiles', 7, 2], ['1-row chunks, 5-position tiles', 1, 5], ['64-row chunks, 1-position tiles', 64, 1]] as const) {
        it(`Q4_K + Q6_K + Q8_0 + F32 in one job (${label}): every output equals the reference bit for bit`, () => {
          const mats = [q4, q6, q8, f32]
          let at = 0
          const offsets = mats.map((m) => (at += m.rows * NPOS) - m.rows * NPOS)
          outF.fill(NaN)
          const chunks = writeMatmulJob(pool.job, mats.map((m, i) => part(m, offsets[i], chunkRows, posTile)), NPOS, SCRATCH)
          expect(chunks).to.equal(mats.reduce((s, m) => s + Math.ceil(m.rows / chunkRows), 0))
          pool.run()
          mats.forEach((m, i) => {
            const got = outF.subarray(offsets[i], offsets[i] + m.rows * NPOS)
            const bad = got.findIndex((v, j) => v !== m.expected[j])
            expect(bad, `${GGMLType[m.type]}: first differing output (position ${Math.floor(bad / m.rows)}, row ${bad % m.rows})`).to.equal(-1)
          })
        })
      }

      it('a gated job (gate, up) writes swiglu(gate, up) into gate\'s output, chunk by chunk (the kernels\' swiglu, as ops.ts\'s bit for bit), and leaves up\'s untouched', () => {
        const up = quantMatrix(GGMLType.Q4_K, 77, 9)
        const want = q4.expected.slice()
        swiglu(want, up.expected.slice(), want.length)
        for (const [chunkRows, posTile] of [[7, 2], [64, 5]]) {
          outF.fill(NaN)
          const chunks = writeMatmulJob(pool.job, [part(q4, 0, chunkRows, posTile), part(up, q4.rows * NPOS, chunkRows, posTile, SCRATCH / 2)], NPOS, SCRATCH, true)
          expect(chunks).to.equal(Math.ceil(q4.rows / chunkRows))
          pool.run()
          const got = outF.subarray(0, q4.rows * NPOS)
          const bad = got.findIndex((v, j) => v !== want[j])
          expect(bad, `${chunkRows}-row chunks: first differing output (position ${Math.floor(bad / q4.rows)}, row ${bad % q4.rows})`).to.equal(-1)
          expect(outF.subarray(q4.rows * NPOS, 2 * q4.rows * NPOS).every((v) => Number.isNaN(v))).to.equal(true)
        }
      })

      it('one position in blocks (each thread\'s share: a lead chunk, then short chunks, past a last block that ends early) equals the reference bit for bit, one part, three and gated', () => {
        const x1 = (m: Matrix): Float32Array => m.expected.subarray(0, m.rows) // position 0
        for (const [blocks, lead, chunkRows] of [[threads, 20, 3], [2 * threads, 9, 2], [3, 13, 7], [threads, 0, 5]]) {
          const what = `${blocks} blocks, lead ${lead}, chunks of ${chunkRows}`
          const mats = [q4, q6, q8]
          let at = 0
          const offsets = mats.map((m) => (at += m.rows) - m.rows)
          outF.fill(NaN)
          const parts = mats.map((m, i) => ({...part(m, offsets[i], chunkRows, 1), leadRows: Math.min(lead, Math.ceil(m.rows / blocks))}))
          const chunks = writeMatmulJob(pool.job, parts, 1, SCRATCH, false, blocks)
          expect(chunks % blocks, what).to.equal(0)
          pool.run()
          mats.forEach((m, i) => expect([...outF.subarray(offsets[i], offsets[i] + m.rows)], `${what}: ${GGMLType[m.type]}`).to.deep.equal([...x1(m)]))
          const up = quantMatrix(GGMLType.Q4_K, 77, 9)
          const want = x1(q4).slice()
          swiglu(want, x1(up).slice(), want.length)
          outF.fill(NaN)
          writeMatmulJob(pool.job, [{...part(q4, 0, chunkRows, 1), leadRows: lead}, {...part(up, q4.rows, chunkRows, 1, SCRATCH / 2), leadRows: lead}], 1, SCRATCH, true, blocks)
          pool.run()
          expect([...outF.subarray(0, q4.rows)], `${what}: gated`).to.deep.equal([...want])
        }
      })

      it('one position (decoding) writes only its row range', () => {
        outF.fill(-1)
        writeMatmulJob(pool.job, [part(q4, 3, 5, 1)], 1, SCRATCH)
        pool.run()
        expect(outF[2]).to.equal(-1)
        expect([...outF.subarray(3, 3 + q4.rows)]).to.deep.equal([...q4.expected.subarray(0, q4.rows)])
        expect(outF[3 + q4.rows]).to.equal(-1)
      })

      it('a failing chunk is reported with its thread, and the pool keeps working', () => {
        // BF16 has no WebAssembly kernel: every chunk of this part throws on whichever thread takes it.
        writeMatmulJob(pool.job, [{...part(q4, 0, 4, 1), kernel: GGMLType.BF16}], NPOS, SCRATCH)
        expect(() => pool.run()).to.throw(LlmfragError, /compute thread \d failed: no WebAssembly kernel for tensor type BF16/)
        outF.fill(NaN)
        writeMatmulJob(pool.job, [part(q6, 0, 4, 3)], NPOS, SCRATCH)
        pool.run()
        expect([...outF.subarray(0, q6.rows * NPOS)]).to.deep.equal([...q6.expected])
      })
    })
  }

  it('writeMatmulJob refuses a tile that does not fit the scratch, jobs of 0 or 5 parts, and gated jobs of unlike parts', () => {
    const job = new Uint32Array(128)
    expect(() => writeMatmulJob(job, [part(q4, 0, 300, 5)], NPOS, SCRATCH)).to.throw(RangeError, /do not fit 4096 bytes/)
    expect(() => writeMatmulJob(job, [], NPOS, SCRATCH)).to.throw(RangeError)
    expect(() => writeMatmulJob(job, Array.from({length: 5}, () => part(q4, 0, 4, 1)), NPOS, SCRATCH)).to.throw(RangeError)
    expect(() => writeMatmulJob(job, [part(q4, 0, 4, 1), part(q6, 0, 4, 1)], NPOS, SCRATCH, true)).to.throw(RangeError, /gated job/)
    expect(() => writeMatmulJob(job, [part(q4, 0, 4, 1)], NPOS, SCRATCH, true)).to.throw(RangeError, /gated job/)
    expect(() => writeMatmulJob(job, [part(q4, 0, 4, 1), part(q4, 0, 4, 1)], NPOS, SCRATCH, true)).to.throw(RangeError, /half a thread's scratch/)
    expect(() => writeMatmulJob(job, [part(q4, 0, 110, 5), part(q4, 0, 110, 5, SCRATCH / 2)], NPOS, SCRATCH, true)).to.throw(RangeError, /do not fit 2048 bytes/)
    expect(() => writeMatmulJob(job, [{...part(q4, 0, 4, 1), rows: 2000, leadRows: 1100}], 1, SCRATCH, false, 1)).to.throw(RangeError, /1100 rows x 1 positions of output do not fit 4096 bytes/)
    expect(() => writeMatmulJob(job, [{...part(q4, 0, 4, 1), leadRows: 40}], 1, SCRATCH, false, 2)).to.throw(RangeError, /2 blocks of 39 rows \(a lead chunk of 40\) for 77 rows/)
    expect(() => writeMatmulJob(job, [{...part(q4, 0, 4, 1), blockRows: 30}], 1, SCRATCH, false, 2)).to.throw(RangeError, /2 blocks of 30 rows/)
    expect(() => writeMatmulJob(job, [{...part(q4, 0, 4, 1), leadRows: 8}, part(q4, 0, 4, 1, SCRATCH / 2)], 1, SCRATCH, true, 2)).to.throw(RangeError, /gated job/)
  })

  it('segments cut the chunks into contiguous runs, one per thread, covering all of them', () => {
    for (const [total, threads] of [[10, 3], [2, 3], [0, 2], [129, 2], [7, 1]]) {
      const starts = Array.from({length: threads + 1}, (_, t) => segmentStart(t, total, threads))
      expect(starts[0]).to.equal(0)
      expect(starts[threads]).to.equal(total)
      for (let t = 0; t < threads; t++) expect(starts[t + 1] - starts[t]).to.be.within(Math.floor(total / threads), Math.ceil(total / threads))
    }
  })

  it('refuses a thread count outside 1..64, and a closed pool', async () => {
    for (const threads of [0, 1.5, 65]) {
      await ComputePool.create({threads, memories: [memory], buffers: [out]}).then(
        () => expect.fail(`threads ${threads} accepted`),
        (err: unknown) => expect(err).to.be.instanceOf(LlmfragError).with.property('code', 'BAD_INPUT'))
    }
    const pool = await ComputePool.create({threads: 2, memories: [memory], buffers: [out]})
    await pool.close()
    await pool.close() // idempotent
    expect(() => pool.run()).to.throw(LlmfragError, /closed/)
  })
})

describe('parallel: ComputePool attention jobs', () => {
  // Magistral-like widths: 8 query heads over 2 kv heads, head dims 64 (keys) and 32 (values).
  const dims = {heads: 8, kvHeads: 2, headDim: 64, headDimV: 32}
  const ctx = 40
  const n = 5
  const pos0 = 30
  const shared = (values: Float32Array): Float32Array => {
    const a = new Float32Array(new SharedArrayBuffer(values.byteLength))
    a.set(values)
    return a
  }
  const q = shared(gaussian(n * dims.heads * dims.headDim, 21))
  const keys = shared(gaussian(ctx * dims.kvHeads * dims.headDim, 22))
  const values = shared(gaussian(ctx * dims.kvHeads * dims.headDimV, 23))
  const outLength = n * dims.heads * dims.headDimV
  const memory = createSharedMemory(1 << 16)

  // Expected: the single-thread unit of work for every (position, kv head).
  const expected = new Float32Array(outLength)
  const att = new Float64Array(ctx)
  const acc = new Float64Array(dims.headDimV)
  for (let p = 0; p < n; p++) for (let g = 0; g < dims.kvHeads; g++) attendGroup(dims, q, 0, keys, values, expected, 0, p, pos0, g, att, acc)

  for (const threads of [1, 2, 3]) {
    it(`${threads} thread${threads > 1 ? 's' : ''}: equal to attendGroup on one thread, bit for bit, output placed at its offset`, async () => {
      const out = new Float32Array(new SharedArrayBuffer(4 * (outLength + 16))).fill(-7)
      const pool = await ComputePool.create({threads, memories: [memory], buffers: [q.buffer as SharedArrayBuffer, keys.buffer as SharedArrayBuffer, values.buffer as SharedArrayBuffer, out.buffer as SharedArrayBuffer]})
      try {
        const chunks = writeAttentionJob(pool.job, {dims, n, pos0, q: {buffer: 0, offset: 0}, keys: 1, values: 2, out: {buffer: 3, offset: 8}})
        expect(chunks).to.equal(n * dims.kvHeads)
        pool.run()
        expect([...out.subarray(0, 8)]).to.deep.equal(new Array(8).fill(-7))
        expect(out.subarray(8, 8 + outLength).every((v, i) => v === expected[i])).to.equal(true)
        expect([...out.subarray(8 + outLength)]).to.deep.equal(new Array(8).fill(-7))
      } finally {
        await pool.close()
      }
    })
  }
})
