import {expect} from 'chai'

import {Xxh64, xxh64} from '../../src/fragments/xxh64.js'
import {fillRandom} from '../support/gguf-build.js'

const text = (s: string): Uint8Array => new TextEncoder().encode(s)

describe('xxh64', () => {
  it('matches the reference vectors (seed 0)', () => {
    // XXH64("") is 0xEF46DB3751D8E999 (the zstd CLI stores its low half, 99 e9 d8 51, after an empty frame).
    expect(xxh64(new Uint8Array(0))).to.equal(0xef46db3751d8e999n)
    expect(xxh64(text('a'))).to.equal(0xd24ec4f1a98c6e5bn)
    expect(xxh64(text('abc'))).to.equal(0x44bc2cf5ad770999n)
    expect(xxh64(text('Nobody inspects the spammish repetition'))).to.equal(0xfbcea83c8a378bf1n)
  })

  it('gives the same digest however the input is cut (tails, stripes, scratch-sized pieces)', () => {
    const data = new Uint8Array((3 << 20) + 77)
    fillRandom(data, 42)
    const whole = xxh64(data)
    for (const step of [1, 7, 31, 32, 33, 1000, 1 << 20, (1 << 20) + 5]) {
      const h = new Xxh64()
      const n = step === 1 ? 4096 : data.length // byte-by-byte only over a prefix, for speed
      for (let i = 0; i < n; i += step) h.update(data.subarray(i, Math.min(n, i + step)))
      expect(h.digest(), `step ${step}`).to.equal(n === data.length ? whole : xxh64(data.subarray(0, n)))
    }
  })

  it('leaves the state unchanged by digest()', () => {
    const h = new Xxh64().update(text('abc'))
    expect(h.digest()).to.equal(h.digest())
    h.update(text(''))
    expect(h.digest()).to.equal(0x44bc2cf5ad770999n)
  })
})
