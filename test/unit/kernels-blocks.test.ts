/**
 * Byte layouts: every type decoded from a block built by hand, byte by byte, with known values.
 * Each block is placed at an odd offset inside a larger buffer to catch offset arithmetic.
 */
import {expect} from 'chai'

import {kernelFor} from '../../src/kernels/index.js'
import {GGMLType} from '../../src/gguf/ggml-types.js'
import {putU16} from './kernels-support.js'

const PAD = 3 // bytes before the block

/** Dequantizes n values of `type` from a block placed at PAD inside a padded buffer. */
function decode(type: GGMLType, block: Uint8Array, n: number): Float32Array {
  const buf = new Uint8Array(PAD + block.length + 5).fill(0xee)
  buf.set(block, PAD)
  const out = new Float32Array(n + 2).fill(-7)
  kernelFor(type).dequantizeRow(buf, PAD, n, out, 1)
  expect(out[0]).to.equal(-7) // nothing written outside [outOffset, outOffset + n)
  expect(out[n + 1]).to.equal(-7)
  return out.subarray(1, n + 1)
}

describe('kernels: hand-made blocks', () => {
  it('F32: little-endian floats', () => {
    const b = new Uint8Array([0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x20, 0xc1]) // 1.5, -10
    expect([...decode(GGMLType.F32, b, 2)]).to.deep.equal([1.5, -10])
  })

  it('F16: little-endian halves', () => {
    const b = new Uint8Array([0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00]) // 1, -2, 65504, 2^-24
    expect([...decode(GGMLType.F16, b, 4)]).to.deep.equal([1, -2, 65504, 2 ** -24])
  })

  it('BF16: high halves of f32', () => {
    const b = new Uint8Array([0x80, 0x3f, 0x40, 0xc0, 0x49, 0x40]) // 1, -3, 3.140625
    expect([...decode(GGMLType.BF16, b, 3)]).to.deep.equal([1, -3, 3.140625])
  })

  it('Q8_0: half d then 32 signed bytes', () => {
    const b = new Uint8Array(34)
    putU16(b, 0, 0x3800) // d = 0.5
    for (let l = 0; l < 32; l++) b[2 + l] = (l * 8 - 128) & 0xff // q = -128, -120, ..., 120
    const v = decode(GGMLType.Q8_0, b, 32)
    expect(v[0]).to.equal(-64)
    expect(v[16]).to.equal(0)
    expect(v[31]).to.equal(60)
    for (let l = 0; l < 32; l++) expect(v[l]).to.equal(0.5 * (l * 8 - 128))
  })

  // Six-bit scales ls = [1,2,3,4,5,6,7,63] and mins lm = [0,1,2,3,4,5,6,33], packed by hand:
  //   bytes 0-3:  ls[0..3] | (ls[4..7] >> 4) << 6   -> 01 02 03 c4   (63 >> 4 = 3)
  //   bytes 4-7:  lm[0..3] | (lm[4..7] >> 4) << 6   -> 00 01 02 83   (33 >> 4 = 2)
  //   bytes 8-11: (ls[4..7] & 15) | (lm[4..7] & 15) << 4 -> 45 56 67 1f
  const scalesK = [0x01, 0x02, 0x03, 0xc4, 0x00, 0x01, 0x02, 0x83, 0x45, 0x56, 0x67, 0x1f]
  const ls = [1, 2, 3, 4, 5, 6, 7, 63]
  const lm = [0, 1, 2, 3, 4, 5, 6, 33]

  it('Q4_K: d, dmin, 12 packed scale bytes, nibbles of sub-blocks 2c (low) and 2c+1 (high)', () => {
    const b = new Uint8Array(144)
    putU16(b, 0, 0x3c00) // d = 1
    putU16(b, 2, 0x3800) // dmin = 0.5
    b.set(scalesK, 4)
    // Chunk c, byte l: low nibble l & 15 (sub-block 2c), high nibble 15 - (l & 15) (sub-block 2c+1).
    for (let c = 0; c < 4; c++) for (let l = 0; l < 32; l++) b[16 + 32 * c + l] = (l & 15) | ((15 - (l & 15)) << 4)
    const v = decode(GGMLType.Q4_K, b, 256)
    expect(v[31]).to.equal(15) // sub-block 0: 1 * 1 * 15 - 0.5 * 0
    expect(v[32]).to.equal(29.5) // sub-block 1: 2 * 15 - 0.5 * 1
    expect(v[255]).to.equal(-16.5) // sub-block 7, q = 0: -0.5 * 33
    expect(v[224]).to.equal(63 * 15 - 16.5) // sub-block 7, q = 15
    for (let k = 0; k < 256; k++) {
      const j = k >> 5, l = k & 31
      const q = j % 2 === 0 ? l & 15 : 15 - (l & 15)
      expect(v[k], `value ${k}`).to.equal(ls[j] * q - 0.5 * lm[j])
    }
  })

  it('Q5_K: as Q4_K plus qh[32] (bit j of qh[l] is the fifth bit of value l of sub-block j)', () => {
    const b = new Uint8Array(176)
    putU16(b, 0, 0x3c00) // d = 1
    putU16(b, 2, 0x3800) // dmin = 0.5
    b.set(scalesK, 4)
    // Even l: bits 0,2,4,6 (even sub-blocks get +16); odd l: bits 1,3,5,7.
    for (let l = 0; l < 32; l++) b[16 + l] = l % 2 === 0 ? 0x55 : 0xaa
    for (let c = 0; c < 4; c++) for (let l = 0; l < 32; l++) b[48 + 32 * c + l] = (l & 15) | ((15 - (l & 15)) << 4)
    const v = decode(GGMLType.Q5_K, b, 256)
    expect(v[0]).to.equal(16) // sub-block 0, l = 0: q = 0 + 16
    expect(v[1]).to.equal(1) // l = 1: q = 1, no high bit
    expect(v[33]).to.equal(2 * (14 + 16) - 0.5) // sub-block 1, l = 1: q = 14 + 16
    for (let k = 0; k < 256; k++) {
      const j = k >> 5, l = k & 31
      const q = (j % 2 === 0 ? l & 15 : 15 - (l & 15)) + (l % 2 === j % 2 ? 16 : 0)
      expect(v[k], `value ${k}`).to.equal(ls[j] * q - 0.5 * lm[j])
    }
  })

  it('Q6_K: ql[128], qh[64], int8 scales[16], half d at byte 208', () => {
    // Quants q(k) = k % 64 and scales[g] = g - 8, so value k = d * (k/16 - 8) * (k % 64 - 32).
    const b = new Uint8Array(210)
    for (let h = 0; h < 2; h++) {
      for (let l = 0; l < 32; l++) {
        const q1 = l, q2 = l + 32, q3 = l, q4 = l + 32 // values 128h + l, +32, +64, +96 mod 64
        b[64 * h + l] = (q1 & 15) | ((q3 & 15) << 4)
        b[64 * h + l + 32] = (q2 & 15) | ((q4 & 15) << 4)
        b[128 + 32 * h + l] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6)
      }
    }
    expect([b[0], b[17], b[32], b[128], b[144]]).to.deep.equal([0x00, 0x11, 0x00, 0x88, 0xdd]) // the packing, spelled out
    for (let g = 0; g < 16; g++) b[192 + g] = (g - 8) & 0xff
    putU16(b, 208, 0x3400) // d = 0.25
    const v = decode(GGMLType.Q6_K, b, 256)
    expect(v[0]).to.equal(0.25 * -8 * -32)
    expect(v[255]).to.equal(0.25 * 7 * 31)
    for (let k = 0; k < 256; k++) expect(v[k], `value ${k}`).to.equal(0.25 * ((k >> 4) - 8) * ((k % 64) - 32))
  })
})
