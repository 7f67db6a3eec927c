/**
 * Kernels on real llama-quantize output: every tensor of tiny-mistral dequantizes to finite values
 * whose statistics match the generator's (test/fixtures/README.md: N(0, 0.02) matrices,
 * attn_q/attn_k N(0, 0.08), output N(0, 0.05), norms 1 + N(0, 0.05)), and the integer dot
 * products agree with the dequantized weights on real rows.
 */
import {expect} from 'chai'
import {closeSync, openSync, readFileSync, readSync} from 'node:fs'

import {GGMLType, ggmlTypeName} from '../../src/gguf/ggml-types.js'
import {readGGUFHeader} from '../../src/gguf/reader.js'
import type {GGUFTensorInfo} from '../../src/gguf/types.js'
import {kernelFor} from '../../src/kernels/index.js'
import {vecDotQ4KQ8K} from '../../src/kernels/q4_k.js'
import {vecDotQ6KQ8K} from '../../src/kernels/q6_k.js'
import {dequantizeRowQ8K, Q8_K_BLOCK_BYTES, quantizeRowQ8K} from '../../src/kernels/q8_k.js'
import {gaussian} from '../unit/kernels-support.js'

const dir = 'test/fixtures/tiny-mistral'
const model = `${dir}/tiny-mistral-Q4_K_M.gguf`

/** Generator's standard deviation and mean per tensor name. */
function expected(name: string): {mean: number, std: number} {
  if (name.endsWith('norm.weight')) return {mean: 1, std: 0.05}
  if (name === 'output.weight') return {mean: 0, std: 0.05}
  if (/attn_[qk]\.weight$/.test(name)) return {mean: 0, std: 0.08}
  return {mean: 0, std: 0.02}
}

describe('kernels on tiny-mistral (real Q4_K / Q6_K / F32 data)', () => {
  const header = readGGUFHeader(model)
  const fd = openSync(model, 'r')
  after(() => closeSync(fd))

  function tensorBytes(t: GGUFTensorInfo): Uint8Array {
    const buf = new Uint8Array(t.bytes)
    expect(readSync(fd, buf, 0, t.bytes, header.dataOffset + t.offset)).to.equal(t.bytes)
    return buf
  }

  it('has the tensor types summary.json lists', () => {
    const summary = JSON.parse(readFileSync(`${dir}/summary.json`, 'utf8')) as {tensor_types: Record<string, string>}
    const types = Object.fromEntries(header.tensors.map((t) => [t.name, ggmlTypeName(t.type)]))
    expect(types).to.deep.equal(summary.tensor_types)
  })

  it('dequantizes every tensor to finite values with the generator\'s mean and std', () => {
    for (const t of header.tensors) {
      const n = t.dims.reduce((a, b) => a * b, 1)
      const out = new Float32Array(n)
      kernelFor(t.type).dequantizeRow(tensorBytes(t), 0, n, out, 0)
      let s = 0, s2 = 0, bad = 0
      for (const v of out) {
        if (!Number.isFinite(v)) bad++
        s += v
        s2 += v * v
      }
      expect(bad, `${t.name}: non-finite values`).to.equal(0)
      const mean = s / n, std = Math.sqrt(s2 / n - mean * mean)
      const e = expected(t.name)
      expect(Math.abs(mean - e.mean), `${t.name} mean ${mean}`).to.be.below(0.05 * e.std + 3 * e.std / Math.sqrt(n))
      // 5% for quantization, plus three standard errors of a sample std (1/sqrt(2n), 4% for a 256-value norm).
      expect(Math.abs(std / e.std - 1), `${t.name} std ${std}`).to.be.below(0.05 + 3 / Math.sqrt(2 * n))
    }
  })

  it('integer dot products with Q8_K activations match the dequantized rows', () => {
    for (const name of ['blk.0.ffn_down.weight', 'blk.1.ffn_down.weight', 'output.weight']) {
      const t = header.tensors.find((x) => x.name === name)
      if (!t) throw new Error(`fixture has no ${name}`)
      const n = t.dims[0], k = kernelFor(t.type)
      const rowBytes = (n / k.blockSize) * k.blockBytes
      const w = tensorBytes(t)
      const x = gaussian(n, 3)
      const qx = new Uint8Array((n / 256) * Q8_K_BLOCK_BYTES)
      quantizeRowQ8K(x, 0, n, qx, 0)
      const xd = new Float32Array(n)
      dequantizeRowQ8K(qx, 0, n, xd, 0)
      const vd = t.type === GGMLType.Q4_K ? vecDotQ4KQ8K : vecDotQ6KQ8K
      const row = new Float32Array(n)
      for (let r = 0; r < 16; r++) {
        k.dequantizeRow(w, r * rowBytes, n, row, 0)
        let ref = 0, mag = 0
        for (let i = 0; i < n; i++) {
          ref += row[i] * xd[i]
          mag += Math.abs(row[i] * xd[i])
        }
        expect(Math.abs(vd(w, r * rowBytes, n, qx, 0) - ref), `${name} row ${r}`).to.be.at.most(1e-6 * mag)
      }
    }
  })
})
