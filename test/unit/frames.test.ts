import {expect} from 'chai'
import {mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {LlmfragError} from '../../src/errors.js'
import {readFramesFile, writeFramesFile} from '../../src/frames/file.js'
import {modelFingerprint} from '../../src/frames/fingerprint.js'
import {decodeFrame, decodeFrames, encodeFrame, type FrameModel} from '../../src/frames/frame.js'
import {GGMLType} from '../../src/gguf/ggml-types.js'

const table = (layers: number, dim: number): Array<{name: string; type: GGMLType; dims: number[]}> => [
  {name: 'token_embd.weight', type: GGMLType.Q4_K, dims: [dim, 32768]},
  ...Array.from({length: layers}, (_, i) => ({name: `blk.${i}.attn_q.weight`, type: GGMLType.Q4_K, dims: [dim, dim]})),
]
const magistral: FrameModel = {architecture: 'magistral', fingerprint: modelFingerprint(table(40, 5120))}
const mistral: FrameModel = {architecture: 'mistral_7b', fingerprint: modelFingerprint(table(32, 4096))}

/** A (4, 6) float32 hidden state with distinct, exactly representable values. */
function hidden(): {dtype: GGMLType; dims: number[]; data: Uint8Array; name: string} {
  const f = Float32Array.from({length: 24}, (_, i) => (i - 12) / 8)
  return {name: 'hidden', dtype: GGMLType.F32, dims: [6, 4], data: new Uint8Array(f.buffer)}
}

function expectError(fn: () => unknown, code: string, message: RegExp | string): void {
  try {
    fn()
  } catch (err) {
    expect(err).to.be.instanceOf(LlmfragError)
    expect((err as LlmfragError).code).to.equal(code)
    if (typeof message === 'string') expect((err as Error).message).to.equal(message)
    else expect((err as Error).message).to.match(message)
    return
  }
  expect.fail('expected an error')
}

describe('tensor frames', () => {
  it('fingerprints the tensor table, not the offsets, and tells tables apart', () => {
    const a = modelFingerprint(table(2, 256))
    expect(a).to.have.length(32)
    expect(Buffer.from(modelFingerprint(table(2, 256))).equals(Buffer.from(a))).to.equal(true)
    expect(Buffer.from(modelFingerprint(table(3, 256))).equals(Buffer.from(a))).to.equal(false)
    const q6 = table(2, 256).map((t, i) => (i === 1 ? {...t, type: GGMLType.Q6_K} : t))
    expect(Buffer.from(modelFingerprint(q6)).equals(Buffer.from(a))).to.equal(false)
  })

  for (const codec of ['raw', 'zstd'] as const) {
    it(`round-trips a tensor with codec ${codec}, byte for byte`, async () => {
      const t = hidden()
      const frame = await encodeFrame(t, magistral, codec)
      const d = decodeFrame(frame, magistral)
      expect(d.architecture).to.equal('magistral')
      expect(d.name).to.equal('hidden')
      expect(d.dtype).to.equal(GGMLType.F32)
      expect(d.dims).to.deep.equal([6, 4])
      expect(d.codec).to.equal(codec)
      expect(Buffer.from(d.data).equals(Buffer.from(t.data))).to.equal(true)
      expect(d.frameBytes).to.equal(frame.length)
    })
  }

  it('compresses a compressible payload with zstd', async () => {
    const data = new Uint8Array(4 * 4096) // zeros: a fresh KV cache
    const raw = await encodeFrame({dtype: GGMLType.F32, dims: [4096], data}, mistral, 'raw')
    const z = await encodeFrame({dtype: GGMLType.F32, dims: [4096], data}, mistral, 'zstd')
    expect(z.length).to.be.lessThan(raw.length / 10)
    expect(Buffer.from(decodeFrame(z, mistral).data).equals(Buffer.from(data))).to.equal(true)
  })

  it('refuses a frame made for another architecture with the exact message', async () => {
    const frame = await encodeFrame(hidden(), mistral)
    expectError(() => decodeFrame(frame, magistral), 'ARCH_MISMATCH', 'Architecture mismatch during deserialization. Expected magistral, got mistral_7b')
  })

  it('refuses a frame of the same architecture but another tensor table', async () => {
    const other: FrameModel = {architecture: 'magistral', fingerprint: modelFingerprint(table(39, 5120))}
    const frame = await encodeFrame(hidden(), other)
    expectError(() => decodeFrame(frame, magistral), 'ARCH_MISMATCH', /^Model mismatch during deserialization/)
  })

  it('refuses a frame truncated anywhere', async () => {
    for (const codec of ['raw', 'zstd'] as const) {
      const frame = await encodeFrame(hidden(), magistral, codec)
      for (const cut of [0, 10, 59, 91, 100, frame.length - 33, frame.length - 1]) {
        expectError(() => decodeFrame(frame.subarray(0, cut), magistral), 'BAD_INPUT', /^tensor frame: truncated/)
      }
    }
  })

  it('refuses a frame with any single byte flipped', async () => {
    for (const codec of ['raw', 'zstd'] as const) {
      const frame = await encodeFrame(hidden(), magistral, codec)
      for (let i = 0; i < frame.length; i++) {
        const damaged = Buffer.from(frame)
        damaged[i] ^= 0x10
        // A flip in a length field may also read as truncation; either way nothing is returned.
        expectError(() => decodeFrame(damaged, magistral), i === 4 || i === 5 ? 'UNSUPPORTED' : 'BAD_INPUT', /tensor frame: (bad magic|checksum mismatch|truncated|version|payload bytes)/)
      }
    }
  })

  it('refuses what is not a frame, and a tensor whose bytes do not match its shape', async () => {
    expectError(() => decodeFrame(Buffer.alloc(200), magistral), 'BAD_INPUT', /bad magic/)
    try {
      await encodeFrame({dtype: GGMLType.F32, dims: [5, 4], data: new Uint8Array(96)}, magistral)
      expect.fail('expected an error')
    } catch (err) {
      expect((err as LlmfragError).code).to.equal('BAD_INPUT')
      expect((err as Error).message).to.equal('tensor frame: F32 [5, 4] is 80 bytes, got 96')
    }
  })

  it('reads frames back to back and writes files of frames atomically', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmfrag-frames-'))
    try {
      const tokens = new Int32Array([1, 3, 4, 99])
      const path = join(dir, 'session.lfrm')
      const written = await writeFramesFile(path, [
        {name: 'tokens', dtype: GGMLType.I32, dims: [4], data: new Uint8Array(tokens.buffer)},
        hidden(),
      ], magistral, 'zstd')
      expect(readdirSync(dir)).to.deep.equal(['session.lfrm'])
      const frames = await readFramesFile(path, magistral)
      expect(frames.map((f) => f.name)).to.deep.equal(['tokens', 'hidden'])
      expect([...new Int32Array(frames[0].data.slice().buffer)]).to.deep.equal([1, 3, 4, 99])
      expect(frames.reduce((s, f) => s + f.frameBytes, 0)).to.equal(written)
      const both = Buffer.concat([await encodeFrame(hidden(), magistral), await encodeFrame(hidden(), magistral)])
      expect(decodeFrames(both, magistral)).to.have.length(2)
      expectError(() => decodeFrames(both.subarray(0, both.length - 5), magistral), 'BAD_INPUT', /truncated/)
      try {
        await readFramesFile(path, mistral)
        expect.fail('expected an error')
      } catch (err) {
        expect((err as Error).message).to.equal('Architecture mismatch during deserialization. Expected mistral_7b, got magistral')
      }
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
