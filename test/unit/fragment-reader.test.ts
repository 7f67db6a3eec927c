import {createHash} from 'node:crypto'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {expect} from 'chai'

import {LlmfragError} from '../../src/errors.js'
import {ChunkRing} from '../../src/fragments/chunk-ring.js'
import {FragmentReader, type RawChunk} from '../../src/fragments/fragment-reader.js'
import type {ManifestFragment} from '../../src/fragments/manifest.js'
import {StreamHasher} from '../../src/fragments/stream-hash.js'
import {fillRandom} from '../support/gguf-build.js'

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

describe('FragmentReader (plain fragments)', () => {
  let dir: string
  const files: Array<{entry: ManifestFragment; data: Uint8Array}> = []

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'llmfrag-reader-'))
    // Sizes around the slot size (64 KiB): less than one slot, several slots and a part, exactly two.
    for (const [i, size] of [1000, 200_000, 1 << 17].entries()) {
      const data = new Uint8Array(size)
      fillRandom(data, i + 1)
      const file = `f-${i + 1}.gguf`
      writeFileSync(join(dir, file), data)
      files.push({data, entry: {index: i + 1, file, bytes: size, sha256: sha256(data), data_offset: 0, layer: i, tensors: []}})
    }
  })
  after(() => rmSync(dir, {recursive: true, force: true}))

  it('streams fragments back to back (streamQueued), each sha256 resolving later, as stream() reports them', async () => {
    const ring = new ChunkRing(3, 1 << 16)
    const pool = new StreamHasher(ring.buffers)
    try {
      const reader = new FragmentReader(dir, false, ring, pool)
      const seen = files.map(() => [] as number[])
      const digests: Array<Promise<string | undefined>> = []
      for (const [i, {entry}] of files.entries()) {
        const onChunk = (c: RawChunk): Promise<void> => {
          seen[i].push(...c.slot.bytes.subarray(0, c.length))
          return new Promise((resolve) => setTimeout(resolve, 2)) // work that still holds the slot
        }
        const {storedSha256} = await reader.streamQueued(entry, {hash: true, onChunk})
        digests.push(storedSha256)
      }
      await ring.drain()
      expect(await Promise.all(digests)).to.deep.equal(files.map((f) => f.entry.sha256))
      files.forEach((f, i) => expect(Buffer.from(seen[i]).equals(Buffer.from(f.data))).to.equal(true))

      const report = await reader.stream(files[1].entry, {hash: true, onChunk: () => {}})
      expect(report.storedSha256).to.equal(files[1].entry.sha256)
      expect(report.rawBytes).to.equal(files[1].data.length)
    } finally {
      await pool.close()
    }
  })

  it('refuses a fragment whose size differs from the manifest, naming the file', async () => {
    const ring = new ChunkRing(2, 1 << 16)
    const reader = new FragmentReader(dir, false, ring)
    let err: unknown
    try {
      await reader.streamQueued({...files[0].entry, bytes: 999}, {hash: false, onChunk: () => {}})
    } catch (e) {
      err = e
    }
    expect(err).to.be.instanceOf(LlmfragError)
    expect((err as LlmfragError).message).to.contain('f-1.gguf').and.contain('file size')
  })
})
