/**
 * The WebAssembly SIMD kernels against the scalar references: the 8-bit paths (Q4_K, Q6_K, Q8_0
 * with quantized activations) bit for bit, the float paths (F32, F16, and Q4_K / Q6_K with f32
 * activations) within 1e-5 relative to sum |w x|. Rows are odd in number, rows have 1 to 17
 * blocks, batches have 1 to 35 positions (the 8-bit paths: every count 1..20 and 33, so every pass
 * size 1..8 and multi-pass splits), and the weights start at unaligned offsets of a shared memory,
 * as the engine's arena may place them.
 */
import {expect} from 'chai'
import {readdirSync, readFileSync, statSync} from 'node:fs'

import {GGMLType} from '../../src/gguf/ggml-types.js'
import {f32ToFp16} from '../../src/kernels/fp16.js'
import {dotRowF16} from '../../src/kernels/f16.js'
import {dotRowF32} from '../../src/kernels/f32.js'
import {dotRowQ4K, dequantizeRowQ4K, Q4_K_BLOCK_BYTES, vecDotQ4KQ8K} from '../../src/kernels/q4_k.js'
import {dequantizeRowQ6K, dotRowQ6K, Q6_K_BLOCK_BYTES, vecDotQ6KQ8K} from '../../src/kernels/q6_k.js'
import {Q8_0_BLOCK_BYTES, quantizeRowQ8_0, vecDotQ8_0Q8_0} from '../../src/kernels/q8_0.js'
import {Q8_K_BLOCK_BYTES, quantizeRowQ8K} from '../../src/kernels/q8_k.js'
import {quantizeRowQ4K, quantizeRowQ6K} from '../../src/kernels/quantize-k.js'
import {
  BYTE_ACTIVATION_MIN_COLS, createSharedMemory, instantiateWasmKernels, Q80X_BLOCK_BYTES, Q8KB_BLOCK_BYTES, Q8KX_BLOCK_BYTES, requireWasmKernel,
  WASM_PATH, wasmFloatKernelFor, wasmKernelFor, type WasmKernelExports,
} from '../../src/kernels/wasm/kernels-wasm.js'
import {columnChunks, groupRows, ROW_GROUP} from '../../src/kernels/wasm/grouped.js'
import {swiglu} from '../../src/model/ops.js'
import {extremeActivations, gaussian, putU16, randomQuantRows, referenceDots, setExtremeQ4K, TestHeap} from './kernels-support.js'

/** Float path: |fast - reference| / sum |w x| (f32 lanes vs the reference's f64 sum). */
const MAX_FLOAT_REL = 1e-5

const memory = createSharedMemory(32 << 20)
const heap = new Uint8Array(memory.buffer)
let k: WasmKernelExports

const arena = new TestHeap(heap)
const alloc = (bytes: number, misalign = 0): number => arena.alloc(bytes, misalign)

describe('kernels: WebAssembly SIMD vs reference', function () {
  before(() => {
    k = instantiateWasmKernels(memory)
  })
  afterEach(() => {
    arena.top = TestHeap.START
  })

  it('is built from the current source and keeps the memory contract (imports env.memory only, no data)', () => {
    for (const f of readdirSync('assembly').filter((n) => n.endsWith('.ts'))) {
      expect(statSync(WASM_PATH).mtimeMs, `dist/wasm/kernels.wasm is older than assembly/${f}: npm run build:wasm`).to.be.at.least(statSync(`assembly/${f}`).mtimeMs)
    }
    const bytes = readFileSync(WASM_PATH)
    const sections: number[] = []
    const globalTypes: number[] = []
    let p = 8
    const leb = (): number => {
      let v = 0, shift = 0, b: number
      do {
        b = bytes[p++]
        v |= (b & 0x7f) << shift
        shift += 7
      } while (b & 0x80)
      return v
    }
    while (p < bytes.length) {
      const id = bytes[p++]
      const size = leb()
      const end = p + size
      sections.push(id)
      if (id === 6) { // globals: each a value type, a mutability byte and an init expression
        for (let n = leb(); n > 0; n--) {
          globalTypes.push(bytes[p])
          p += 2
          while (bytes[p++] !== 0x0b); // the init expression up to its end (a v128.const holds no 0x0b here: zero)
        }
      }
      p = end
    }
    expect(sections).to.not.include(11) // data
    expect(sections).to.not.include(5) // own memory
    expect(globalTypes, 'one global, a v128 holding no address (q4_k_lanes.ts pending)').to.deep.equal([0x7b])
    expect(sections).to.not.include(8) // start: nothing runs at instantiation
    const mod = (globalThis as unknown as {WebAssembly: {Module: {imports(m: object): unknown; exports(m: object): Array<{name: string}>}}}).WebAssembly
    const m = new (globalThis as unknown as {WebAssembly: {Module: new (b: Uint8Array) => object}}).WebAssembly.Module(bytes)
    expect(mod.Module.imports(m)).to.deep.equal([{module: 'env', name: 'memory', kind: 'memory'}])
    expect(mod.Module.exports(m).map((e) => e.name).sort()).to.deep.equal([
      'attend_group', 'f16_matmul', 'f32_matmul', 'prepare_f32x', 'q4k_f32_matmul', 'q4k_lanes', 'q4k_matmul', 'q4k_matmul_g', 'q4k_matmul_l', 'q4k_matmul_l_g', 'q4k_matvec_l',
      'q4k_matvec_l_g', 'q4k_matvec_y', 'q4k_matvec_y_g', 'q6k_f32_matmul', 'q6k_lanes', 'q6k_matmul', 'q6k_matmul_g', 'q6k_matmul_l', 'q6k_matmul_l_g', 'q6k_matvec_b', 'q8_0_matmul', 'quantize_q8_0x', 'quantize_q8k', 'quantize_q8kb',
      'quantize_q8kl', 'quantize_q8kly', 'quantize_q8kn', 'quantize_q8kx', 'quantize_q8ky', 'swiglu',
    ])
  })

  it('quantize_q8k is byte-identical to quantizeRowQ8K (including an all-zero block)', () => {
    const n = 5 * 256
    const x = gaussian(n, 1, 3)
    x.fill(0, 512, 768)
    x[1000] = -50 // a negative extreme
    const xp = arena.putFloats(x, 4)
    const out = alloc(5 * Q8_K_BLOCK_BYTES, 3)
    k.quantize_q8k(xp, n, out)
    const ref = new Uint8Array(5 * Q8_K_BLOCK_BYTES)
    quantizeRowQ8K(x, 0, n, ref, 0)
    expect(Buffer.from(heap.subarray(out, out + ref.length)).equals(Buffer.from(ref))).to.equal(true)
  })

  it('quantize_q8kx holds the same d and q as Q8_K, de-interleaved, with 32- and 16-value sums', () => {
    const n = 3 * 256
    const x = gaussian(n, 2)
    // Block 1: the largest magnitude twice, negative first (its sign sets d); block 2: the largest
    // value last. Larger values right after the input must not be read.
    x[256 + 40] = -9
    x[256 + 200] = 9
    x[n - 1] = 7.5
    const xp = arena.putFloats(Float32Array.from([...x, ...new Array<number>(64).fill(1e6)]))
    const out = alloc(3 * Q8KX_BLOCK_BYTES)
    k.quantize_q8kx(xp, n, out)
    const ref = new Uint8Array(3 * Q8_K_BLOCK_BYTES)
    quantizeRowQ8K(x, 0, n, ref, 0)
    const v = new DataView(memory.buffer)
    const rv = new DataView(ref.buffer)
    expect(rv.getFloat32(Q8_K_BLOCK_BYTES, true)).to.be.above(0) // d = max / -127 with max = -9
    for (let b = 0; b < 3; b++) {
      const o = out + b * Q8KX_BLOCK_BYTES, r = b * Q8_K_BLOCK_BYTES
      expect(v.getFloat32(o, true)).to.equal(rv.getFloat32(r, true))
      for (let j = 0; j < 256; j++) {
        const g = j >> 4, kk = j & 15
        expect(v.getInt16(o + 16 + 32 * g + (kk & 1) * 16 + 2 * (kk >> 1), true), `value ${j}`).to.equal(rv.getInt8(r + 4 + j))
      }
      for (let g = 0; g < 16; g++) expect(v.getInt16(o + 544 + 2 * g, true)).to.equal(rv.getInt16(r + 260 + 2 * g, true))
      for (let s = 0; s < 8; s++) {
        expect(v.getInt16(o + 528 + 2 * s, true)).to.equal(rv.getInt16(r + 260 + 4 * s, true) + rv.getInt16(r + 262 + 4 * s, true))
      }
    }
  })

  it('quantize_q8kb holds the values of quantize_q8kx as bytes, with the same sums', () => {
    const n = 3 * 256
    const x = gaussian(n, 5)
    x.fill(0, 256, 512) // an all-zero block
    const xp = arena.putFloats(x)
    const wide = alloc(3 * Q8KX_BLOCK_BYTES)
    const bytes = alloc(3 * Q8KB_BLOCK_BYTES)
    heap.fill(0x5a, bytes, bytes + 3 * Q8KB_BLOCK_BYTES)
    k.quantize_q8kx(xp, n, wide)
    k.quantize_q8kb(xp, n, bytes)
    const v = new DataView(memory.buffer)
    for (let b = 0; b < 3; b++) {
      const o = bytes + b * Q8KB_BLOCK_BYTES, w = wide + b * Q8KX_BLOCK_BYTES
      expect(v.getFloat32(o, true)).to.equal(v.getFloat32(w, true))
      for (let j = 0; j < 256; j++) expect(v.getInt8(o + 16 + j), `block ${b} value ${j}`).to.equal(v.getInt16(w + 16 + 2 * j, true))
      for (let s = 0; s < 24; s++) expect(v.getInt16(o + 272 + 2 * s, true), `block ${b} sum ${s}`).to.equal(v.getInt16(w + 528 + 2 * s, true))
    }
  })

  it('quantize_q8ky holds the values of quantize_q8kx times their Q4_K lane factors, with the same d and sums', () => {
    const n = 3 * 256
    const x = gaussian(n, 6)
    x.fill(0, 256, 512) // an all-zero block
    x[40] = -9 // the extreme, negative: a value of -127 x 256 must still fit
    const xp = arena.putFloats(x)
    const wide = alloc(3 * Q8KX_BLOCK_BYTES)
    const scaled = alloc(3 * Q8KX_BLOCK_BYTES)
    k.quantize_q8kx(xp, n, wide)
    k.quantize_q8ky(xp, n, scaled)
    const v = new DataView(memory.buffer)
    expect(v.getInt16(wide + 16 + 32 * 2 + 2 * 4, true)).to.equal(-127) // value 40: group 2, even
    for (let b = 0; b < 3; b++) {
      const o = scaled + b * Q8KX_BLOCK_BYTES, w = wide + b * Q8KX_BLOCK_BYTES
      expect(v.getFloat32(o, true)).to.equal(v.getFloat32(w, true))
      for (let g = 0; g < 16; g++) {
        const [even, odd] = (g & 2) === 0 ? [256, 1] : [16, 256] // sub-block A, B of the group's chunk
        for (let j = 0; j < 16; j++) {
          const at = 16 + 32 * g + 2 * j
          expect(v.getInt16(o + at, true), `block ${b} group ${g} lane ${j}`).to.equal(v.getInt16(w + at, true) * (j < 8 ? even : odd))
        }
      }
      for (let s = 0; s < 24; s++) expect(v.getInt16(o + 528 + 2 * s, true), `block ${b} sum ${s}`).to.equal(v.getInt16(w + 528 + 2 * s, true))
    }
  })

  it('wasmKernelFor picks Q8KY for one position of Q4_K, Q8KB for one position of a wide Q6_K matrix', () => {
    for (const type of [GGMLType.Q4_K, GGMLType.Q6_K]) {
      const one = type === GGMLType.Q4_K ? 'q8ky' : 'q8kb'
      const wide = wasmKernelFor(type, {cols: BYTE_ACTIVATION_MIN_COLS, nPos: 1})
      expect(wide?.format).to.equal(one)
      expect(requireWasmKernel(wide?.id ?? -1)).to.equal(wide) // as worker threads look it up
      expect(wasmKernelFor(type, {cols: BYTE_ACTIVATION_MIN_COLS - 256, nPos: 1})?.format).to.equal(type === GGMLType.Q4_K ? 'q8ky' : 'q8kx')
      expect(wasmKernelFor(type, {cols: 14336, nPos: 2})?.format).to.equal('q8kx')
      expect(wasmKernelFor(type)?.format).to.equal('q8kx')
      const grouped = [wasmKernelFor(type, {cols: 14336, nPos: 1}, {grouped: true}), wasmKernelFor(type, {cols: 14336, nPos: 3}, {grouped: true})]
      expect(grouped.map((g) => g?.format)).to.deep.equal([type === GGMLType.Q4_K ? 'q8ky' : 'q8kx', 'q8kx'])
      for (const g of [wide, ...grouped]) expect(requireWasmKernel(g?.id ?? -1)).to.equal(g)
      expect(new Set([wide, ...grouped, wasmKernelFor(type)].map((g) => g?.id)).size).to.equal(type === GGMLType.Q4_K ? 4 : 3) // Q6_K: one grouped kernel
    }
    expect(wasmKernelFor(GGMLType.Q8_0, {cols: 14336, nPos: 1})?.format).to.equal('q80x')
  })

  const intCases: Array<[string, GGMLType, number, number[], typeof vecDotQ4KQ8K, typeof quantizeRowQ4K]> = [
    ['Q4_K', GGMLType.Q4_K, Q4_K_BLOCK_BYTES, [0, 2], vecDotQ4KQ8K, quantizeRowQ4K],
    ['Q6_K', GGMLType.Q6_K, Q6_K_BLOCK_BYTES, [208], vecDotQ6KQ8K, quantizeRowQ6K],
  ]
  for (const [name, type, blockBytes, halfAt, vecDot, quantize] of intCases) {
    for (const [blocks, rows, nPos, byteActs] of [[1, 1, 1, 0], [3, 7, 1, 0], [17, 5, 3, 0], [16, 2, 2, 0], [2, 3, 35, 0], [1, 3, 1, 1], [3, 7, 1, 1], [56, 5, 1, 1], [130, 3, 1, 1], [17, 4, 3, 1]]) {
      const format = nPos > 1 ? 'q8kx' : type === GGMLType.Q4_K ? 'q8ky' : byteActs ? 'q8kb' : 'q8kx'
      const layout = format === 'q8kx' ? '' : ` (${format.toUpperCase()} activations)`
      it(`${name} x Q8_K${layout}: ${rows} rows of ${blocks} blocks, ${nPos} position(s), equal to the reference bit for bit`, () => {
        const n = 256 * blocks
        const rowBytes = blocks * blockBytes
        // Half the rows are random bytes (every bit pattern), half are quantized Gaussians.
        const w = randomQuantRows(blockBytes, halfAt, blocks * rows, 10 * blocks + rows)
        const g = gaussian(n, 3, 0.02)
        for (let r = 1; r < rows; r += 2) quantize(g, 0, n, w, r * rowBytes)
        const wp = alloc(w.length, 5)
        heap.set(w, wp)
        const x = gaussian(n * nPos, 4 + blocks)
        const xp = arena.putFloats(x)
        const kernel = wasmKernelFor(type, {cols: n, nPos}, {byteMinCols: byteActs ? 0 : BYTE_ACTIVATION_MIN_COLS})
        if (!kernel) throw new Error(`no kernel for ${name}`)
        expect(kernel.format).to.equal(format)
        const act = alloc(kernel.activationBytes(n) * nPos, 16)
        const out = alloc(4 * rows * nPos)
        kernel.matmul(k, wp, rowBytes, rows, kernel.prepare(k, xp, n, nPos, act), nPos, out)
        const got = arena.floatsAt(out, rows * nPos)
        const q8 = new Uint8Array((n / 256) * Q8_K_BLOCK_BYTES)
        for (let p = 0; p < nPos; p++) {
          quantizeRowQ8K(x, p * n, n, q8, 0)
          for (let r = 0; r < rows; r++) {
            expect(got[p * rows + r], `row ${r} position ${p}`).to.equal(vecDot(w, r * rowBytes, n, q8, 0))
          }
        }
      })
    }
  }

  // Batched 8-bit products run in passes of up to 8 positions that share one decode of each weight
  // block (counts cut into near-equal passes, swept two at a time, a pass's first output slot used
  // as a scratch store): every count 1..20 and 33, odd row counts, several blocks, a misaligned
  // matrix, and guard bytes on both sides of the output that must stay untouched.
  const batchCases: Array<[string, GGMLType, number, number[], number, number, typeof vecDotQ4KQ8K, typeof quantizeRowQ8K]> = [
    ['Q4_K', GGMLType.Q4_K, Q4_K_BLOCK_BYTES, [0, 2], 256, Q8_K_BLOCK_BYTES, vecDotQ4KQ8K, quantizeRowQ8K],
    ['Q6_K', GGMLType.Q6_K, Q6_K_BLOCK_BYTES, [208], 256, Q8_K_BLOCK_BYTES, vecDotQ6KQ8K, quantizeRowQ8K],
    ['Q8_0', GGMLType.Q8_0, Q8_0_BLOCK_BYTES, [0], 32, Q8_0_BLOCK_BYTES, vecDotQ8_0Q8_0, quantizeRowQ8_0],
  ]
  for (const [name, type, blockBytes, halfAt, blockValues, refBlockBytes, vecDot, quantizeAct] of batchCases) {
    it(`${name}: batches of 1..20 and 33 positions (odd rows, several blocks) equal the reference bit for bit and write only their output`, () => {
      const blocks = type === GGMLType.Q8_0 ? 7 : 3
      const n = blockValues * blocks
      const rowBytes = blocks * blockBytes
      const maxPos = 33
      const kernel = requireWasmKernel(type)
      const x = gaussian(n * maxPos, 60 + blocks, 1.5)
      const xp = arena.putFloats(x)
      const act = alloc(kernel.activationBytes(n) * maxPos, 16)
      const q = new Uint8Array((n / blockValues) * refBlockBytes)
      const want: number[][] = [] // [position][row], for the largest row count
      const maxRows = 9
      const w = randomQuantRows(blockBytes, halfAt, blocks * maxRows, 61)
      const wp = alloc(w.length, 7)
      heap.set(w, wp)
      for (let p = 0; p < maxPos; p++) {
        quantizeAct(x, p * n, n, q, 0)
        want.push(Array.from({length: maxRows}, (_, r) => vecDot(w, r * rowBytes, n, q, 0)))
      }
      const guard = 64
      const mark = arena.top
      for (const rows of [1, 3, 5, 9]) {
        for (const nPos of [...Array.from({length: 20}, (_, i) => i + 1), 33]) {
          const out = alloc(4 * rows * nPos + 2 * guard) + guard
          heap.fill(0xa5, out - guard, out + 4 * rows * nPos + guard)
          kernel.matmul(k, wp, rowBytes, rows, kernel.prepare(k, xp, n, nPos, act), nPos, out)
          const got = arena.floatsAt(out, rows * nPos)
          for (let p = 0; p < nPos; p++) {
            for (let r = 0; r < rows; r++) expect(got[p * rows + r], `${rows} rows, ${nPos} positions: row ${r} position ${p}`).to.equal(want[p][r])
          }
          const before = heap.subarray(out - guard, out), after = heap.subarray(out + 4 * rows * nPos, out + 4 * rows * nPos + guard)
          expect(before.every((b) => b === 0xa5) && after.every((b) => b === 0xa5), `${rows} rows, ${nPos} positions: bytes outside the output changed`).to.equal(true)
        }
        arena.top = mark // reuse the output space for the next row count
      }
    })
  }

  // The grouped layout (grouped.ts) of matrices wider than 32 blocks: the kernels get whole groups
  // of ROW_GROUP rows at a time (the engine's chunks), the matrix's last group shorter; one position
  // and batches across pass boundaries equal the reference.
  it('groupRows puts each column chunk of a group of rows in one contiguous run', () => {
    const nb = 130, blockBytes = 3, rows = ROW_GROUP + 3
    const m = Uint8Array.from({length: rows * nb * blockBytes}, (_, i) => i % 251)
    const plain = m.slice()
    groupRows(m, rows, nb, blockBytes)
    expect(columnChunks(nb)).to.deep.equal([[0, 15], [15, 15], [30, 15], [45, 15], [60, 15], [75, 15], [90, 15], [105, 15], [120, 10]])
    expect(columnChunks(56)).to.deep.equal([[0, 14], [14, 14], [28, 14], [42, 14]])
    expect(columnChunks(128)).to.deep.equal(Array.from({length: 8}, (_, i) => [16 * i, 16]))
    for (const [g0, g] of [[0, ROW_GROUP], [ROW_GROUP, 3]]) {
      let at = g0 * nb * blockBytes
      for (const [c0, n] of columnChunks(nb)) {
        for (let r = 0; r < g; r++) {
          const from = ((g0 + r) * nb + c0) * blockBytes
          expect(Buffer.from(m.subarray(at, at + n * blockBytes)).equals(Buffer.from(plain.subarray(from, from + n * blockBytes))), `rows ${g0 + r}, chunk ${c0}`).to.equal(true)
          at += n * blockBytes
        }
      }
    }
  })

  const groupedCases: Array<[string, GGMLType, number, number[], typeof vecDotQ4KQ8K]> = [
    ['Q4_K', GGMLType.Q4_K, Q4_K_BLOCK_BYTES, [0, 2], vecDotQ4KQ8K],
    ['Q6_K', GGMLType.Q6_K, Q6_K_BLOCK_BYTES, [208], vecDotQ6KQ8K],
  ]
  for (const [name, type, blockBytes, halfAt, vecDot] of groupedCases) {
    it(`${name} grouped layout: a group and 5 rows of 130 blocks in calls of whole groups, 1, 2, 9 and 17 positions, equal to the reference bit for bit`, () => {
      const blocks = 130, rows = ROW_GROUP + 5, n = 256 * blocks, rowBytes = blocks * blockBytes
      const w = randomQuantRows(blockBytes, halfAt, blocks * rows, 90 + blocks)
      const g = gaussian(n, 5, 0.02)
      for (let r = 1; r < rows; r += 3) (type === GGMLType.Q4_K ? quantizeRowQ4K : quantizeRowQ6K)(g, 0, n, w, r * rowBytes)
      const grouped = w.slice()
      groupRows(grouped, rows, blocks, blockBytes)
      const wp = alloc(w.length, 3)
      heap.set(grouped, wp)
      const maxPos = 17
      const x = gaussian(n * maxPos, 91, 1.2)
      const xp = arena.putFloats(x)
      const want = referenceDots(vecDot, blockBytes, w, rows, n, x, maxPos)
      for (const nPos of [1, 2, 9, 17]) {
        const kernel = wasmKernelFor(type, {cols: n, nPos}, {byteMinCols: 0, grouped: true})
        if (!kernel) throw new Error(`no kernel for ${name}`)
        expect(kernel.format).to.equal(nPos === 1 && type === GGMLType.Q4_K ? 'q8ky' : 'q8kx')
        expect(requireWasmKernel(kernel.id)).to.equal(kernel)
        const mark = arena.top
        const act = kernel.prepare(k, xp, n, nPos, alloc(kernel.activationBytes(n) * nPos, 16))
        for (const [r0, r1] of [[0, ROW_GROUP], [ROW_GROUP, rows]]) {
          const out = alloc(4 * (r1 - r0) * nPos)
          kernel.matmul(k, wp + r0 * rowBytes, rowBytes, r1 - r0, act, nPos, out)
          const got = arena.floatsAt(out, (r1 - r0) * nPos)
          for (let p = 0; p < nPos; p++) {
            for (let r = r0; r < r1; r++) expect(got[p * (r1 - r0) + r - r0], `${nPos} position(s): row ${r} position ${p}`).to.equal(want[p][r])
          }
        }
        arena.top = mark
      }
    })
  }

  const floatQuantCases: Array<[string, GGMLType, number, number[], typeof dotRowQ4K, typeof dequantizeRowQ4K]> = [
    ['Q4_K', GGMLType.Q4_K, Q4_K_BLOCK_BYTES, [0, 2], dotRowQ4K, dequantizeRowQ4K],
    ['Q6_K', GGMLType.Q6_K, Q6_K_BLOCK_BYTES, [208], dotRowQ6K, dequantizeRowQ6K],
  ]
  for (const [name, type, blockBytes, halfAt, dotRow, dequantize] of floatQuantCases) {
    for (const [blocks, rows, nPos] of [[1, 3, 1], [5, 5, 2], [2, 2, 19]]) {
      it(`${name} x f32: ${rows} rows of ${blocks} blocks, ${nPos} position(s), within ${MAX_FLOAT_REL} of the reference`, () => {
        const n = 256 * blocks, rowBytes = blocks * blockBytes
        const w = randomQuantRows(blockBytes, halfAt, blocks * rows, 40 + blocks)
        const wp = alloc(w.length, 3)
        heap.set(w, wp)
        const x = gaussian(n * nPos, 41)
        const kernel = wasmFloatKernelFor(type)
        if (!kernel) throw new Error(`no float kernel for ${name}`)
        const act = alloc(kernel.activationBytes(n) * nPos)
        const out = alloc(4 * rows * nPos)
        kernel.matmul(k, wp, rowBytes, rows, kernel.prepare(k, arena.putFloats(x), n, nPos, act), nPos, out)
        const got = arena.floatsAt(out, rows * nPos)
        const deq = new Float32Array(n)
        for (let r = 0; r < rows; r++) {
          dequantize(w, r * rowBytes, n, deq, 0)
          for (let p = 0; p < nPos; p++) {
            let mag = 0
            for (let i = 0; i < n; i++) mag += Math.abs(deq[i] * x[p * n + i])
            const ref = dotRow(w, r * rowBytes, n, x, p * n)
            expect(Math.abs(got[p * rows + r] - ref), `row ${r} position ${p}`).to.be.at.most(MAX_FLOAT_REL * mag)
          }
        }
      })
    }
  }

  it('Q8_0 x Q8_0: 5 rows of 9 blocks, 2 positions, equal to vecDotQ8_0Q8_0 bit for bit', () => {
    const blocks = 9, rows = 5, nPos = 2, n = 32 * blocks
    const rowBytes = blocks * Q8_0_BLOCK_BYTES
    const w = randomQuantRows(Q8_0_BLOCK_BYTES, [0], blocks * rows, 21)
    const wp = alloc(w.length, 1)
    heap.set(w, wp)
    const x = gaussian(n * nPos, 22)
    x[5] = 0.5 * (x[3] + x[4]) // nothing special, but keep a tie-prone value around
    const kernel = requireWasmKernel(GGMLType.Q8_0)
    const act = alloc(kernel.activationBytes(n) * nPos)
    const out = alloc(4 * rows * nPos)
    kernel.matmul(k, wp, rowBytes, rows, kernel.prepare(k, arena.putFloats(x), n, nPos, act), nPos, out)
    const got = arena.floatsAt(out, rows * nPos)
    const q8 = new Uint8Array(blocks * Q8_0_BLOCK_BYTES)
    for (let p = 0; p < nPos; p++) {
      quantizeRowQ8_0(x, p * n, n, q8, 0)
      // The widened activations hold the same values as the reference Q8_0 blocks.
      const v = new DataView(memory.buffer)
      for (let b = 0; b < blocks; b++) {
        const o = act + (p * blocks + b) * Q80X_BLOCK_BYTES
        for (let l = 0; l < 32; l++) expect(v.getInt16(o + 16 + 2 * l, true)).to.equal((q8[b * 34 + 2 + l] << 24) >> 24)
      }
      for (let r = 0; r < rows; r++) expect(got[p * rows + r], `row ${r} position ${p}`).to.equal(vecDotQ8_0Q8_0(w, r * rowBytes, n, q8, 0))
    }
  })

  const floatCases: Array<[string, GGMLType, number, typeof dotRowF32]> = [
    ['F32', GGMLType.F32, 4, dotRowF32],
    ['F16', GGMLType.F16, 2, dotRowF16],
  ]
  for (const [name, type, width, dotRow] of floatCases) {
    for (const [cols, rows, nPos] of [[7, 3, 1], [37, 5, 2], [1003, 4, 1], [256, 1, 3], [40, 3, 17]]) {
      it(`${name}: ${rows} rows of ${cols} columns, ${nPos} position(s), within ${MAX_FLOAT_REL} of the reference`, () => {
        const values = gaussian(cols * rows, cols + rows)
        let w: Uint8Array
        if (type === GGMLType.F32) w = new Uint8Array(values.buffer)
        else {
          const h = new Uint16Array(values.length)
          for (let i = 0; i < h.length; i++) h[i] = f32ToFp16(values[i])
          h[0] = 0x0001 // a subnormal half
          w = new Uint8Array(h.buffer)
        }
        const rowBytes = cols * width
        const wp = alloc(w.length, 2)
        heap.set(w, wp)
        const x = gaussian(cols * nPos, 31)
        const kernel = requireWasmKernel(type)
        const out = alloc(4 * rows * nPos)
        kernel.matmul(k, wp, rowBytes, rows, kernel.prepare(k, arena.putFloats(x, 4), cols, nPos, 0), nPos, out)
        const got = arena.floatsAt(out, rows * nPos)
        for (let p = 0; p < nPos; p++) {
          for (let r = 0; r < rows; r++) {
            const ref = dotRow(w, r * rowBytes, cols, x, p * cols)
            let mag = 0
            for (let i = 0; i < cols; i++) mag += Math.abs(values[r * cols + i] * x[p * cols + i])
            expect(Math.abs(got[p * rows + r] - ref), `row ${r} position ${p}`).to.be.at.most(MAX_FLOAT_REL * mag)
          }
        }
      })
    }
  }

  // The one-position kernels keep sums in narrow lanes: Q6_K narrows each group's sum (4 products a
  // lane, at most 4 x 63 x 127 = 32004) to i16; Q4_K carries a factor 256 in its lanes. Blocks at
  // their integer extremes against activations that are all -127 (or alternate) must still give
  // the reference's sums, whichever kernel runs.
  for (const [name, type, blockBytes] of [['Q4_K', GGMLType.Q4_K, Q4_K_BLOCK_BYTES], ['Q6_K', GGMLType.Q6_K, Q6_K_BLOCK_BYTES]] as const) {
    it(`${name} blocks at their largest weights and scales against activations of magnitude 127 give the reference sums (every kernel)`, () => {
      const blocks = 3, n = 256 * blocks, rowBytes = blocks * blockBytes, rows = 5
      const w = randomQuantRows(blockBytes, type === GGMLType.Q4_K ? [0, 2] : [208], blocks * rows, 91)
      if (type === GGMLType.Q4_K) setExtremeQ4K(w, blocks) // rows 0-3 extreme; row 4 random
      else {
        for (let r = 0; r < 4; r++) { // rows 0-3 extreme: scales 127 in rows 0, 2, -128 in rows 1, 3; row 4 random
          for (let b = 0; b < blocks; b++) {
            const at = r * rowBytes + b * blockBytes
            w.fill(0xff, at, at + 192) // every value 63
            w.fill(r % 2 === 0 ? 0x7f : 0x80, at + 192, at + 208)
            putU16(w, at + 208, 0x3c00)
          }
        }
      }
      const wp = alloc(w.length, 3)
      heap.set(w, wp)
      const nPos = 3
      const x = extremeActivations(n)
      const xp = arena.putFloats(x)
      const want = referenceDots(type === GGMLType.Q4_K ? vecDotQ4KQ8K : vecDotQ6KQ8K, blockBytes, w, rows, n, x, nPos)
      expect(Math.abs(want[0][0])).to.be.greaterThan(1e5)
      const kernels = [1, nPos].flatMap((np) => [0, BYTE_ACTIVATION_MIN_COLS].map((minCols) => [np, wasmKernelFor(type, {cols: n, nPos: np}, {byteMinCols: minCols})] as const))
      const formats = [...new Set(kernels.map(([, kernel]) => kernel?.format))].sort()
      expect(formats).to.deep.equal(type === GGMLType.Q4_K ? ['q8kx', 'q8ky'] : ['q8kb', 'q8kx']) // one position and batched; Q6_K's one position on bytes and on i16
      for (const [np, kernel] of kernels) {
        if (!kernel) throw new Error(`no ${name} kernel`)
        const out = alloc(4 * rows * np)
        kernel.matmul(k, wp, rowBytes, rows, kernel.prepare(k, xp, n, np, alloc(kernel.activationBytes(n) * np, 16)), np, out)
        const got = arena.floatsAt(out, rows * np)
        for (let p = 0; p < np; p++) expect([...got.subarray(p * rows, (p + 1) * rows)], `${kernel.format}, position ${p}`).to.deep.equal(want[p])
      }
    })
  }

  it('Q4_K d and dmin that are special halves (inf, NaN, -0, largest, subnormal) give the reference sums, one position and batched', () => {
    const specials = [0x7c00, 0xfc00, 0x8000, 0x7bff, 0x0001, 0x03ff, 0x7e00, 0x3c00]
    const blocks = 2, n = 256 * blocks, rowBytes = blocks * Q4_K_BLOCK_BYTES, rows = specials.length * 2
    const w = randomQuantRows(Q4_K_BLOCK_BYTES, [0, 2], blocks * rows, 77)
    specials.forEach((h, i) => { // row 2i: d special in its second block; row 2i + 1: dmin special in its first
      putU16(w, 2 * i * rowBytes + Q4_K_BLOCK_BYTES, h)
      putU16(w, (2 * i + 1) * rowBytes + 2, h)
    })
    const wp = alloc(w.length)
    heap.set(w, wp)
    const nPos = 2
    const x = gaussian(n * nPos, 78)
    const xp = arena.putFloats(x)
    const want = referenceDots(vecDotQ4KQ8K, Q4_K_BLOCK_BYTES, w, rows, n, x, nPos)
    expect(want.flat().some((v) => !Number.isFinite(v))).to.equal(true)
    for (const np of [1, nPos]) {
      const kernel = wasmKernelFor(GGMLType.Q4_K, {cols: n, nPos: np})
      if (!kernel) throw new Error('no Q4_K kernel')
      const out = alloc(4 * rows * np)
      kernel.matmul(k, wp, rowBytes, rows, kernel.prepare(k, xp, n, np, alloc(kernel.activationBytes(n) * np)), np, out)
      const got = arena.floatsAt(out, rows * np)
      for (let p = 0; p < np; p++) expect([...got.subarray(p * rows, (p + 1) * rows)], `${kernel.format}, position ${p}`).to.deep.equal(want[p])
    }
  })

  it('F16 decodes special halves (inf, NaN, -0, largest, subnormal) as the table does', () => {
    const specials = [0x7c00, 0xfc00, 0x3c00, 0x8000, 0x7bff, 0x0001, 0x7e00]
    const want = [Infinity, -Infinity, 1, 0, 65504, 2 ** -24, NaN]
    const h = new Uint16Array(8 * specials.length) // one special per row, in lane 5 (the second f32x4)
    specials.forEach((v, r) => { h[8 * r + 5] = v })
    const wp = alloc(h.byteLength)
    heap.set(new Uint8Array(h.buffer), wp)
    const out = alloc(4 * specials.length)
    k.f16_matmul(wp, 16, specials.length, arena.putFloats(new Float32Array(8).fill(1)), 1, out)
    expect([...arena.floatsAt(out, specials.length)]).to.deep.equal(want)
  })

  it('swiglu equals ops.ts swiglu bit for bit: wide and narrow values, every kind of float32 bit pattern, the clamp at 700, values near the halfway points of its rounding, lengths that are not a multiple of 4', () => {
    const n = 40000
    const g = gaussian(n, 120, 6), u = gaussian(n, 121, 2)
    for (let i = 0; i < n; i += 5) g[i] *= 200 // past the clamp, and where silu is g or 0
    const bits = new Uint32Array(g.buffer)
    for (let i = 3; i < n; i += 97) bits[i] = Math.imul(i, 2654435761) >>> 0 // NaNs, infinities, subnormals among them
    const specials = [0, -0, 700, -700, Math.fround(700.0001), Math.fround(-700.0001), Infinity, -Infinity, NaN, 1e-40, -1e-40, 88.72, -88.72, -103.9]
    const halfway = [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 9.5].map((k) => Math.fround(k * Math.LN2)) // -g * log2 e near k + 0.5
    ;[...specials, ...halfway].forEach((v, i) => (g[i] = v))
    const gp = arena.putFloats(g, 4), up = arena.putFloats(u, 8)
    for (const len of [n, 4001, 3, 1]) {
      const want = g.slice(0, len)
      swiglu(want, u, len)
      heap.set(new Uint8Array(g.buffer, 0, 4 * len), gp)
      k.swiglu(gp, up, len)
      const got = arena.floatsAt(gp, len)
      const bad = [...got.keys()].find((i) => !Object.is(got[i], want[i]))
      expect(bad, bad === undefined ? '' : `${len} values: at ${bad}, silu(${g[bad]}) * ${u[bad]} = ${got[bad]}, ops.ts gives ${want[bad]}`).to.equal(undefined)
    }
  })

  it('has no fast path for BF16 or Q5_K (reference kernels cover them), no float path for Q8_0', () => {
    expect(wasmKernelFor(GGMLType.BF16)).to.equal(undefined)
    expect(wasmFloatKernelFor(GGMLType.Q8_0)).to.equal(undefined)
    expect(() => requireWasmKernel(GGMLType.Q5_K)).to.throw(/Q5_K/)
  })
})
