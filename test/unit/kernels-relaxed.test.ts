/**
 * The relaxed-SIMD build (dist/wasm/kernels-relaxed.wasm, --relaxed-simd) against the scalar
 * references: Q4_K and Q6_K on Q8KN activations bit for bit, one position (two rows at a time) and batches
 * (passes of up to 8), plain rows and the grouped layout; and the base build compiled without a
 * single relaxed instruction (a fresh process, with no V8 flag, validates it).
 */
import {expect} from 'chai'
import {execFileSync} from 'node:child_process'
import {readdirSync, readFileSync, statSync} from 'node:fs'

import {kernelChoice} from '../../src/cli/kernel-flags.js'
import {GGMLType} from '../../src/gguf/ggml-types.js'
import {Q4_K_BLOCK_BYTES, vecDotQ4KQ8K} from '../../src/kernels/q4_k.js'
import {Q6_K_BLOCK_BYTES, vecDotQ6KQ8K} from '../../src/kernels/q6_k.js'
import {Q8_K_BLOCK_BYTES, quantizeRowQ8K} from '../../src/kernels/q8_k.js'
import {quantizeRowQ4K, quantizeRowQ6K} from '../../src/kernels/quantize-k.js'
import {groupRows, ROW_GROUP} from '../../src/kernels/wasm/grouped.js'
import {resolveRelaxedSimd} from '../../src/kernels/wasm/relaxed.js'
import {
  createSharedMemory, instantiateWasmKernels, Q8KB_BLOCK_BYTES, RELAXED_WASM_PATH, requireWasmKernel, WASM_PATH, wasmKernelFor, type WasmKernelExports,
} from '../../src/kernels/wasm/kernels-wasm.js'
import {validatesWithoutFlags} from '../support/runtime.js'
import {gaussian, putU16, randomQuantRows, referenceDots, TestHeap} from './kernels-support.js'

const memory = createSharedMemory(48 << 20)
const heap = new Uint8Array(memory.buffer)
const view = new DataView(memory.buffer)
const arena = new TestHeap(heap)
const alloc = (bytes: number, misalign = 0): number => arena.alloc(bytes, misalign)
const put = (bytes: Uint8Array, misalign = 0): number => arena.put(bytes, misalign)

interface Case {
  readonly name: string
  readonly type: GGMLType
  readonly blockBytes: number
  readonly halfAt: number[] // offsets of a block's fp16 scales
  readonly vecDot: typeof vecDotQ4KQ8K
  readonly quantize: typeof quantizeRowQ4K
}
const cases: Case[] = [
  {name: 'Q4_K', type: GGMLType.Q4_K, blockBytes: Q4_K_BLOCK_BYTES, halfAt: [0, 2], vecDot: vecDotQ4KQ8K, quantize: quantizeRowQ4K},
  {name: 'Q6_K', type: GGMLType.Q6_K, blockBytes: Q6_K_BLOCK_BYTES, halfAt: [208], vecDot: vecDotQ6KQ8K, quantize: quantizeRowQ6K},
]

/** Each row of the matrix w (rows of n values) . each of nPos positions of x, as c.vecDot: [position][row]. */
function reference(c: Case, w: Uint8Array, rows: number, n: number, x: Float32Array, nPos: number): number[][] {
  return referenceDots(c.vecDot, c.blockBytes, w, rows, n, x, nPos)
}

/** Rows of c's type: half random bytes (every bit pattern, sane fp16 scales), half quantized Gaussians. */
function testRows(c: Case, blocks: number, rows: number, seed: number, every = 2): Uint8Array {
  const n = 256 * blocks
  const w = randomQuantRows(c.blockBytes, c.halfAt, blocks * rows, seed)
  const g = gaussian(n, seed + 1, 0.02)
  for (let r = 1; r < rows; r += every) c.quantize(g, 0, n, w, r * blocks * c.blockBytes)
  return w
}

describe('kernels: relaxed SIMD (--relaxed-simd) vs reference', function () {
  let k: WasmKernelExports
  let base: WasmKernelExports
  before(() => {
    k = instantiateWasmKernels(memory, true)
    base = instantiateWasmKernels(memory)
  })
  afterEach(() => {
    arena.top = TestHeap.START
  })

  it('is built from the current source: every kernel of the base build plus the relaxed ones; the base build has no relaxed instruction', () => {
    for (const f of readdirSync('assembly').filter((n) => n.endsWith('.ts'))) {
      expect(statSync(RELAXED_WASM_PATH).mtimeMs, `dist/wasm/kernels-relaxed.wasm is older than assembly/${f}: npm run build:wasm-relaxed`).to.be.at.least(statSync(`assembly/${f}`).mtimeMs)
    }
    const wasm = (globalThis as unknown as {WebAssembly: {Module: {new (b: Uint8Array): object; exports(m: object): Array<{name: string}>; imports(m: object): unknown}}}).WebAssembly
    const names = (path: string): string[] => wasm.Module.exports(new wasm.Module(readFileSync(path))).map((e) => e.name).sort()
    expect(names(RELAXED_WASM_PATH)).to.deep.equal([...names(WASM_PATH), 'q4k_matmul_r', 'q4k_matmul_r_g', 'q6k_matmul_r', 'q6k_matmul_r_g'].sort())
    expect(wasm.Module.imports(new wasm.Module(readFileSync(RELAXED_WASM_PATH)))).to.deep.equal([{module: 'env', name: 'memory', kind: 'memory'}])
    expect(validatesWithoutFlags(WASM_PATH), 'the base build validates on a stock runtime').to.equal(true)
    if (process.versions.node.startsWith('20.')) expect(validatesWithoutFlags(RELAXED_WASM_PATH), 'Node 20 rejects relaxed SIMD without the flag').to.equal(false)
  })

  it('by default (auto) runs exactly where the runtime validates relaxed SIMD with no flag, and never sets the flag; the flags decide otherwise', () => {
    expect([resolveRelaxedSimd('auto', () => true), resolveRelaxedSimd('auto', () => false)]).to.deep.equal([true, false])
    expect([resolveRelaxedSimd(true, () => false), resolveRelaxedSimd(false, () => true)]).to.deep.equal([true, false])
    // A fresh process (this one has the flag on by now): what auto picks, then whether the runtime validates relaxed SIMD after it.
    const code = `import('./dist/kernels/wasm/relaxed.js').then((m) => process.stdout.write(JSON.stringify([m.resolveRelaxedSimd(), m.relaxedSimdValidates()])))`
    const native = validatesWithoutFlags(RELAXED_WASM_PATH)
    expect(JSON.parse(execFileSync(process.execPath, ['-e', code], {encoding: 'utf8'}))).to.deep.equal([native, native])
    expect(kernelChoice({})).to.deep.equal({kernels: 'fast', relaxedSimd: 'auto'})
    expect(kernelChoice({'relaxed-simd': false, 'safe-mode': true})).to.deep.equal({kernels: 'reference', relaxedSimd: false})
    expect(() => kernelChoice({'relaxed-simd': true, 'safe-mode': true})).to.throw(/--relaxed-simd and --safe-mode exclude each other/)
  })

  it('quantize_q8kn holds Q8_K\'s d and values in their natural order, with Q8KB\'s 32- and 16-value sums', () => {
    const n = 3 * 256
    const x = gaussian(n, 21, 2)
    x.fill(0, 256, 512) // an all-zero block
    const xp = arena.putFloats(x)
    const natural = alloc(3 * Q8KB_BLOCK_BYTES), bytes = alloc(3 * Q8KB_BLOCK_BYTES)
    k.quantize_q8kn(xp, n, natural)
    k.quantize_q8kb(xp, n, bytes)
    const q8 = new Uint8Array(3 * Q8_K_BLOCK_BYTES)
    quantizeRowQ8K(x, 0, n, q8, 0)
    const ref = new DataView(q8.buffer)
    for (let b = 0; b < 3; b++) {
      const o = natural + b * Q8KB_BLOCK_BYTES
      expect(view.getFloat32(o, true), `block ${b} d`).to.equal(ref.getFloat32(b * Q8_K_BLOCK_BYTES, true))
      for (let i = 0; i < 256; i++) expect(view.getInt8(o + 16 + i), `block ${b} value ${i}`).to.equal(ref.getInt8(b * Q8_K_BLOCK_BYTES + 4 + i))
      expect([...heap.subarray(o + 272, o + 320)], `block ${b} sums`).to.deep.equal([...heap.subarray(bytes + b * Q8KB_BLOCK_BYTES + 272, bytes + (b + 1) * Q8KB_BLOCK_BYTES)])
    }
  })

  it('wasmKernelFor picks the relaxed kernels for Q4_K and Q6_K, plain and grouped, any positions; workers find them by id', () => {
    for (const type of [GGMLType.Q4_K, GGMLType.Q6_K]) {
      const plain = wasmKernelFor(type, {cols: 4096, nPos: 1}, {relaxed: true})
      const grouped = wasmKernelFor(type, {cols: 14336, nPos: 1}, {grouped: true, relaxed: true})
      expect([plain?.format, grouped?.format]).to.deep.equal(['q8kn', 'q8kn'])
      expect(new Set([plain?.id, grouped?.id, wasmKernelFor(type, {cols: 4096, nPos: 1})?.id, wasmKernelFor(type, {cols: 4096, nPos: 1}, {grouped: true})?.id]).size).to.equal(4)
      for (const g of [plain, grouped]) expect(requireWasmKernel(g?.id ?? -1)).to.equal(g)
      expect(wasmKernelFor(type, {cols: 4096, nPos: 9}, {relaxed: true})).to.equal(plain)
      expect(wasmKernelFor(type, {cols: 14336, nPos: 9}, {grouped: true, relaxed: true})).to.equal(grouped)
      if (!plain) throw new Error('no relaxed kernel')
      expect(() => plain.matmul(base, 0, 210, 1, 0, 1, 0)).to.throw(/relaxed-SIMD build/)
    }
    expect(wasmKernelFor(GGMLType.Q8_0, {cols: 4096, nPos: 1}, {relaxed: true})?.format).to.equal('q80x')
  })

  for (const c of cases) {
    for (const [blocks, rows, nPos] of [[1, 1, 1], [3, 7, 1], [17, 4, 1], [56, 5, 1], [130, 3, 1], [2, 3, 35], [17, 5, 3]]) {
      it(`${c.name} x Q8KN: ${rows} rows of ${blocks} blocks, ${nPos} position(s), equal the reference bit for bit`, () => {
        const n = 256 * blocks, rowBytes = blocks * c.blockBytes
        const w = testRows(c, blocks, rows, 30 + blocks)
        const x = gaussian(n * nPos, 32 + blocks, 1.5)
        const kernel = wasmKernelFor(c.type, {cols: n, nPos}, {relaxed: true})
        if (!kernel) throw new Error('no relaxed kernel')
        const wp = put(w, 5)
        const act = kernel.prepare(k, arena.putFloats(x), n, nPos, alloc(kernel.activationBytes(n) * nPos, 16))
        const out = alloc(4 * rows * nPos)
        kernel.matmul(k, wp, rowBytes, rows, act, nPos, out)
        expect([...arena.floatsAt(out, rows * nPos)]).to.deep.equal(reference(c, w, rows, n, x, nPos).flat())
      })
    }

    it(`${c.name} batches of 1..20 and 33 positions over 1, 3 and 9 rows equal the reference bit for bit and write only their output`, () => {
      const blocks = 3, n = 256 * blocks, rowBytes = blocks * c.blockBytes, maxPos = 33, maxRows = 9
      const w = randomQuantRows(c.blockBytes, c.halfAt, blocks * maxRows, 61)
      const x = gaussian(n * maxPos, 63, 1.5)
      const want = reference(c, w, maxRows, n, x, maxPos)
      const kernel = requireWasmKernel(wasmKernelFor(c.type, {cols: n, nPos: 2}, {relaxed: true})?.id ?? -1)
      const wp = put(w, 7)
      const act = kernel.prepare(k, arena.putFloats(x), n, maxPos, alloc(kernel.activationBytes(n) * maxPos, 16))
      const guard = 64
      for (const rows of [1, 3, 9]) {
        for (const nPos of [...Array.from({length: 20}, (_, i) => i + 1), 33]) {
          const out = alloc(4 * rows * nPos + 2 * guard) + guard
          heap.fill(0xa5, out - guard, out + 4 * rows * nPos + guard)
          kernel.matmul(k, wp, rowBytes, rows, act, nPos, out)
          const got = arena.floatsAt(out, rows * nPos)
          for (let p = 0; p < nPos; p++) {
            for (let r = 0; r < rows; r++) expect(got[p * rows + r], `${rows} rows, ${nPos} positions: row ${r} position ${p}`).to.equal(want[p][r])
          }
          const outside = [...heap.subarray(out - guard, out), ...heap.subarray(out + 4 * rows * nPos, out + 4 * rows * nPos + guard)]
          expect(outside.every((b) => b === 0xa5), `${rows} rows, ${nPos} positions: bytes outside the output changed`).to.equal(true)
        }
      }
    })

    it(`${c.name} scales that are special halves (inf, NaN, -0, largest, subnormal) give the reference sums, one position and two`, () => {
      const specials = [0x7c00, 0xfc00, 0x8000, 0x7bff, 0x0001, 0x03ff, 0x7e00, 0x3c00]
      const blocks = 2, n = 256 * blocks, rowBytes = blocks * c.blockBytes, rows = specials.length * 2
      const w = randomQuantRows(c.blockBytes, c.halfAt, blocks * rows, 77)
      specials.forEach((h, i) => { // row 2i: the first scale special in its second block; row 2i + 1: the last in its first
        putU16(w, 2 * i * rowBytes + c.blockBytes + c.halfAt[0], h)
        putU16(w, (2 * i + 1) * rowBytes + c.halfAt[c.halfAt.length - 1], h)
      })
      const x = gaussian(2 * n, 78)
      const want = reference(c, w, rows, n, x, 2)
      expect(want.flat().some((v) => !Number.isFinite(v))).to.equal(true)
      const kernel = requireWasmKernel(wasmKernelFor(c.type, {cols: n, nPos: 1}, {relaxed: true})?.id ?? -1)
      const wp = put(w), act = kernel.prepare(k, arena.putFloats(x), n, 2, alloc(2 * kernel.activationBytes(n)))
      for (const nPos of [1, 2]) {
        const out = alloc(4 * rows * nPos)
        kernel.matmul(k, wp, rowBytes, rows, act, nPos, out)
        expect([...arena.floatsAt(out, rows * nPos)], `${nPos} position(s)`).to.deep.equal(want.slice(0, nPos).flat())
      }
    })

    it(`${c.name} grouped layout: a group and 5 rows of 130 blocks in calls of whole groups, 1, 2, 9 and 17 positions, equal the reference bit for bit`, () => {
      const blocks = 130, rows = ROW_GROUP + 5, n = 256 * blocks, rowBytes = blocks * c.blockBytes
      const w = testRows(c, blocks, rows, 190, 3)
      const grouped = w.slice()
      groupRows(grouped, rows, blocks, c.blockBytes)
      const wp = put(grouped, 3)
      const maxPos = 17
      const x = gaussian(n * maxPos, 191, 1.2)
      const want = reference(c, w, rows, n, x, maxPos)
      const kernel = wasmKernelFor(c.type, {cols: n, nPos: 1}, {byteMinCols: 0, grouped: true, relaxed: true})
      if (!kernel) throw new Error('no relaxed grouped kernel')
      const act = kernel.prepare(k, arena.putFloats(x), n, maxPos, alloc(kernel.activationBytes(n) * maxPos, 16))
      for (const nPos of [1, 2, 9, 17]) {
        for (const [r0, r1] of [[0, ROW_GROUP], [ROW_GROUP, rows]]) {
          const out = alloc(4 * (r1 - r0) * nPos)
          kernel.matmul(k, wp + r0 * rowBytes, rowBytes, r1 - r0, act, nPos, out)
          const got = new Float32Array(heap.slice(out, out + 4 * (r1 - r0) * nPos).buffer)
          for (let p = 0; p < nPos; p++) {
            expect([...got.subarray(p * (r1 - r0), (p + 1) * (r1 - r0))], `${nPos} position(s): rows ${r0}-${r1}, position ${p}`).to.deep.equal(want[p].slice(r0, r1))
          }
        }
      }
    })
  }
})
