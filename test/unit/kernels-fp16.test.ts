import {expect} from 'chai'

import {bf16ToF32, f32ToBf16, f32ToFp16, FP16_TABLE, fp16ToF32} from '../../src/kernels/fp16.js'

describe('kernels/fp16', () => {
  it('decodes known half values through the table', () => {
    expect(fp16ToF32(0x0000)).to.equal(0)
    expect(Object.is(fp16ToF32(0x8000), -0)).to.equal(true)
    expect(fp16ToF32(0x3c00)).to.equal(1)
    expect(fp16ToF32(0x3e00)).to.equal(1.5)
    expect(fp16ToF32(0xc000)).to.equal(-2)
    expect(fp16ToF32(0x3555)).to.equal(Math.fround(0.333251953125))
    expect(fp16ToF32(0x7bff)).to.equal(65504) // largest finite
    expect(fp16ToF32(0x0400)).to.equal(2 ** -14) // smallest normal
    expect(fp16ToF32(0x0001)).to.equal(2 ** -24) // smallest subnormal
    expect(fp16ToF32(0x03ff)).to.equal(1023 * 2 ** -24) // largest subnormal
    expect(fp16ToF32(0x7c00)).to.equal(Infinity)
    expect(fp16ToF32(0xfc00)).to.equal(-Infinity)
    expect(fp16ToF32(0x7e00)).to.be.NaN
    expect(FP16_TABLE.length).to.equal(65536)
  })

  it('round-trips every non-NaN half through f32ToFp16', () => {
    let bad = 0
    for (let h = 0; h < 65536; h++) {
      const v = FP16_TABLE[h]
      if (Number.isNaN(v)) continue
      if (f32ToFp16(v) !== h) bad++
    }
    expect(bad).to.equal(0)
  })

  it('rounds f32 to the nearest half, ties to even, overflow to infinity', () => {
    // 1 + 2^-11 is halfway between 1 (even mantissa) and 1 + 2^-10: rounds down to 1.
    expect(f32ToFp16(1 + 2 ** -11)).to.equal(0x3c00)
    // 1 + 3 * 2^-11 is halfway between 1 + 2^-10 (odd) and 1 + 2^-9: rounds up to the even one.
    expect(f32ToFp16(1 + 3 * 2 ** -11)).to.equal(0x3c02)
    expect(f32ToFp16(1 + 2 ** -11 + 2 ** -20)).to.equal(0x3c01)
    expect(f32ToFp16(65519)).to.equal(0x7bff)
    expect(f32ToFp16(65520)).to.equal(0x7c00) // halfway to 2^16 rounds to infinity
    expect(f32ToFp16(-1e9)).to.equal(0xfc00)
    expect(f32ToFp16(2 ** -25)).to.equal(0x0000) // tie to even (zero)
    expect(f32ToFp16(3 * 2 ** -25)).to.equal(0x0002) // tie to even (2 subnormal steps)
    expect(f32ToFp16(2 ** -26)).to.equal(0x0000)
    expect(f32ToFp16(-0)).to.equal(0x8000)
    expect(f32ToFp16(NaN) & 0x7c00).to.equal(0x7c00)
    expect(f32ToFp16(NaN) & 0x3ff).to.not.equal(0)
  })

  it('converts bf16 as the high half of an f32, rounding to nearest even', () => {
    expect(bf16ToF32(0x3f80)).to.equal(1)
    expect(bf16ToF32(0xc040)).to.equal(-3)
    expect(bf16ToF32(0x4049)).to.equal(3.140625)
    expect(bf16ToF32(0x7f80)).to.equal(Infinity)
    expect(f32ToBf16(1)).to.equal(0x3f80)
    expect(f32ToBf16(Math.PI)).to.equal(0x4049) // 3.14159.. -> 3.140625
    expect(f32ToBf16(1 + 2 ** -8)).to.equal(0x3f80) // tie, even stays
    expect(f32ToBf16(1 + 3 * 2 ** -8)).to.equal(0x3f82) // tie, odd rounds up
    expect(f32ToBf16(NaN) & 0x7fc0).to.equal(0x7fc0)
  })
})
