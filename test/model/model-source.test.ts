import {createHash} from 'node:crypto'
import {closeSync, openSync, readSync} from 'node:fs'

import {expect} from 'chai'

import {LlmfragError} from '../../src/errors.js'
import {readGGUFHeader} from '../../src/gguf/reader.js'
import type {ModelSource, SourceTensor} from '../../src/source/model-source.js'
import {openModelSource} from '../../src/source/open.js'

const MISTRAL = 'test/fixtures/tiny-mistral/tiny-mistral-Q4_K_M.gguf'

/** sha256 of each tensor's bytes read straight from the .gguf with the header's offsets. */
function tensorDigests(path: string): Map<string, string> {
  const h = readGGUFHeader(path)
  const fd = openSync(path, 'r')
  try {
    return new Map(h.tensors.map((t) => {
      const b = Buffer.alloc(t.bytes)
      readSync(fd, b, 0, t.bytes, h.dataOffset + t.offset)
      return [t.name, createHash('sha256').update(b).digest('hex')]
    }))
  } finally {
    closeSync(fd)
  }
}

/** Loads every tensor into its own buffer; returns sha256 per tensor and the order of placement. */
async function loadAll(src: ModelSource, verify = false): Promise<{digests: Map<string, string>; order: string[]; progress: number[]}> {
  const bufs = new Map<string, Uint8Array>()
  const order: string[] = []
  const progress: number[] = []
  await src.load((t: SourceTensor) => {
    const b = new Uint8Array(t.bytes)
    bufs.set(t.name, b)
    order.push(t.name)
    return b
  }, {verify, onProgress: (done, total) => {
    expect(total).to.equal(src.totalBytes)
    progress.push(done)
  }})
  const digests = new Map([...bufs].map(([n, b]) => [n, createHash('sha256').update(b).digest('hex')]))
  return {digests, order, progress}
}

describe('model sources', () => {
  describe('a single .gguf file', () => {
    it('shows the header and loads every tensor byte for byte, in file order', async () => {
      const src = openModelSource(MISTRAL)
      const h = readGGUFHeader(MISTRAL)
      expect(src.kind).to.equal('gguf')
      expect(src.version).to.equal(3)
      expect(src.kv.map((e) => e.key)).to.deep.equal(h.kv.map((e) => e.key))
      expect(src.tensors.map((t) => t.name)).to.deep.equal(h.tensors.map((t) => t.name))
      expect(src.totalBytes).to.equal(h.tensors.reduce((s, t) => s + t.bytes, 0))
      const {digests, order, progress} = await loadAll(src)
      expect(digests).to.deep.equal(tensorDigests(MISTRAL))
      expect(order).to.deep.equal([...h.tensors].sort((a, b) => a.offset - b.offset).map((t) => t.name))
      expect(progress.at(-1)).to.equal(src.totalBytes)
    })

    it('refuses a view of the wrong size', async () => {
      const src = openModelSource(MISTRAL)
      let err: unknown
      try {
        await src.load((t) => new Uint8Array(t.bytes + 1))
      } catch (e) {
        err = e
      }
      expect(err).to.be.instanceOf(LlmfragError)
      expect((err as LlmfragError).message).to.match(/returned \d+ bytes, expected \d+/)
    })

    it('reports a missing path as an IO error', () => {
      expect(() => openModelSource('test/fixtures/nope.gguf')).to.throw(LlmfragError, /no such file/)
    })
  })
})
