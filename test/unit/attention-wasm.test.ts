/**
 * The f32 SIMD attention kernel (assembly/attention.ts attend_group, the fast path's) against
 * attendGroup (src/model/attention.ts, float64, the reference path's): cache lengths around the
 * kernel's passes of four keys, head widths that are not multiples of 4 or 16, groups of query heads,
 * key and value widths apart, scores far apart (softmax terms that underflow), and the guard bytes
 * around what it writes.
 */
import {expect} from 'chai'

import {createSharedMemory, instantiateWasmKernels} from '../../src/kernels/wasm/kernels-wasm.js'
import {attendGroup} from '../../src/model/attention.js'
import {gaussian, TestHeap} from './kernels-support.js'

const memory = createSharedMemory(16 << 20)
const heap = new Uint8Array(memory.buffer)
const arena = new TestHeap(heap)
const k = instantiateWasmKernels(memory)

interface Shape {
  readonly heads: number
  readonly kvHeads: number
  readonly headDim: number
  readonly headDimV: number
}

/** Both attentions at cache length len for every kv head; returns the largest |difference| over the largest |value| of the reference. */
function compare(d: Shape, len: number, seed: number, sigma = 1): {relErr: number; guardsKept: boolean} {
  arena.top = TestHeap.START
  const {heads, kvHeads, headDim, headDimV} = d
  const group = heads / kvHeads, kvDim = kvHeads * headDim, kvDimV = kvHeads * headDimV
  const q = gaussian(heads * headDim, seed, sigma), keys = gaussian(len * kvDim, seed + 1, sigma), values = gaussian(len * kvDimV, seed + 2)
  const qp = arena.putFloats(q), kp = arena.putFloats(keys), vp = arena.putFloats(values)
  const outBytes = heads * headDimV * 4
  const op = arena.alloc(outBytes + 64), ap = arena.alloc(len * 16 + 64)
  heap.fill(0xa5, op, op + outBytes + 64)
  for (let g = 0; g < kvHeads; g++) {
    // The caches are head-major, (kvHeads, len, width), as the run state holds them.
    k.attend_group(qp + g * group * headDim * 4, kp + g * len * headDim * 4, headDim * 4, vp + g * len * headDimV * 4, headDimV * 4,
      op + g * group * headDimV * 4, ap, len, headDim, headDimV, group, Math.fround(1 / Math.sqrt(headDim)))
  }
  const want = new Float32Array(heads * headDimV)
  const att = new Float64Array(len), acc = new Float64Array(headDimV)
  for (let g = 0; g < kvHeads; g++) attendGroup(d, q, 0, keys, values, want, 0, 0, len - 1, g, att, acc)
  const got = new Float32Array(memory.buffer, op, heads * headDimV)
  let err = 0, top = 0
  want.forEach((w, i) => {
    err = Math.max(err, Math.abs(got[i] - w))
    top = Math.max(top, Math.abs(w))
  })
  return {relErr: err / top, guardsKept: heap.subarray(op + outBytes, op + outBytes + 64).every((b) => b === 0xa5)}
}

describe('attention kernel: attend_group (f32 SIMD) vs attendGroup (float64)', () => {
  it('matches within 2e-6 of the largest output at cache lengths 1-9, 63-66 and 1024 (passes of four keys and their tails)', () => {
    const d = {heads: 8, kvHeads: 2, headDim: 64, headDimV: 64}
    for (const len of [1, 2, 3, 4, 5, 6, 7, 8, 9, 63, 64, 65, 66, 1024]) {
      const r = compare(d, len, len)
      expect(r.relErr, `len ${len}`).to.be.below(2e-6)
      expect(r.guardsKept, `len ${len}: bytes past the output`).to.equal(true)
    }
  })

  it('matches for head widths that are not multiples of 4 or 16, groups of 1, 3, 4, 5 and 8 query heads, and value widths apart from key widths', () => {
    const shapes: Shape[] = [
      {heads: 4, kvHeads: 4, headDim: 6, headDimV: 6},
      {heads: 6, kvHeads: 2, headDim: 20, headDimV: 36},
      {heads: 4, kvHeads: 1, headDim: 128, headDimV: 17},
      {heads: 2, kvHeads: 2, headDim: 3, headDimV: 1},
      {heads: 10, kvHeads: 2, headDim: 12, headDimV: 12}, // groups of five: four heads together, then one
      {heads: 8, kvHeads: 1, headDim: 16, headDimV: 24}, // a group of eight: two passes of four
    ]
    for (const d of shapes) {
      for (const len of [1, 5, 37]) {
        const r = compare(d, len, 100 + len)
        expect(r.relErr, `${JSON.stringify(d)} len ${len}`).to.be.below(2e-6)
        expect(r.guardsKept, `${JSON.stringify(d)} len ${len}`).to.equal(true)
      }
    }
  })

  it('scores hundreds apart: the terms far below the max vanish as in float64 and the result stays finite', () => {
    // sigma 6 over 128 dims: scores spread over hundreds, so most e^(s - max) underflow f32. An f32
    // score near 300 is itself rounded by up to 2^-24 x 300 = 1.8e-5, hence the wider bound.
    const r = compare({heads: 4, kvHeads: 1, headDim: 128, headDimV: 128}, 200, 7, 6)
    expect(r.relErr).to.be.below(2e-5)
  })
})
