import {expect} from 'chai'

import {rope, ropeAngles} from '../../src/model/ops.js'

/** Angles of one position as (cos, sin) tables. */
function angles(pos: number, base: number, dims: number, scale = 1): {cos: Float64Array; sin: Float64Array} {
  const cos = new Float64Array(dims / 2), sin = new Float64Array(dims / 2)
  ropeAngles(pos, base, dims, scale, cos, sin, 0)
  return {cos, sin}
}

describe('model: RoPE (llama layout)', () => {
  it('computes theta_i = pos * base^(-2i/dims)', () => {
    const {cos, sin} = angles(3, 10000, 8)
    for (let i = 0; i < 4; i++) {
      const theta = 3 * Math.pow(10000, -2 * i / 8)
      expect(cos[i]).to.be.closeTo(Math.cos(theta), 1e-15)
      expect(sin[i]).to.be.closeTo(Math.sin(theta), 1e-15)
    }
  })

  it('rotates adjacent pairs (x[2i], x[2i+1]), not the NeoX halves', () => {
    const {cos, sin} = angles(1, 100, 4)
    const v = Float32Array.from([1, 0, 0, 1]) // pair 0 = (1, 0), pair 1 = (0, 1)
    rope(v, 0, 1, 4, 4, cos, sin, 0)
    const t0 = 1, t1 = Math.pow(100, -0.5) // theta_0 = 1, theta_1 = 0.1
    expect(v[0]).to.be.closeTo(Math.cos(t0), 1e-6)
    expect(v[1]).to.be.closeTo(Math.sin(t0), 1e-6)
    expect(v[2]).to.be.closeTo(-Math.sin(t1), 1e-6)
    expect(v[3]).to.be.closeTo(Math.cos(t1), 1e-6)
  })

  it('is the identity at position 0 and preserves each pair\'s norm', () => {
    const v = Float32Array.from({length: 16}, (_, i) => Math.sin(i + 1))
    const orig = Float32Array.from(v)
    const a0 = angles(0, 1e6, 8)
    rope(v, 0, 2, 8, 8, a0.cos, a0.sin, 0)
    expect(Array.from(v)).to.deep.equal(Array.from(orig))
    const a = angles(17, 1e6, 8)
    rope(v, 0, 2, 8, 8, a.cos, a.sin, 0)
    for (let j = 0; j < 16; j += 2) {
      expect(Math.hypot(v[j], v[j + 1])).to.be.closeTo(Math.hypot(orig[j], orig[j + 1]), 1e-6)
    }
  })

  it('rotates every head the same way at an offset, and only the first ropeDims dims', () => {
    const headDim = 8, ropeDims = 4
    const v = new Float32Array(3 + 2 * headDim)
    for (let i = 0; i < v.length; i++) v[i] = i + 1
    const orig = Float32Array.from(v)
    const a = angles(5, 10000, ropeDims)
    rope(v, 3, 2, headDim, ropeDims, a.cos, a.sin, 0)
    expect(Array.from(v.subarray(0, 3))).to.deep.equal([1, 2, 3]) // before the offset: untouched
    for (let h = 0; h < 2; h++) {
      const b = 3 + h * headDim
      for (let i = ropeDims; i < headDim; i++) expect(v[b + i]).to.equal(orig[b + i]) // tail: unrotated
      const x0 = orig[b], x1 = orig[b + 1]
      expect(v[b]).to.be.closeTo(x0 * a.cos[0] - x1 * a.sin[0], 1e-5)
      expect(v[b + 1]).to.be.closeTo(x0 * a.sin[0] + x1 * a.cos[0], 1e-5)
    }
  })

  it('divides the position by a linear scale factor', () => {
    const a = angles(8, 10000, 4, 4)
    const b = angles(2, 10000, 4)
    expect(Array.from(a.cos)).to.deep.equal(Array.from(b.cos))
  })

  it('makes q.k depend only on the distance between positions', () => {
    const q = Float32Array.from([0.3, -1.2, 0.7, 0.25])
    const k = Float32Array.from([1.1, 0.4, -0.6, 0.9])
    const dotAt = (pq: number, pk: number): number => {
      const qq = Float32Array.from(q), kk = Float32Array.from(k)
      const aq = angles(pq, 500, 4), ak = angles(pk, 500, 4)
      rope(qq, 0, 1, 4, 4, aq.cos, aq.sin, 0)
      rope(kk, 0, 1, 4, 4, ak.cos, ak.sin, 0)
      return qq.reduce((s, x, i) => s + x * kk[i], 0)
    }
    expect(dotAt(10, 7)).to.be.closeTo(dotAt(103, 100), 1e-5)
  })
})
