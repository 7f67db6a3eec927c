import {createHash} from 'node:crypto'
import {closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {expect} from 'chai'

import {LlmfragError} from '../../src/errors.js'
import {readManifest} from '../../src/fragments/manifest.js'
import {splitModel} from '../../src/fragments/split.js'
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

  describe('a fragment set', () => {
    let tmp: string
    before(async () => {
      tmp = mkdtempSync(join(tmpdir(), 'llmfrag-source-'))
      await splitModel(MISTRAL, join(tmp, 'plain'))
      await splitModel(MISTRAL, join(tmp, 'zst'), {compress: true})
    })
    after(() => rmSync(tmp, {recursive: true, force: true}))

    for (const kind of ['plain', 'zst']) {
      for (const verify of [false, true]) {
        it(`${kind}${verify ? ', verified while streaming' : ''}: the same metadata and tensor bytes as the .gguf`, async () => {
          const src = openModelSource(join(tmp, kind))
          const h = readGGUFHeader(MISTRAL)
          expect(src.kind).to.equal('fragments')
          expect(src.version).to.equal(h.version)
          expect(src.kv).to.deep.equal(h.kv) // split.* keys removed, order kept
          expect(src.tensors.map((t) => [t.name, t.dims, t.type, t.bytes])).to.deep.equal(h.tensors.map((t) => [t.name, t.dims, t.type, t.bytes]))
          const {digests, order, progress} = await loadAll(src, verify)
          expect(digests).to.deep.equal(tensorDigests(MISTRAL))
          // Fragment order: embedding, blocks, head; each fragment's tensors in storage order.
          const m = readManifest(join(tmp, kind))
          expect(order).to.deep.equal(m.fragments.flatMap((f) => f.tensors))
          expect(progress.at(-1)).to.equal(src.totalBytes)
        })
      }
    }

    it('reports verification and hash time', async () => {
      const src = openModelSource(join(tmp, 'plain'))
      const r = await src.load((t) => new Uint8Array(t.bytes), {verify: true})
      expect(r).to.include({verified: true, bytes: src.totalBytes})
      expect(r.hashSeconds).to.be.greaterThan(0)
      const r2 = await src.load((t) => new Uint8Array(t.bytes))
      expect(r2).to.include({verified: false, hashSeconds: 0})
    })

    for (const which of ['second', 'last'] as const) it(`fails a verified load of a damaged fragment (the ${which}), naming it`, async () => {
      const dir = join(tmp, `damaged-${which}`)
      mkdirSync(dir)
      for (const f of readdirSync(join(tmp, 'plain'))) copyFileSync(join(tmp, 'plain', f), join(dir, f))
      const fragments = readManifest(dir).fragments
      const victim = join(dir, fragments[which === 'second' ? 1 : fragments.length - 1].file)
      const b = readFileSync(victim)
      b[b.length - 100] ^= 1
      writeFileSync(victim, b)
      let err: unknown
      try {
        await openModelSource(dir).load((t) => new Uint8Array(t.bytes), {verify: true})
      } catch (e) {
        err = e
      }
      expect(err).to.be.instanceOf(LlmfragError)
      expect((err as LlmfragError).code).to.equal('CHECK_FAILED')
      expect((err as LlmfragError).message).to.contain(victim).and.contain('sha256')
    })

    it('opens a set from its directory, its manifest.json or its first shard', () => {
      const dir = join(tmp, 'plain')
      const first = join(dir, readManifest(dir).fragments[0].file)
      for (const p of [dir, join(dir, 'manifest.json'), first]) expect(openModelSource(p).kind, p).to.equal('fragments')
      expect(() => openModelSource(join(tmp, 'zst', readManifest(join(tmp, 'zst')).fragments[0].file))).to.throw(LlmfragError, /compressed fragment/)
    })
  })
})
