/** Loops over the traits table: sizes agree with ggml's type table; dot agrees with dequantize. */
import {expect} from 'chai'

import {LlmfragError} from '../../src/errors.js'
import {GGMLType, ggmlTypeInfo} from '../../src/gguf/ggml-types.js'
import {f32ToBf16, f32ToFp16} from '../../src/kernels/fp16.js'
import {kernelFor, supportedKernelTypes} from '../../src/kernels/index.js'
import {gaussian, putU16, randomBytes} from './kernels-support.js'

/** Dot of a dequantized row with x, relative to sum |w x| (f32 rounding of dequantized values). */
const MAX_DOT_VS_DEQUANT = 1e-6

/** Byte offsets of the fp16 scale fields in one block of each quant type. */
const halfFields: Partial<Record<GGMLType, number[]>> = {
  [GGMLType.Q8_0]: [0], [GGMLType.Q4_K]: [0, 2], [GGMLType.Q5_K]: [0, 2], [GGMLType.Q6_K]: [208],
}

/**
 * `rows` random rows of n values of `type`: random bytes for the quants with their fp16 scales
 * replaced by finite values of a realistic size, converted Gaussians for the float types.
 */
function randomRows(type: GGMLType, n: number, rows: number, seed: number): Uint8Array {
  const k = kernelFor(type)
  const bytes = (n / k.blockSize) * k.blockBytes * rows
  const values = gaussian(n * rows, seed)
  switch (type) {
    case GGMLType.F32: return new Uint8Array(values.buffer)
    case GGMLType.F16:
    case GGMLType.BF16: {
      const out = new Uint16Array(n * rows)
      for (let i = 0; i < out.length; i++) out[i] = type === GGMLType.F16 ? f32ToFp16(values[i]) : f32ToBf16(values[i])
      return new Uint8Array(out.buffer)
    }
    default: {
      const out = randomBytes(bytes, seed)
      const scales = gaussian(bytes, seed + 1, 0.01)
      for (let b = 0; b < bytes / k.blockBytes; b++) {
        for (const f of halfFields[type] ?? []) putU16(out, b * k.blockBytes + f, f32ToFp16(Math.abs(scales[b * 2 + (f ? 1 : 0)])))
      }
      return out
    }
  }
}

describe('kernels: traits table', () => {
  it('covers the inference types of DESIGN section 3', () => {
    expect(supportedKernelTypes()).to.deep.equal([
      GGMLType.F32, GGMLType.F16, GGMLType.Q8_0, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K, GGMLType.BF16,
    ])
  })

  it('refuses other types with an UNSUPPORTED error naming the type', () => {
    for (const t of [GGMLType.Q4_0, GGMLType.IQ2_XXS, GGMLType.Q8_K]) {
      let err: unknown
      try {
        kernelFor(t)
      } catch (e) {
        err = e
      }
      expect(err).to.be.instanceOf(LlmfragError)
      const le = err as LlmfragError
      expect(le.code).to.equal('UNSUPPORTED')
      expect(le.message).to.contain(ggmlTypeInfo(t)?.name)
      expect(le.hints.join(' ')).to.contain('Q4_K')
    }
  })

  for (const type of supportedKernelTypes()) {
    const name = ggmlTypeInfo(type)?.name ?? String(type)
    describe(name, () => {
      const k = kernelFor(type)

      it('has the block size and bytes of ggml\'s type table', () => {
        expect(k.type).to.equal(type)
        expect(k.blockSize).to.equal(ggmlTypeInfo(type)?.blockSize)
        expect(k.blockBytes).to.equal(ggmlTypeInfo(type)?.blockBytes)
      })

      it('dotRow equals the dot of dequantizeRow with x, row by row at any offset', () => {
        const n = 3 * 256, rows = 3
        const w = randomRows(type, n, rows, 11 + type)
        const rowBytes = w.length / rows
        const padded = new Uint8Array(w.length + 5)
        padded.set(w, 5) // an odd start: kernels must not assume alignment
        const x = gaussian(n + 7, 99)
        const deq = new Float32Array(n)
        for (let r = 0; r < rows; r++) {
          k.dequantizeRow(padded, 5 + r * rowBytes, n, deq, 0)
          let ref = 0, mag = 0
          for (let i = 0; i < n; i++) {
            expect(Number.isFinite(deq[i]), `value ${i}`).to.equal(true)
            ref += deq[i] * x[7 + i]
            mag += Math.abs(deq[i] * x[7 + i])
          }
          const got = k.dotRow(padded, 5 + r * rowBytes, n, x, 7)
          expect(Math.abs(got - ref), `row ${r}`).to.be.at.most(MAX_DOT_VS_DEQUANT * mag)
        }
      })
    })
  }
})
