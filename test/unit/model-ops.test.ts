import {expect} from 'chai'

import {addInPlace, rmsnorm, softmax, swiglu} from '../../src/model/ops.js'

describe('model: ops', () => {
  it('rmsnorm scales by 1/sqrt(mean(x^2) + eps) and the weight, at offsets', () => {
    const x = Float32Array.from([9, 1, 2, 3, 4]) // the row is x[1..5)
    const w = Float32Array.from([1, 2, 0.5, 1])
    const out = new Float32Array(6)
    rmsnorm(out, 2, x, 1, w, 4, 1e-5)
    const r = 1 / Math.sqrt((1 + 4 + 9 + 16) / 4 + 1e-5)
    expect(Array.from(out)).to.deep.equal([0, 0, ...[1 * r, 2 * r * 2, 3 * r * 0.5, 4 * r].map(Math.fround)])
  })

  it('softmax sums to 1 and survives large logits', () => {
    const v = Float64Array.from([1000, 1001, 999])
    softmax(v, 0, 3)
    expect(v[0] + v[1] + v[2]).to.be.closeTo(1, 1e-12)
    expect(v[1] / v[0]).to.be.closeTo(Math.E, 1e-9)
  })

  it('swiglu computes silu(gate) * up', () => {
    const g = Float32Array.from([0, 1, -2])
    swiglu(g, Float32Array.from([5, 2, 3]), 3)
    expect(g[0]).to.equal(0)
    expect(g[1]).to.be.closeTo(2 / (1 + Math.exp(-1)), 1e-6)
    expect(g[2]).to.be.closeTo(3 * -2 / (1 + Math.exp(2)), 1e-6)
  })

  it('adds the residual', () => {
    const x = Float32Array.from([1, 2, 3])
    addInPlace(x, Float32Array.from([0.5, 0.5, 9]), 2)
    expect(Array.from(x)).to.deep.equal([1.5, 2.5, 3])
  })
})
