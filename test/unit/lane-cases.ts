/**
 * The product cases the lane-order kernels of Q4_K and Q6_K share (kernels-lanes.test.ts,
 * kernels-lanes-q6k.test.ts): rows of random bytes and of quantized Gaussians in lane order against
 * their file-order reference, plain rows and the grouped layout. Not a test file itself.
 */
import {expect} from 'chai'

import type {GGMLType} from '../../src/gguf/ggml-types.js'
import {groupRows, ROW_GROUP} from '../../src/kernels/wasm/grouped.js'
import {requireWasmKernel, wasmKernelFor, type WasmKernelExports} from '../../src/kernels/wasm/kernels-wasm.js'
import {gaussian, randomQuantRows, type TestHeap} from './kernels-support.js'

/** What a type's lane-order tests give the shared cases. */
export interface LaneProducts {
  readonly arena: TestHeap
  readonly blockBytes: number
  /** Offsets of the fp16 scales in a block (randomQuantRows). */
  readonly halfAt: number[]
  /** Blocks a row of the grouped case (more than 32). */
  readonly groupedBlocks: number
  /** The first of the seeds the cases draw from. */
  readonly seed: number
  quantizeRow(x: Float32Array, xOffset: number, n: number, out: Uint8Array, outOffset: number): void
  /** The reference dot of each row of w (file order) with each position of x: [position][row]. */
  reference(w: Uint8Array, rows: number, x: Float32Array, n: number, nPos: number): number[][]
  /** w (file order) put in lane order in the test memory: its offset. */
  laneRows(w: Uint8Array): number
  /** The lane-order kernel for nPos positions over rows [r0, r1) of the matrix at wp: [position][row]. */
  runLanes(wp: number, rowBytes: number, r0: number, r1: number, xp: number, n: number, nPos: number, grouped?: boolean): number[][]
}

/** Expects got to equal want value for value under Object.is (-0 apart from +0, NaN equal to NaN). */
export function expectSame(got: number[][], want: number[][], what: string): void {
  expect(got.length, what).to.equal(want.length)
  got.forEach((row, p) => row.forEach((v, r) => {
    if (!Object.is(v, want[p][r])) expect.fail(`${what}: position ${p}, row ${r}: ${v} where the reference gives ${want[p][r]}`)
  }))
}

/**
 * Runs the lane-order kernel of `type` (k: an instance over the test memory) for nPos positions over
 * rows [r0, r1) of the matrix at wp, after checking that it reads `format` and that worker threads
 * find it by its id: [position][row]. byteMinCols 256: lane order goes before Q6_K's byte path.
 */
export function runLaneKernel(k: WasmKernelExports, arena: TestHeap, type: GGMLType, format: string,
  wp: number, rowBytes: number, r0: number, r1: number, xp: number, n: number, nPos: number, grouped = false): number[][] {
  const kernel = wasmKernelFor(type, {cols: n, nPos}, {lanes: true, grouped, byteMinCols: 256})
  if (!kernel) throw new Error('no kernel in lane order')
  expect(kernel.format).to.equal(format)
  expect(requireWasmKernel(kernel.id)).to.equal(kernel)
  const rows = r1 - r0
  const out = arena.alloc(4 * rows * nPos)
  kernel.matmul(k, wp + r0 * rowBytes, rowBytes, rows, kernel.prepare(k, xp, n, nPos, arena.alloc(kernel.activationBytes(n) * nPos, 16)), nPos, out)
  const got = arena.floatsAt(out, rows * nPos)
  return Array.from({length: nPos}, (_, p) => [...got.subarray(p * rows, (p + 1) * rows)])
}

/** Registers the shared cases (mocha `it`s) in the calling describe. */
export function itLaneProducts(o: LaneProducts): void {
  const {arena, blockBytes, seed} = o
  for (const [blocks, rows] of [[1, 1], [3, 7], [17, 5], [2, 9]]) {
    it(`${rows} rows of ${blocks} blocks, 1..20 and 33 positions, equal the file-order reference bit for bit`, () => {
      const n = 256 * blocks, rowBytes = blocks * blockBytes
      // Half the rows are random bytes (every bit pattern), half are quantized Gaussians.
      const w = randomQuantRows(blockBytes, o.halfAt, blocks * rows, seed + blocks)
      const g = gaussian(n, seed + 1, 0.02)
      for (let r = 1; r < rows; r += 2) o.quantizeRow(g, 0, n, w, r * rowBytes)
      const wp = o.laneRows(w)
      const maxPos = 33
      const x = gaussian(n * maxPos, seed + 2 + blocks, 1.5)
      const xp = arena.putFloats(x)
      const want = o.reference(w, rows, x, n, maxPos)
      const mark = arena.top
      for (const nPos of [...Array.from({length: 20}, (_, i) => i + 1), 33]) {
        expectSame(o.runLanes(wp, rowBytes, 0, rows, xp, n, nPos), want.slice(0, nPos), `${nPos} position(s)`)
        arena.top = mark
      }
    })
  }

  const blocks = o.groupedBlocks
  it(`the grouped layout: a group and 5 rows of ${blocks} blocks in calls of whole groups, 1, 2, 9 and 17 positions, equal the reference bit for bit`, () => {
    const rows = ROW_GROUP + 5, n = 256 * blocks, rowBytes = blocks * blockBytes
    const w = randomQuantRows(blockBytes, o.halfAt, blocks * rows, seed + 10)
    const g = gaussian(n, seed + 11, 0.02)
    for (let r = 1; r < rows; r += 3) o.quantizeRow(g, 0, n, w, r * rowBytes)
    const grouped = w.slice()
    groupRows(grouped, rows, blocks, blockBytes) // whole blocks move: lane order inside each is independent of it
    const wp = o.laneRows(grouped)
    const maxPos = 17
    const x = gaussian(n * maxPos, seed + 12, 1.2)
    const xp = arena.putFloats(x)
    const want = o.reference(w, rows, x, n, maxPos)
    for (const nPos of [1, 2, 9, 17]) {
      const mark = arena.top
      for (const [r0, r1] of [[0, ROW_GROUP], [ROW_GROUP, rows]]) {
        expectSame(o.runLanes(wp, rowBytes, r0, r1, xp, n, nPos, true), want.slice(0, nPos).map((row) => row.slice(r0, r1)), `${nPos} position(s), rows ${r0}-${r1}`)
      }
      arena.top = mark
    }
  })
}
