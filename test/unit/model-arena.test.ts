import {expect} from 'chai'

import {LlmfragError} from '../../src/errors.js'
import {Arena} from '../../src/model/arena.js'

describe('model: Arena', () => {
  it('places a group contiguously, 64-byte aligned, in shared WebAssembly memory', () => {
    const a = new Arena(1 << 20)
    const [s1, s2, s3] = a.allocGroup([100, 4, 64])
    expect([s1.offset, s2.offset, s3.offset]).to.deep.equal([0, 128, 192])
    expect(a.memories[0].buffer).to.be.instanceOf(SharedArrayBuffer)
    expect(a.memories[0].buffer.byteLength).to.equal(65536) // grown page by page to what was placed
    a.bytes(s2).set([1, 2, 3, 4])
    expect(Array.from(new Uint8Array(a.memories[0].buffer, 128, 4))).to.deep.equal([1, 2, 3, 4])
    expect(a.floats(s3).length).to.equal(16)
  })

  it('opens a new region when a group would pass the budget, never splitting a group', () => {
    const a = new Arena(200_000)
    const g1 = a.allocGroup([100_000])
    const g2 = a.allocGroup([60_000, 60_000])
    const g3 = a.allocGroup([50_000])
    expect(g1[0].region).to.equal(0)
    expect(g2.map((s) => s.region)).to.deep.equal([1, 1])
    expect(g3[0].region).to.equal(1)
    expect(a.memories.length).to.equal(2)
    // views stay valid after a region grows
    const v = a.bytes(g2[0])
    v[0] = 7
    a.allocGroup([10_000])
    expect(a.bytes(g2[0])[0]).to.equal(7)
  })

  it('refuses a group larger than a region', () => {
    expect(() => new Arena(1000).allocGroup([600, 600])).to.throw(LlmfragError, 'does not fit')
  })
})
