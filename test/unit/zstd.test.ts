import {expect} from 'chai'
import {decompress} from 'fzstd'

import {LlmfragError} from '../../src/errors.js'
import {xxh64} from '../../src/fragments/xxh64.js'
import {compressFrame, ZstdEncoder, ZstdStreamDecoder} from '../../src/fragments/zstd.js'
import {fillRandom} from '../support/gguf-build.js'

function concat(parts: readonly Uint8Array[]): Buffer {
  return Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)))
}

/** Half random, half a repeated pattern: compressible, but not trivially. */
function sample(n: number): Uint8Array {
  const b = new Uint8Array(n)
  fillRandom(b.subarray(0, n >> 1), 9)
  for (let i = n >> 1; i < n; i++) b[i] = i % 251
  return b
}

/** Decodes `frame` pushed in pieces of `step` bytes. */
function streamDecode(frame: Uint8Array, step: number): Buffer {
  const blocks: Uint8Array[] = []
  const d = new ZstdStreamDecoder('f.zst', (b) => blocks.push(b.slice()))
  for (let i = 0; i < frame.length; i += step) d.push(frame.subarray(i, Math.min(frame.length, i + step)), i + step >= frame.length)
  return concat(blocks)
}

describe('zstd frames', () => {
  it('compresses to one frame with the content checksum flag and XXH64 trailer that fzstd decodes', async () => {
    const content = sample(3 << 20)
    const frame = await compressFrame(content)
    expect(frame.readUInt32LE(0)).to.equal(0xfd2fb528)
    expect(frame[4] & 0x04).to.equal(0x04)
    expect(frame.readUInt32LE(frame.length - 4)).to.equal(Number(xxh64(content) & 0xffffffffn))
    expect(frame.length).to.be.lessThan(content.length * 0.75)
    expect(Buffer.from(decompress(frame)).equals(Buffer.from(content))).to.equal(true)
  })

  it('streams back the content whatever the push sizes, checking the checksum', async () => {
    const content = sample(1 << 20)
    const frame = await compressFrame(content)
    for (const step of [3, 4096, 1 << 20, frame.length]) {
      expect(streamDecode(frame, step).equals(Buffer.from(content)), `step ${step}`).to.equal(true)
    }
    const empty = await compressFrame(new Uint8Array(0))
    expect(streamDecode(empty, 64).length).to.equal(0)
  })

  it('fails on a wrong checksum, damaged data, or a frame without a checksum', async () => {
    const content = sample(256 << 10)
    const frame = await compressFrame(content)
    const badSum = Buffer.from(frame)
    badSum[badSum.length - 1] ^= 0xff
    expect(() => streamDecode(badSum, 1 << 16)).to.throw(LlmfragError, /f\.zst: zstd content checksum mismatch/)
    const badData = Buffer.from(frame)
    badData[frame.length >> 1] ^= 0x55
    let err: unknown
    try {
      streamDecode(badData, 1 << 16)
    } catch (e) {
      err = e
    }
    expect(err).to.be.instanceOf(LlmfragError)
    expect((err as LlmfragError).code).to.equal('CHECK_FAILED')
    const noSum = Buffer.from(frame.subarray(0, frame.length - 4))
    noSum[4] &= ~0x04
    expect(() => streamDecode(noSum, 1 << 16)).to.throw(LlmfragError, /no content checksum/)
  })

  it('reuses one encoder across sizes, one frame at a time, each frame valid while consumed', async () => {
    const encoder = await ZstdEncoder.create(1)
    try {
      const inputs = [sample(100_000), sample(3 << 20), sample(10), sample(1 << 20)]
      // Started together: encode() serializes them, so no frame's heap view is overwritten while in use.
      const frames = await Promise.all(inputs.map((c) => encoder.encode(c, async (f) => {
        await new Promise((r) => setTimeout(r, 5))
        return concat(f.parts)
      })))
      frames.forEach((f, i) => expect(Buffer.from(decompress(f)).equals(Buffer.from(inputs[i])), `input ${i}`).to.equal(true))
    } finally {
      encoder.release()
    }
  })
})
