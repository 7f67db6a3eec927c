/**
 * Q6_K in lane order (assembly/q6_k_lanes.ts), the base build's layout of Q6_K matrices: the repack
 * field by field as the layout is written down there, and its way back byte for byte; and the
 * kernels on it (one position two rows at a time, batches in passes of up to 8, plain rows and the
 * grouped layout) against vecDotQ6KQ8K on the file-order blocks, bit for bit, including blocks at
 * their largest values, every scale byte, and d at edge halves (inf and NaN included).
 */
import {expect} from 'chai'

import {GGMLType} from '../../src/gguf/ggml-types.js'
import {Q6_K_BLOCK_BYTES, vecDotQ6KQ8K} from '../../src/kernels/q6_k.js'
import {quantizeRowQ6K} from '../../src/kernels/quantize-k.js'
import {createSharedMemory, instantiateWasmKernels, wasmKernelFor, type WasmKernelExports} from '../../src/kernels/wasm/kernels-wasm.js'
import {extremeActivations, putU16, randomQuantRows, referenceDots, TestHeap} from './kernels-support.js'
import {expectSame, itLaneProducts, runLaneKernel} from './lane-cases.js'

const memory = createSharedMemory(32 << 20)
const heap = new Uint8Array(memory.buffer)
const view = new DataView(memory.buffer)
const arena = new TestHeap(heap)
let k: WasmKernelExports

/** Value l (0-15) of group g (0-15) of the file-order Q6_K block at w[b]: 0..63, as vecDotQ6KQ8K decodes it. */
function fileValue(w: Uint8Array, b: number, g: number, l: number): number {
  const h = g >> 3, is = g & 1, kind = (g >> 1) & 3 // group 8h + is + 2 kind
  const j = 16 * is + l
  const lo = w[b + 64 * h + j + (kind & 1 ? 32 : 0)], hb = w[b + 128 + 32 * h + j]
  return ((kind < 2 ? lo & 0xf : lo >> 4) | (((hb >> (2 * kind)) & 3) << 4))
}

/** Q6_K weights put in lane order in the test memory (file-order rows `w`), at a misaligned offset. */
function laneRows(w: Uint8Array, misalign = 3): number {
  const wp = arena.put(w, misalign)
  k.q6k_lanes(wp, w.length / Q6_K_BLOCK_BYTES, false)
  return wp
}

/** Runs the lane-order kernel for nPos positions over rows [r0, r1) of the matrix at wp; [position][row]. */
function runLanes(wp: number, rowBytes: number, r0: number, r1: number, xp: number, n: number, nPos: number, grouped = false): number[][] {
  return runLaneKernel(k, arena, GGMLType.Q6_K, 'q8kx', wp, rowBytes, r0, r1, xp, n, nPos, grouped)
}

/** vecDotQ6KQ8K of each row of w (file order) against each position of x: [position][row]. */
function reference(w: Uint8Array, rows: number, x: Float32Array, n: number, nPos: number): number[][] {
  return referenceDots(vecDotQ6KQ8K, Q6_K_BLOCK_BYTES, w, rows, n, x, nPos)
}

describe('kernels: Q6_K in lane order', function () {
  before(() => {
    k = instantiateWasmKernels(memory)
  })
  afterEach(() => {
    arena.top = TestHeap.START
  })

  it('q6k_lanes puts each quad\'s 64 values in three vectors of 16-bit lanes (two whole values each, group k3 in their top bits), leaves scales and d in place, and goes back byte for byte', () => {
    const blocks = 9
    const w = randomQuantRows(Q6_K_BLOCK_BYTES, [208], blocks, 80)
    const wp = laneRows(w)
    for (let i = 0; i < blocks; i++) {
      const b = i * Q6_K_BLOCK_BYTES, at = wp + b
      for (let q = 0; q < 4; q++) {
        const h = q >> 1, is = q & 1, k0 = 8 * h + is
        const [pa, pb, pc] = [at + 64 * h + 16 * is, at + 64 * h + 32 + 16 * is, at + 128 + 32 * h + 16 * is]
        for (let lane = 0; lane < 8; lane++) {
          const v = (g: number, l: number): number => fileValue(w, b, k0 + 2 * g, l)
          const e3 = v(3, 2 * lane), o3 = v(3, 2 * lane + 1)
          const where = `block ${i} quad ${q} lane ${lane}`
          expect(view.getUint16(pa + 2 * lane, true), `A, ${where}`).to.equal(v(0, 2 * lane) | (v(0, 2 * lane + 1) << 6) | ((e3 & 15) << 12))
          expect(view.getUint16(pb + 2 * lane, true), `B, ${where}`).to.equal(v(1, 2 * lane) | (v(1, 2 * lane + 1) << 6) | ((e3 >> 4) << 12) | ((o3 & 3) << 14))
          expect(view.getUint16(pc + 2 * lane, true), `C, ${where}`).to.equal(v(2, 2 * lane) | (v(2, 2 * lane + 1) << 6) | ((o3 >> 2) << 12))
        }
      }
      expect([...heap.subarray(at + 192, at + 210)], `block ${i}: scales and d in place`).to.deep.equal([...w.subarray(b + 192, b + 210)])
    }
    k.q6k_lanes(wp, blocks, true)
    expect(Buffer.from(heap.subarray(wp, wp + w.length)).equals(Buffer.from(w)), 'back in file order').to.equal(true)
  })

  itLaneProducts({arena, blockBytes: Q6_K_BLOCK_BYTES, halfAt: [208], groupedBlocks: 40, seed: 90, quantizeRow: quantizeRowQ6K, reference, laneRows, runLanes})

  it('blocks at their largest and smallest values and scales against activations of magnitude 127, and d at edge halves (zeros, subnormals, the largest, inf, NaN), give the reference sums', () => {
    const halves = [0x8000, 0x0000, 0x7bff, 0xfbff, 0x0001, 0x83ff, 0x7c00, 0xfc00, 0x7e00]
    const blocks = 3, n = 256 * blocks, rowBytes = blocks * Q6_K_BLOCK_BYTES, rows = 4 + halves.length
    const w = randomQuantRows(Q6_K_BLOCK_BYTES, [208], blocks * rows, 110)
    for (let r = 0; r < 4; r++) {
      for (let b = 0; b < blocks; b++) {
        const at = (r * blocks + b) * Q6_K_BLOCK_BYTES
        w.fill(r % 2 === 0 ? 0xff : 0x00, at, at + 192) // every value 63, or every value 0 (-32 after the offset)
        w.fill(r < 2 ? 0x80 : 0x7f, at + 192, at + 208) // every scale -128, or 127
        putU16(w, at + 208, 0x3c00)
      }
    }
    halves.forEach((h, i) => putU16(w, (4 + i) * rowBytes + (i % 3) * Q6_K_BLOCK_BYTES + 208, h))
    const wp = laneRows(w)
    const x = extremeActivations(n)
    const xp = arena.putFloats(x)
    const want = reference(w, rows, x, n, 3)
    expect(Math.abs(want[0][0])).to.be.greaterThan(1e6)
    expect(want.flat().some((v) => Number.isNaN(v))).to.equal(true)
    expectSame(runLanes(wp, rowBytes, 0, rows, xp, n, 1), want.slice(0, 1), 'one position')
    expectSame(runLanes(wp, rowBytes, 0, rows, xp, n, 3), want, 'batched')
  })

  it('the lane kernels are chosen only for Q6_K in lane order on the base build', () => {
    const choose = (o: {lanes?: boolean; relaxed?: boolean; grouped?: boolean}, nPos = 1): string | undefined => wasmKernelFor(GGMLType.Q6_K, {cols: 4096, nPos}, o)?.format
    expect(choose({lanes: true})).to.equal('q8kx')
    expect(wasmKernelFor(GGMLType.Q6_K, {cols: 4096, nPos: 1}, {lanes: true})?.id).to.not.equal(wasmKernelFor(GGMLType.Q6_K, {cols: 4096, nPos: 1})?.id)
    expect(wasmKernelFor(GGMLType.Q6_K, {cols: 4096, nPos: 4}, {lanes: true, grouped: true})?.id).to.not.equal(wasmKernelFor(GGMLType.Q6_K, {cols: 4096, nPos: 4}, {grouped: true})?.id)
    expect(choose({lanes: true, relaxed: true})).to.equal('q8kn') // relaxed SIMD reads file order
  })
})
