import {createHash} from 'node:crypto'
import {closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {expect} from 'chai'
import {decompress} from 'fzstd'

import {LlmfragError} from '../../src/errors.js'
import {joinFragments} from '../../src/fragments/join.js'
import {type Manifest, readManifest} from '../../src/fragments/manifest.js'
import {splitModel} from '../../src/fragments/split.js'
import {xxh64} from '../../src/fragments/xxh64.js'
import {ggmlTypeName} from '../../src/gguf/ggml-types.js'
import {readGGUFHeader} from '../../src/gguf/reader.js'
import {GGUFValueType} from '../../src/gguf/types.js'
import {synthesize} from '../../src/synth/index.js'
import {basicKV, buildGGUF, llamaTensors} from '../support/gguf-build.js'

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
const fileSha = (p: string): string => sha256(readFileSync(p))

async function rejection(p: Promise<unknown>): Promise<LlmfragError> {
  try {
    await p
  } catch (err) {
    expect(err).to.be.instanceOf(LlmfragError)
    return err as LlmfragError
  }
  throw new Error('expected a rejection')
}

/** Bytes [at, at + n) of a file. */
function readRange(path: string, at: number, n: number): Buffer {
  const fd = openSync(path, 'r')
  try {
    const b = Buffer.alloc(n)
    readSync(fd, b, 0, n, at)
    return b
  } finally {
    closeSync(fd)
  }
}

describe('split and join', function () {
  this.timeout(300_000)
  let tmp: string
  const models: Array<{name: string; path: string; layers: number}> = [
    {name: 'tiny-mistral', path: 'test/fixtures/tiny-mistral/tiny-mistral-Q4_K_M.gguf', layers: 2},
    {name: 'tiny-magistral', path: 'test/fixtures/tiny-magistral/tiny-magistral-Q4_K_M.gguf', layers: 2},
  ]

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'llmfrag-split-join-'))
    const synth = join(tmp, 'synth-6.gguf')
    await synthesize({architecture: 'mistral_7b', output: synth, layers: 6, dim: 256, ffnHidden: 768, heads: 4, kvHeads: 2, vocab: 2048, seed: 3})
    models.push({name: 'synth 6 layers', path: synth, layers: 6})
  })
  after(() => rmSync(tmp, {recursive: true, force: true}))

  for (const compress of [false, true]) {
    for (const i of [0, 1, 2]) {
      it(`model ${i + 1} of 3 (fixtures, synth), ${compress ? 'zstd' : 'plain'}: split then join is byte-identical`, async () => {
        const {path, layers} = models[i]
        const dir = join(tmp, `set-${i}-${compress}`)
        const progress: number[] = []
        const r = await splitModel(path, dir, {compress, onProgress: (done, total) => {
          expect(total).to.equal(statSync(path).size)
          progress.push(done)
        }})
        const m = readManifest(dir)
        const source = readFileSync(path)
        expect(m.source.sha256).to.equal(sha256(source)).and.equal(r.source.sha256)
        expect(m.source.size).to.equal(source.length)
        expect(progress.at(-1)).to.equal(source.length)
        expect(r.fragments).to.equal(layers + 2)
        expect(m.fragments.map((f) => f.layer)).to.deep.equal(['embed', ...Array.from({length: layers}, (_, k) => k), 'head'])
        expect(m.fragments[0].tensors).to.include('token_embd.weight')
        expect(m.fragments.at(-1)?.tensors).to.have.members(['output_norm.weight', 'output.weight'])
        expect(readdirSync(dir).sort()).to.deep.equal(['manifest.json', ...m.fragments.map((f) => f.file)].sort())
        for (const f of m.fragments) {
          expect(f.file).to.match(new RegExp(`-${String(f.index).padStart(5, '0')}-of-${String(layers + 2).padStart(5, '0')}\\.gguf${compress ? '\\.zst' : ''}$`))
          expect(fileSha(join(dir, f.file)), f.file).to.equal(f.sha256)
          expect(statSync(join(dir, f.file)).size).to.equal(f.bytes)
        }
        // Every tensor's sha256 is that of its bytes in the source.
        const h = readGGUFHeader(path)
        for (const t of h.tensors) {
          const entry = m.tensors.find((e) => e.name === t.name)
          expect(entry?.sha256, t.name).to.equal(sha256(source.subarray(h.dataOffset + t.offset, h.dataOffset + t.offset + t.bytes)))
          expect(entry?.source_offset).to.equal(t.offset)
        }

        const out = join(tmp, `joined-${i}-${compress}.gguf`)
        const j = await joinFragments(dir, out)
        expect(j.sha256).to.equal(m.source.sha256)
        expect(readFileSync(out).equals(source)).to.equal(true)
        expect(readdirSync(tmp).filter((n) => n.startsWith('.partial-'))).to.deep.equal([])
      })
    }
  }

  it('uncompressed fragments are llama.cpp split shards holding the source tensors', () => {
    const src = models[2].path
    const dir = join(tmp, 'set-2-false')
    const m = readManifest(dir)
    const h = readGGUFHeader(src)
    const n = m.fragments.length
    m.fragments.forEach((f, i) => {
      const path = join(dir, f.file)
      const shard = readGGUFHeader(path)
      expect(shard.version).to.equal(h.version)
      expect(shard.dataOffset).to.equal(f.data_offset)
      const split = shard.kv.filter((e) => e.key.startsWith('split.'))
      expect(split).to.deep.equal([
        {key: 'split.no', type: GGUFValueType.UINT16, value: i},
        {key: 'split.count', type: GGUFValueType.UINT16, value: n},
        {key: 'split.tensors.count', type: GGUFValueType.INT32, value: h.tensors.length},
      ])
      // All metadata in the first shard only, in the source's order, split keys last.
      expect(shard.kv.length).to.equal(i === 0 ? h.kv.length + 3 : 3)
      if (i === 0) expect(shard.kv.slice(0, h.kv.length)).to.deep.equal(h.kv)
      expect(shard.tensors.map((t) => t.name)).to.deep.equal(f.tensors)
      expect(statSync(path).size % h.alignment).to.equal(0)
      for (const t of shard.tensors) {
        const s = h.tensors.find((x) => x.name === t.name)
        expect(t.dims, t.name).to.deep.equal(s?.dims)
        expect(t.type).to.equal(s?.type)
        const entry = m.tensors.find((e) => e.name === t.name)
        expect(entry).to.include({fragment: f.index, offset: t.offset, type: ggmlTypeName(t.type)})
        expect(sha256(readRange(path, shard.dataOffset + t.offset, t.bytes))).to.equal(entry?.sha256)
      }
    })
  })

  it('compressed fragments are one zstd frame each, with the content checksum of the raw shard', () => {
    const dir = join(tmp, 'set-0-true')
    const plain = readManifest(join(tmp, 'set-0-false'))
    const m = readManifest(dir)
    expect(m.compression).to.equal('zstd')
    m.fragments.forEach((f, i) => {
      const z = readFileSync(join(dir, f.file))
      expect(z.readUInt32LE(0)).to.equal(0xfd2fb528)
      expect(z[4] & 0x04, 'Content_Checksum_flag').to.equal(0x04)
      const raw = decompress(z)
      expect(raw.length).to.equal(f.raw_bytes)
      expect(sha256(raw)).to.equal(f.raw_sha256).and.equal(plain.fragments[i].sha256)
      expect(z.readUInt32LE(z.length - 4)).to.equal(Number(xxh64(raw) & 0xffffffffn))
    })
  })

  it('joins a model whose fragments are interleaved in the source (hashing the output again)', async () => {
    const t = llamaTensors(2)
    // blk.0 is split around token_embd and output: fragment order and source order disagree.
    const order = [t[1], t[0], t[2], t[t.length - 1], t[3], ...t.slice(4, -1)]
    const src = join(tmp, 'interleaved.gguf')
    const bytes = buildGGUF(src, {tensors: order, kv: basicKV('interleaved', 64), alignment: 64})
    const dir = join(tmp, 'set-interleaved')
    await splitModel(src, dir)
    const out = join(tmp, 'interleaved-joined.gguf')
    const j = await joinFragments(dir, out)
    expect(j.rehashed).to.equal(true)
    expect(readFileSync(out).equals(bytes)).to.equal(true)
    // A non-default alignment is carried into every shard.
    for (const f of readManifest(dir).fragments) expect(readGGUFHeader(join(dir, f.file)).alignment).to.equal(64)
  })

  it('handles GGUF v2 and a model without an output head', async () => {
    const src = join(tmp, 'v2.gguf')
    const bytes = buildGGUF(src, {tensors: llamaTensors(1).filter((t) => !t.name.startsWith('output')), version: 2})
    const dir = join(tmp, 'set-v2')
    const r = await splitModel(src, dir, {compress: true})
    expect(r.fragments).to.equal(2)
    const m = readManifest(dir)
    expect(m.source.gguf_version).to.equal(2)
    expect(m.fragments.map((f) => f.layer)).to.deep.equal(['embed', 0])
    const out = join(tmp, 'v2-joined.gguf')
    await joinFragments(dir, out)
    expect(readFileSync(out).equals(bytes)).to.equal(true)
  })

  it('refuses files that would not join back byte for byte, leaving nothing behind', async () => {
    const cases: Array<[string, Parameters<typeof buildGGUF>[1], RegExp]> = [
      ['dirty-padding', {tensors: llamaTensors(1).slice(-2), dirtyPadding: true}, /non-zero byte at \d+, between tensor output_norm.weight and tensor output.weight/],
      ['trailing', {tensors: llamaTensors(1), trailing: new Uint8Array([0, 0, 7])}, /non-zero byte at \d+, after the last tensor/],
    ]
    for (const [name, options, message] of cases) {
      const src = join(tmp, `${name}.gguf`)
      buildGGUF(src, options)
      const dir = join(tmp, `set-${name}`)
      const err = await rejection(splitModel(src, dir))
      expect(err.code).to.equal('UNSUPPORTED')
      expect(err.message).to.match(message)
      expect(existsSync(dir) ? readdirSync(dir) : []).to.deep.equal([])
    }
    // Zero trailing bytes are fine: join restores them.
    const src = join(tmp, 'zero-tail.gguf')
    const bytes = buildGGUF(src, {tensors: llamaTensors(1), trailing: new Uint8Array(100)})
    await splitModel(src, join(tmp, 'set-zero-tail'))
    await joinFragments(join(tmp, 'set-zero-tail'), join(tmp, 'zero-tail-joined.gguf'))
    expect(readFileSync(join(tmp, 'zero-tail-joined.gguf')).equals(bytes)).to.equal(true)
  })

  it('refuses to split a split shard', async () => {
    const err = await rejection(splitModel(join(tmp, 'set-0-false', readManifest(join(tmp, 'set-0-false')).fragments[1].file), join(tmp, 'x')))
    expect(err.code).to.equal('BAD_INPUT')
    expect(err.message).to.contain('already a split shard')
  })

  it('refuses a non-empty directory unless forced; --force replaces the previous set', async () => {
    const src = models[0].path
    const dir = join(tmp, 'set-force')
    await splitModel(src, dir)
    const err = await rejection(splitModel(src, dir, {compress: true}))
    expect(err.code).to.equal('BAD_INPUT')
    expect(err.message).to.contain('is not empty')
    writeFileSync(join(dir, 'notes.txt'), 'kept')
    await splitModel(src, dir, {compress: true, force: true})
    const m = readManifest(dir)
    expect(readdirSync(dir).sort()).to.deep.equal(['manifest.json', 'notes.txt', ...m.fragments.map((f) => f.file)].sort())
  })

  it('stops when aborted, removing the partial files (split and join)', async () => {
    const src = join(tmp, 'two-chunks.gguf')
    buildGGUF(src, {tensors: llamaTensors(2, 1024, 8192)}) // 20 MB: two 16 MiB chunks
    const dir = join(tmp, 'set-aborted')
    const stop = new AbortController()
    const err = await rejection(splitModel(src, dir, {signal: stop.signal, onProgress: () => stop.abort(new LlmfragError('INTERNAL', 'stop'))}))
    expect(err.message).to.equal('stop')
    expect(readdirSync(dir)).to.deep.equal([])
    const out = join(tmp, 'aborted.gguf')
    const stop2 = new AbortController()
    const err2 = await rejection(joinFragments(join(tmp, 'set-1-false'), out, {signal: stop2.signal, onProgress: () => stop2.abort(new LlmfragError('INTERNAL', 'stop'))}))
    expect(err2.message).to.equal('stop')
    expect(existsSync(out)).to.equal(false)
    expect(readdirSync(tmp).filter((n) => n.startsWith('.partial-'))).to.deep.equal([])
  })

  describe('join failures', () => {
    /** A copy of a split set with `change` applied to its files. */
    function damagedCopy(from: string, name: string, change: (dir: string, m: Manifest) => void): string {
      const dir = join(tmp, name)
      mkdirSync(dir)
      for (const f of readdirSync(from)) copyFileSync(join(from, f), join(dir, f))
      change(dir, readManifest(dir))
      return dir
    }

    for (const compress of [false, true]) {
      it(`a changed byte in a ${compress ? 'compressed' : 'plain'} fragment fails the join (exit 1) and leaves no output`, async () => {
        const dir = damagedCopy(join(tmp, `set-2-${compress}`), `damaged-${compress}`, (d, m) => {
          const f = join(d, m.fragments[2].file)
          const b = readFileSync(f)
          b[b.length - 1000] ^= 0x20
          writeFileSync(f, b)
        })
        const out = join(tmp, `damaged-${compress}.gguf`)
        const err = await rejection(joinFragments(dir, out))
        expect(err.code).to.equal('CHECK_FAILED')
        expect(err.message).to.contain(readManifest(dir).fragments[2].file)
        expect(existsSync(out)).to.equal(false)
        expect(readdirSync(tmp).filter((n) => n.startsWith('.partial-'))).to.deep.equal([])
      })
    }

    it('a missing fragment is an IO error; an existing output needs force', async () => {
      const dir = damagedCopy(join(tmp, 'set-0-false'), 'missing', (d, m) => rmSync(join(d, m.fragments[1].file)))
      const err = await rejection(joinFragments(dir, join(tmp, 'missing.gguf')))
      expect(err.code).to.equal('IO')
      expect(err.message).to.contain('no such file')
      const exists = join(tmp, 'exists.gguf')
      writeFileSync(exists, 'x')
      const err2 = await rejection(joinFragments(join(tmp, 'set-0-false'), exists))
      expect(err2.code).to.equal('BAD_INPUT')
      expect(readFileSync(exists, 'utf8')).to.equal('x')
      await joinFragments(join(tmp, 'set-0-false'), exists, {force: true})
      expect(fileSha(exists)).to.equal(readManifest(join(tmp, 'set-0-false')).source.sha256)
    })

    it('a manifest that fails its schema is rejected with the JSON path', async () => {
      const dir = damagedCopy(join(tmp, 'set-0-false'), 'bad-manifest', (d) => {
        const m = JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8')) as {fragments: Array<{file: string}>}
        m.fragments[1].file = '../escape.gguf'
        writeFileSync(join(d, 'manifest.json'), JSON.stringify(m))
      })
      const err = await rejection(joinFragments(dir, join(tmp, 'bad.gguf')))
      expect(err.code).to.equal('MANIFEST')
      expect(err.message).to.contain('/fragments/1/file')
    })
  })
})
