/**
 * Reference quantizers (round-trip error within named limits) and the integer dot products with
 * quantized activations (Q8_K for k-quants, Q8_0 for Q8_0), checked against dequantized maths.
 */
import {expect} from 'chai'

import {dequantizeRowQ4K, Q4_K_BLOCK_BYTES, vecDotQ4KQ8K} from '../../src/kernels/q4_k.js'
import {dequantizeRowQ5K, Q5_K_BLOCK_BYTES} from '../../src/kernels/q5_k.js'
import {dequantizeRowQ6K, Q6_K_BLOCK_BYTES, vecDotQ6KQ8K} from '../../src/kernels/q6_k.js'
import {dequantizeRowQ8_0, Q8_0_BLOCK_BYTES, quantizeRowQ8_0, vecDotQ8_0Q8_0} from '../../src/kernels/q8_0.js'
import {dequantizeRowQ8K, nearestInt, Q8_K_BLOCK_BYTES, q8KBsum, q8KScale, quantizeRowQ8K} from '../../src/kernels/q8_k.js'
import {quantizeRowQ4K, quantizeRowQ5K, quantizeRowQ6K} from '../../src/kernels/quantize-k.js'
import {dot, gaussian, relRms} from './kernels-support.js'

/**
 * Round-trip RMS error relative to the signal's RMS on N(0, 1) rows. The figures of uniform
 * rounding over each block's range are about 0.079 (Q4_K), 0.039 (Q5_K), 0.018 (Q6_K), 0.0056
 * (Q8_0), 0.0071 (Q8_K); ggml's scale search lands a little below. Measured: 0.071 / 0.036 /
 * 0.0177 / 0.0054 / 0.0070.
 */
const MAX_REL_RMS = {Q4_K: 0.075, Q5_K: 0.038, Q6_K: 0.019, Q8_0: 0.0056, Q8_K: 0.0075}
/** |quantized dot - exact float dot| / n, as ggml's test-quantize-fns MAX_DOT_PRODUCT_ERROR. */
const MAX_DOT_PRODUCT_ERROR = 0.02
/** Integer dot vs the f64 dot of both dequantized rows, relative to sum |w a| (f32 scaling only). */
const MAX_INT_DOT_VS_DEQUANT = 1e-6

type RowFn = (src: Uint8Array, offset: number, n: number, out: Float32Array, outOffset: number) => void
type QuantFn = (x: Float32Array, xOffset: number, n: number, out: Uint8Array, outOffset: number) => void

const N = 4096

function roundTrip(q: QuantFn, dq: RowFn, blockBytes: number, blockSize: number, x: Float32Array): [Uint8Array, Float32Array] {
  const bytes = new Uint8Array((x.length / blockSize) * blockBytes)
  q(x, 0, x.length, bytes, 0)
  const y = new Float32Array(x.length)
  dq(bytes, 0, x.length, y, 0)
  return [bytes, y]
}

/** The f64 dot of two rows and the sum of |products|, for relative limits. */
function dotAndMagnitude(a: Float32Array, b: Float32Array): [number, number] {
  let s = 0, m = 0
  for (let i = 0; i < a.length; i++) {
    s += a[i] * b[i]
    m += Math.abs(a[i] * b[i])
  }
  return [s, m]
}

describe('kernels: quantizers and integer dot products', () => {
  it('nearestInt rounds f32 values to nearest, ties to even (ggml nearest_int)', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 2.4999998, -126.6].map(nearestInt)).to.deep.equal([0, 2, 2, 0, -2, 2, -127])
  })

  it('quantizeRowQ8K: largest magnitude maps to -127, d = 1/iscale, bsums are group sums', () => {
    const x = new Float32Array(256)
    for (let j = 0; j < 256; j++) x[j] = j - 100 // max 155 -> -127, iscale = -127/155
    const out = new Uint8Array(Q8_K_BLOCK_BYTES + 2)
    quantizeRowQ8K(x, 0, 256, out, 2)
    const q = (j: number): number => (out[2 + 4 + j] << 24) >> 24
    expect(q(255)).to.equal(-127)
    expect(q(0)).to.equal(82) // round(100 * 127 / 155) = round(81.94)
    expect(q(100)).to.equal(0)
    expect(q8KScale(out, 2)).to.equal(Math.fround(1 / Math.fround(-127 / 155)))
    for (let g = 0; g < 16; g++) {
      let s = 0
      for (let l = 0; l < 16; l++) s += q(16 * g + l)
      expect(q8KBsum(out, 2, g)).to.equal(s)
    }
  })

  it('quantizeRowQ8K: a negative extreme also maps to -127 (d < 0 flips), an all-zero block to zeros', () => {
    const x = new Float32Array(512)
    x[3] = -2; x[4] = 1; x[5] = -1
    const out = new Uint8Array(2 * Q8_K_BLOCK_BYTES).fill(9)
    quantizeRowQ8K(x, 0, 512, out, 0)
    expect((out[4 + 3] << 24) >> 24).to.equal(-127) // iscale = -127 / -2 = 63.5
    expect((out[4 + 4] << 24) >> 24).to.equal(64) // nearest_int(63.5) = 64 (tie to even)
    expect((out[4 + 5] << 24) >> 24).to.equal(-64)
    expect(q8KScale(out, 0)).to.equal(Math.fround(1 / 63.5))
    expect([...out.subarray(Q8_K_BLOCK_BYTES)].every((v) => v === 0)).to.equal(true)
  })

  it('quantizeRowQ8_0: d = max|x| / 127 as fp16, values rounded half away from zero', () => {
    const x = new Float32Array(32)
    x[0] = 127; x[1] = -0.5; x[2] = 0.5; x[3] = 63.5
    const out = new Uint8Array(Q8_0_BLOCK_BYTES)
    quantizeRowQ8_0(x, 0, 32, out, 0)
    expect(out[0] | (out[1] << 8)).to.equal(0x3c00) // d = 1
    expect([...out.subarray(2, 6)].map((v) => (v << 24) >> 24)).to.deep.equal([127, -1, 1, 64])
  })

  const cases: Array<[keyof typeof MAX_REL_RMS, QuantFn, RowFn, number, number]> = [
    ['Q4_K', quantizeRowQ4K, dequantizeRowQ4K, Q4_K_BLOCK_BYTES, 256],
    ['Q5_K', quantizeRowQ5K, dequantizeRowQ5K, Q5_K_BLOCK_BYTES, 256],
    ['Q6_K', quantizeRowQ6K, dequantizeRowQ6K, Q6_K_BLOCK_BYTES, 256],
    ['Q8_0', quantizeRowQ8_0, dequantizeRowQ8_0, Q8_0_BLOCK_BYTES, 32],
    ['Q8_K', quantizeRowQ8K, dequantizeRowQ8K, Q8_K_BLOCK_BYTES, 256],
  ]
  for (const [name, q, dq, blockBytes, blockSize] of cases) {
    it(`${name} round trip: relative RMS error <= ${MAX_REL_RMS[name]} on N(0,1), exact zeros stay zero`, () => {
      for (const seed of [1, 2]) {
        const x = gaussian(N, seed)
        const [, y] = roundTrip(q, dq, blockBytes, blockSize, x)
        expect(relRms(x, y), `seed ${seed}`).to.be.at.most(MAX_REL_RMS[name])
        // The size of real weights (std 0.02): Q6_K's fp16 d is then subnormal, and still fine.
        // (At std 1e-3 the subnormal d costs Q6_K about 15% more error.)
        const small = x.map((v) => v * 0.02)
        const [, ys] = roundTrip(q, dq, blockBytes, blockSize, small)
        expect(relRms(small, ys), `seed ${seed}, x 0.02`).to.be.at.most(MAX_REL_RMS[name])
      }
      const [, z] = roundTrip(q, dq, blockBytes, blockSize, new Float32Array(512))
      expect([...z].every((v) => v === 0)).to.equal(true)
    })
  }

  it('Q4_K keeps a constant positive block and a block of one spike', () => {
    const x = new Float32Array(512).fill(0.75, 0, 256)
    x[256 + 17] = 3
    const [, y] = roundTrip(quantizeRowQ4K, dequantizeRowQ4K, Q4_K_BLOCK_BYTES, 256, x)
    for (let i = 0; i < 256; i++) expect(Math.abs(y[i] - 0.75)).to.be.below(0.75 * 2 ** -9) // fp16 + 6-bit scale
    expect(Math.abs(y[256 + 17] - 3)).to.be.below(3 * 2 ** -9)
    expect(Math.abs(y[256])).to.be.below(0.1)
  })

  const intDots: Array<[string, QuantFn, RowFn, number, (w: Uint8Array, wo: number, n: number, y: Uint8Array, yo: number) => number]> = [
    ['vecDotQ4KQ8K', quantizeRowQ4K, dequantizeRowQ4K, Q4_K_BLOCK_BYTES, vecDotQ4KQ8K],
    ['vecDotQ6KQ8K', quantizeRowQ6K, dequantizeRowQ6K, Q6_K_BLOCK_BYTES, vecDotQ6KQ8K],
  ]
  for (const [name, q, dq, blockBytes, vd] of intDots) {
    it(`${name} equals the dot of the dequantized rows and stays within ${MAX_DOT_PRODUCT_ERROR} n of the float dot`, () => {
      for (const seed of [5, 6, 7]) {
        const x = gaussian(N, seed)
        const a = gaussian(N, seed + 50)
        const [w, wd] = roundTrip(q, dq, blockBytes, 256, x)
        const [qa, ad] = roundTrip(quantizeRowQ8K, dequantizeRowQ8K, Q8_K_BLOCK_BYTES, 256, a)
        const got = vd(w, 0, N, qa, 0)
        const [ref, mag] = dotAndMagnitude(wd, ad)
        expect(Math.abs(got - ref), `seed ${seed}`).to.be.at.most(MAX_INT_DOT_VS_DEQUANT * mag)
        expect(Math.abs(got - dot(x, a)) / N, `seed ${seed}`).to.be.at.most(MAX_DOT_PRODUCT_ERROR)
      }
    })
  }

  it('vecDotQ8_0Q8_0 equals the dot of the dequantized rows', () => {
    const x = gaussian(N, 8), a = gaussian(N, 9)
    const [w, wd] = roundTrip(quantizeRowQ8_0, dequantizeRowQ8_0, Q8_0_BLOCK_BYTES, 32, x)
    const [qa, ad] = roundTrip(quantizeRowQ8_0, dequantizeRowQ8_0, Q8_0_BLOCK_BYTES, 32, a)
    const got = vecDotQ8_0Q8_0(w, 0, N, qa, 0)
    const [ref, mag] = dotAndMagnitude(wd, ad)
    expect(Math.abs(got - ref)).to.be.at.most(MAX_INT_DOT_VS_DEQUANT * mag)
    expect(Math.abs(got - dot(x, a)) / N).to.be.at.most(MAX_DOT_PRODUCT_ERROR)
  })
})
