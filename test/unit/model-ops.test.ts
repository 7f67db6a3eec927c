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

  it('swiglu stays within one float32 step of silu with Math.exp, from -120 to 120, and keeps +Infinity and NaN', () => {
    const n = 48001
    const g = Float32Array.from({length: n}, (_, i) => -120 + i * 0.005)
    const want = Float32Array.from(g, (v) => v / (1 + Math.exp(-v)))
    swiglu(g, new Float32Array(n).fill(1), n)
    let differ = 0
    for (let i = 0; i < n; i++) {
      if (g[i] === want[i]) continue
      differ++
      expect(Math.abs(g[i] - want[i]), `at ${-120 + i * 0.005}`).to.be.at.most(Math.abs(want[i]) * 2 ** -23)
    }
    expect(differ).to.be.below(n / 50)
    const s = Float32Array.from([Infinity, NaN, 1e30, -1e30])
    swiglu(s, new Float32Array(4).fill(2), 4)
    expect(s[0]).to.equal(Infinity)
    expect(s[1]).to.be.NaN
    expect(s[2]).to.equal(Math.fround(Math.fround(1e30) * 2))
    expect(s[3]).to.equal(0)
  })

  it('adds the residual', () => {
    const x = Float32Array.from([1, 2, 3])
    addInPlace(x, Float32Array.from([0.5, 0.5, 9]), 2)
    expect(Array.from(x)).to.deep.equal([1.5, 2.5, 3])
  })
})
