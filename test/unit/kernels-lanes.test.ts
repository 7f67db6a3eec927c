/**
 * Q4_K in lane order (assembly/q4_k_lanes.ts), the base build's layout of Q4_K matrices: the
 * repack and its way back byte for byte, the Q8KL / Q8KLY activations value for value against
 * Q8KX / Q8KY, and every kernel on it (one position two rows at a time, batches in passes of up to
 * 8, plain rows and the grouped layout) against vecDotQ4KQ8K on the file-order blocks, bit for bit,
 * including blocks at their largest values and edge halves; and that the repack refuses a matrix
 * with an infinite or NaN scale.
 */
import {expect} from 'chai'

import {GGMLType} from '../../src/gguf/ggml-types.js'
import {getScaleMinK4} from '../../src/kernels/k-common.js'
import {Q4_K_BLOCK_BYTES, vecDotQ4KQ8K} from '../../src/kernels/q4_k.js'
import {quantizeRowQ4K} from '../../src/kernels/quantize-k.js'
import {createSharedMemory, instantiateWasmKernels, Q8KX_BLOCK_BYTES, type WasmKernelExports} from '../../src/kernels/wasm/kernels-wasm.js'
import {extremeActivations, gaussian, putU16, randomQuantRows, referenceDots, setExtremeQ4K, TestHeap} from './kernels-support.js'
import {itLaneProducts, runLaneKernel} from './lane-cases.js'

const memory = createSharedMemory(32 << 20)
const heap = new Uint8Array(memory.buffer)
const view = new DataView(memory.buffer)
const arena = new TestHeap(heap)
const alloc = (bytes: number, misalign = 0): number => arena.alloc(bytes, misalign)
let k: WasmKernelExports

/** Where value e (0-31) of sub-block sb (0-7) of a block lies in Q8KX (and Q8KY): byte offset. */
function q8kxAt(sb: number, e: number): number {
  const g = 2 * sb + (e >> 4), i = e & 15
  return 16 + 32 * g + 16 * (i & 1) + 2 * (i >> 1)
}

/** The same in Q8KL (and Q8KLY), as kernels.ts describes it: step t = 2c + h, kind j, lane 2k + l. */
function q8klAt(sb: number, e: number): number {
  const t = e >> 2, l = (e >> 1) & 1, j = 2 * (sb & 1) + (e & 1)
  return 16 + 128 * (t >> 1) + 32 * (t & 1) + 64 * (j >> 1) + 16 * (j & 1) + 2 * (2 * (sb >> 1) + l)
}

/** Q4_K weights put in lane order in the test memory (file-order rows `w`), at a misaligned offset. */
function laneRows(w: Uint8Array, misalign = 3): number {
  const wp = arena.put(w, misalign)
  expect(k.q4k_lanes(wp, w.length / Q4_K_BLOCK_BYTES, false), 'every scale finite').to.equal(-1)
  return wp
}

/** vecDotQ4KQ8K of each row of w (file order) against each position of x: [position][row]. */
function reference(w: Uint8Array, rows: number, x: Float32Array, n: number, nPos: number): number[][] {
  return referenceDots(vecDotQ4KQ8K, Q4_K_BLOCK_BYTES, w, rows, n, x, nPos)
}

/** Runs the lane-order kernel for nPos positions over rows [r0, r1) of the matrix at wp; [position][row]. */
function runLanes(wp: number, rowBytes: number, r0: number, r1: number, xp: number, n: number, nPos: number, grouped = false): number[][] {
  return runLaneKernel(k, arena, GGMLType.Q4_K, nPos === 1 ? 'q8kly' : 'q8kl', wp, rowBytes, r0, r1, xp, n, nPos, grouped)
}

describe('kernels: Q4_K in lane order', function () {
  before(() => {
    k = instantiateWasmKernels(memory)
  })
  afterEach(() => {
    arena.top = TestHeap.START
  })

  it('q4k_lanes puts step t, lane k = bytes 4t .. 4t + 3 of group k of each block\'s nibbles, the head in 16-bit lanes of a min, a scale and a nibble of d, dmin, and goes back byte for byte', () => {
    const blocks = 5
    const w = randomQuantRows(Q4_K_BLOCK_BYTES, [0, 2], blocks, 31)
    const wp = alloc(w.length, 7)
    heap.set(w, wp)
    expect(k.q4k_lanes(wp, blocks, false)).to.equal(-1)
    for (let b = 0; b < blocks; b++) {
      const at = b * Q4_K_BLOCK_BYTES
      const dm = (w[at] | (w[at + 1] << 8) | (w[at + 2] << 16) | (w[at + 3] << 24)) >>> 0 // d | dmin << 16
      for (let j = 0; j < 8; j++) { // lane j: m[j] | sc[j] << 6 | nibble j of d, dmin << 12
        const sm = getScaleMinK4(j, w, at + 4)
        const want = (sm >> 8) | ((sm & 63) << 6) | (((dm >>> (4 * j)) & 15) << 12)
        expect(view.getUint16(wp + at + 2 * j, true), `block ${b} head lane ${j}`).to.equal(want)
      }
      for (let t = 0; t < 8; t++) {
        for (let lane = 0; lane < 4; lane++) {
          for (let i = 0; i < 4; i++) {
            expect(heap[wp + at + 16 + 16 * t + 4 * lane + i], `block ${b} step ${t} lane ${lane} byte ${i}`).to.equal(w[at + 16 + 32 * lane + 4 * t + i])
          }
        }
      }
    }
    expect(k.q4k_lanes(wp, blocks, true)).to.equal(-1)
    expect(Buffer.from(heap.subarray(wp, wp + w.length)).equals(Buffer.from(w))).to.equal(true)
  })

  it('quantize_q8kl and quantize_q8kly hold the values of quantize_q8kx and quantize_q8ky in lane order, with the same d and sums (Q8KLY: and the constants 2^112, 0x8fffffff)', () => {
    const n = 3 * 256
    const x = gaussian(n, 32)
    x.fill(0, 256, 512) // an all-zero block
    x[512 + 12] = -9 // the extreme, negative, where the factor is 256: -127 x 256 must still fit
    const xp = arena.putFloats(x)
    const [wide, scaled, lanes, scaledLanes] = [0, 1, 2, 3].map(() => alloc(3 * Q8KX_BLOCK_BYTES))
    k.quantize_q8kx(xp, n, wide)
    k.quantize_q8ky(xp, n, scaled)
    k.quantize_q8kl(xp, n, lanes)
    k.quantize_q8kly(xp, n, scaledLanes)
    for (let b = 0; b < 3; b++) {
      const o = b * Q8KX_BLOCK_BYTES
      for (const [from, to] of [[wide, lanes], [scaled, scaledLanes]]) {
        expect(view.getFloat32(to + o, true), `block ${b} d`).to.equal(view.getFloat32(from + o, true))
        for (let s = 0; s < 8; s++) expect(view.getInt16(to + o + 528 + 2 * s, true), `block ${b} sum ${s}`).to.equal(view.getInt16(from + o + 528 + 2 * s, true))
        for (let s = 0; s < 16; s++) expect(view.getInt16(to + o + 544 + 2 * s, true), `block ${b} sum16 ${s}`).to.equal(view.getInt16(from + o + 544 + 2 * s, true))
        if (to === scaledLanes) { // the constants of q4_k_lanes.ts finiteHalves, in the all-zero block too
          expect(view.getFloat32(to + o + 4, true), `block ${b} 2^112`).to.equal(2 ** 112)
          expect(view.getUint32(to + o + 8, true), `block ${b} mask`).to.equal(0x8fffffff)
        }
        const seen = new Set<number>()
        for (let sb = 0; sb < 8; sb++) {
          for (let e = 0; e < 32; e++) {
            seen.add(q8klAt(sb, e))
            expect(view.getInt16(to + o + q8klAt(sb, e), true), `block ${b} sub-block ${sb} value ${e}`).to.equal(view.getInt16(from + o + q8kxAt(sb, e), true))
          }
        }
        expect(seen.size).to.equal(256)
      }
    }
    expect(view.getInt16(scaledLanes + Q8KX_BLOCK_BYTES * 2 + q8klAt(0, 12), true)).to.equal(-127 * 256) // value 12 of block 2: sub-block 0 (A), even
  })

  itLaneProducts({arena, blockBytes: Q4_K_BLOCK_BYTES, halfAt: [0, 2], groupedBlocks: 130, seed: 40, quantizeRow: quantizeRowQ4K, reference, laneRows, runLanes})

  it('blocks at their largest weights and scales against activations of magnitude 127, and edge halves as d and dmin (zeros, subnormals, negatives, the largest), give the reference sums', () => {
    const halves = [0x8000, 0x0000, 0x7bff, 0xfbff, 0x0001, 0x83ff, 0x0400, 0xbc00]
    const blocks = 3, n = 256 * blocks, rowBytes = blocks * Q4_K_BLOCK_BYTES, rows = 4 + halves.length
    const w = randomQuantRows(Q4_K_BLOCK_BYTES, [0, 2], blocks * rows, 60)
    setExtremeQ4K(w, blocks) // rows 0-3: every scale and min 63, every nibble 15
    halves.forEach((h, i) => putU16(w, (4 + i) * rowBytes + (i % 2 === 0 ? Q4_K_BLOCK_BYTES : 2), h)) // d of a second block, or dmin of a first
    putU16(w, 0, 0x7bff) // d of row 0 the largest half
    const wp = laneRows(w)
    const nPos = 3
    const x = extremeActivations(n)
    const xp = arena.putFloats(x)
    const want = reference(w, rows, x, n, nPos)
    expect(Math.abs(want[0][0])).to.be.greaterThan(1e9)
    expect(runLanes(wp, rowBytes, 0, rows, xp, n, 1), 'one position').to.deep.equal(want.slice(0, 1))
    expect(runLanes(wp, rowBytes, 0, rows, xp, n, nPos), 'batched').to.deep.equal(want)
  })

  it('q4k_lanes refuses a matrix with an infinite or NaN d or dmin: it returns the block\'s index and leaves every byte in file order', () => {
    const blocks = 6
    const finite = randomQuantRows(Q4_K_BLOCK_BYTES, [0, 2], blocks, 70)
    putU16(finite, 2 * Q4_K_BLOCK_BYTES, 0x7bff) // the largest finite half goes into lane order
    const fp = arena.put(finite, 5)
    expect(k.q4k_lanes(fp, blocks, false)).to.equal(-1)
    for (const [block, field, h] of [[0, 0, 0x7c00], [3, 2, 0xfc00], [3, 0, 0x7e00], [5, 2, 0xffff]]) {
      const w = finite.slice()
      putU16(w, block * Q4_K_BLOCK_BYTES + field, h)
      const wp = arena.put(w, 3)
      expect(k.q4k_lanes(wp, blocks, false), `0x${h.toString(16)} in block ${block}`).to.equal(block)
      expect(Buffer.from(heap.subarray(wp, wp + w.length)).equals(Buffer.from(w)), `0x${h.toString(16)} in block ${block}: file order`).to.equal(true)
    }
  })
})
