import {expect} from 'chai'
import {createHash} from 'node:crypto'
import {copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {LlmfragError} from '../../src/errors.js'
import type {Manifest} from '../../src/fragments/manifest.js'
import {splitModel} from '../../src/fragments/split.js'
import {type VerifyCheck, type VerifyResult, verify} from '../../src/fragments/verify.js'
import {CUSTOM_PROFILE} from '../../src/profiles/detect.js'
import {synthesize} from '../../src/synth/index.js'

const TINY_MISTRAL = 'test/fixtures/tiny-mistral/tiny-mistral-Q4_K_M.gguf'
const TINY_MISTRAL_SHA256 = '02a66ee3661184f2102dd2ecbdaf9f2e4a2c313fa9a20de9ced3dc8733845988' // summary.json model_sha256

function checkOf(r: VerifyResult, id: VerifyCheck['id']): VerifyCheck {
  const c = r.checks.find((x) => x.id === id)
  if (!c) throw new Error(`no check ${id}`)
  return c
}

/** The ids of the checks that failed. */
function failed(r: VerifyResult): string[] {
  return r.checks.filter((c) => !c.ok).map((c) => c.id)
}

/** Byte offset just after the first occurrence of `text` in `buf` (a key or tensor name in a header). */
function offsetAfter(buf: Buffer, text: string): number {
  const at = buf.indexOf(Buffer.from(text, 'utf8'))
  if (at < 0) throw new Error(`${text} not found`)
  return at + text.length
}

async function rejects(p: Promise<unknown>): Promise<LlmfragError> {
  try {
    await p
  } catch (err) {
    if (err instanceof LlmfragError) return err
    throw err
  }
  throw new Error('expected an LlmfragError')
}

describe('verify: a plain .gguf file', () => {
  let dir: string

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'llmfrag-verify-gguf-'))
  })

  after(() => rmSync(dir, {recursive: true, force: true}))

  it('passes tiny-mistral with every check but the manifest\'s, and reports the file\'s sha256', async () => {
    const r = await verify(TINY_MISTRAL)
    expect(r.ok).to.equal(true)
    expect(r.kind).to.equal('gguf')
    expect(r.architecture).to.equal(CUSTOM_PROFILE)
    expect(r.sha256).to.equal(TINY_MISTRAL_SHA256)
    expect(r.checks.map((c) => c.id)).to.deep.equal(['fragments', 'readable', 'architecture', 'dimensions', 'checksums'])
    expect(r.checks.map((c) => c.skipped)).to.deep.equal([true, false, false, false, true])
    expect(checkOf(r, 'architecture').name).to.equal('Architecture detected: llama-family (custom)')
    expect(checkOf(r, 'architecture').detail).to.equal('dim 256, hidden 768, 2 layers')
    expect(checkOf(r, 'dimensions').detail).to.equal('21 tensors')
    expect(checkOf(r, 'checksums').detail).to.match(new RegExp(`^no manifest to compare; sha256 ${TINY_MISTRAL_SHA256}, 0\\.01 GiB at \\d+\\.\\d\\d GB/s$`))
  })

  it('--quick skips the checksums', async () => {
    const r = await verify(TINY_MISTRAL, {quick: true})
    expect(r.ok).to.equal(true)
    expect(r.sha256).to.equal(undefined)
    expect(checkOf(r, 'checksums')).to.deep.include({ok: true, skipped: true, detail: 'skipped (--quick)'})
  })

  it('--expected-architecture fails a different detection with the exact message', async () => {
    const path = join(dir, 'mistral_7b.gguf')
    await synthesize({architecture: 'mistral_7b', headerOnly: true, output: path})
    const ok = await verify(path, {quick: true, expectedArchitecture: 'mistral_7b'})
    expect(ok.ok).to.equal(true)
    expect(checkOf(ok, 'architecture').name).to.equal('Architecture detected: mistral_7b')
    expect(checkOf(ok, 'architecture').detail).to.equal('dim 4096, hidden 14336, 32 layers')
    expect(checkOf(ok, 'dimensions').detail).to.equal('291 tensors')
    const r = await verify(path, {quick: true, expectedArchitecture: 'magistral'})
    expect(r.ok).to.equal(false)
    expect(failed(r)).to.deep.equal(['architecture'])
    expect(checkOf(r, 'architecture').problems).to.deep.equal([{
      code: 'architecture_mismatch', expected: 'magistral', actual: 'mistral_7b',
      message: 'Architecture mismatch: expected magistral, got mistral_7b',
    }])
  })

  it('names the tensors whose shapes disagree with the metadata', async () => {
    // head_count_kv 2 -> 1 in the header: attn_k and attn_v should then be [256, 64].
    const buf = readFileSync(TINY_MISTRAL)
    const at = offsetAfter(buf, 'llama.attention.head_count_kv') + 4 // skip the u32 value type
    expect(buf.readUInt32LE(at)).to.equal(2)
    buf.writeUInt32LE(1, at)
    const path = join(dir, 'kv1.gguf')
    writeFileSync(path, buf)
    const r = await verify(path, {quick: true})
    expect(failed(r)).to.deep.equal(['dimensions'])
    expect(checkOf(r, 'dimensions').problems.map((p) => [p.code, p.tensor, p.expected, p.actual])).to.deep.equal([
      ['shape', 'blk.0.attn_k.weight', '[256, 64]', '[256, 128]'],
      ['shape', 'blk.0.attn_v.weight', '[256, 64]', '[256, 128]'],
      ['shape', 'blk.1.attn_k.weight', '[256, 64]', '[256, 128]'],
      ['shape', 'blk.1.attn_v.weight', '[256, 64]', '[256, 128]'],
    ])
    expect(checkOf(r, 'dimensions').problems[0].message).to.equal('blk.0.attn_k.weight: shape expected [256, 64], actual [256, 128]')
  })

  it('fails the readable check for a truncated file, naming the tensor cut', async () => {
    const path = join(dir, 'short.gguf')
    copyFileSync(TINY_MISTRAL, path)
    const buf = readFileSync(path)
    writeFileSync(path, buf.subarray(0, buf.length - 1000))
    const r = await verify(path)
    expect(r.ok).to.equal(false)
    const p = checkOf(r, 'readable').problems
    expect(p).to.have.length(1)
    expect(p[0]).to.deep.include({code: 'header', fragment: 'short.gguf', field: 'tensor blk.1.ffn_up.weight data'})
    expect(checkOf(r, 'architecture').detail).to.equal('not checked: the header is unreadable')
  })

  it('rejects bad input: a missing path, a file that is not GGUF, an unknown profile', async () => {
    expect((await rejects(verify(join(dir, 'nope')))).code).to.equal('IO')
    writeFileSync(join(dir, 'text.gguf'), 'not a model at all')
    expect((await rejects(verify(join(dir, 'text.gguf')))).code).to.equal('GGUF_FORMAT')
    expect((await rejects(verify(TINY_MISTRAL, {expectedArchitecture: 'llama9'}))).code).to.equal('BAD_INPUT')
  })
})

describe('verify: a fragment set', () => {
  let root: string
  let plain: string // tiny-mistral split into 4 fragments: embed, blk.0, blk.1, head
  let zst: string // the same, compressed
  let n = 0
  const frag = (i: number, compressed = false): string => `tiny-mistral-Q4_K_M-0000${i}-of-00004.gguf${compressed ? '.zst' : ''}`

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'llmfrag-verify-set-'))
    plain = join(root, 'plain')
    zst = join(root, 'zst')
    await splitModel(TINY_MISTRAL, plain)
    await splitModel(TINY_MISTRAL, zst, {compress: true})
  })

  after(() => rmSync(root, {recursive: true, force: true}))

  /** A scratch copy of a set to damage. */
  function copySet(from = plain): string {
    const to = join(root, `case-${++n}`)
    cpSync(from, to, {recursive: true})
    return to
  }

  const manifestOf = (dir: string): Manifest => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest
  const writeManifestRaw = (dir: string, m: unknown): void => writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m, null, 2))

  function flipByte(file: string, at: number): void {
    const buf = readFileSync(file)
    buf[at] ^= 0x5a
    writeFileSync(file, buf)
  }

  /** File offset of a byte inside a tensor's data in a plain fragment. */
  function dataOffsetOf(dir: string, tensor: string, delta: number): {file: string; at: number} {
    const m = manifestOf(dir)
    const t = m.tensors.find((x) => x.name === tensor)
    if (!t) throw new Error(tensor)
    const f = m.fragments[t.fragment - 1]
    return {file: join(dir, f.file), at: f.data_offset + t.offset + delta}
  }

  for (const compressed of [false, true]) {
    it(`passes an intact ${compressed ? 'compressed' : 'plain'} set with all five checks`, async () => {
      const r = await verify(compressed ? zst : plain)
      expect(r.ok).to.equal(true)
      expect(r.kind).to.equal('fragments')
      expect(r.checks.map((c) => [c.id, c.ok, c.skipped])).to.deep.equal([
        ['fragments', true, false], ['readable', true, false], ['architecture', true, false], ['dimensions', true, false], ['checksums', true, false],
      ])
      expect(r.checks.map((c) => c.problems.length)).to.deep.equal([0, 0, 0, 0, 0])
      expect(checkOf(r, 'fragments').detail).to.equal('4 fragments')
      expect(checkOf(r, 'readable').detail).to.match(/^4 files, 0\.01 GiB$/)
      expect(checkOf(r, 'architecture').name).to.equal('Architecture detected: llama-family (custom)')
      expect(checkOf(r, 'dimensions').detail).to.equal('21 tensors')
      expect(checkOf(r, 'checksums').detail).to.match(/^sha256, 0\.01 GiB at \d+\.\d\d GB\/s$/)
    })
  }

  it('names the fragment and tensor of a flipped byte in tensor data (and --quick does not read data)', async () => {
    const dir = copySet()
    const {file, at} = dataOffsetOf(dir, 'blk.0.ffn_up.weight', 1000)
    flipByte(file, at)
    const r = await verify(dir)
    expect(failed(r)).to.deep.equal(['checksums'])
    const m = manifestOf(dir)
    const t = m.tensors.find((x) => x.name === 'blk.0.ffn_up.weight')
    const problems = checkOf(r, 'checksums').problems
    expect(problems.map((p) => [p.code, p.fragment, p.tensor])).to.deep.equal([
      ['checksum', frag(2), undefined],
      ['checksum', frag(2), 'blk.0.ffn_up.weight'],
    ])
    expect(problems[0].expected).to.equal(m.fragments[1].sha256)
    expect(problems[0].actual).to.equal(createHash('sha256').update(readFileSync(file)).digest('hex'))
    expect(problems[1].expected).to.equal(t?.sha256)
    expect(problems[1].message).to.match(new RegExp(`^blk\\.0\\.ffn_up\\.weight \\(in ${frag(2).replace(/\./g, '\\.')}\\): sha256 expected ${t?.sha256}, actual [0-9a-f]{64}$`))
    expect((await verify(dir, {quick: true})).ok).to.equal(true)
  })

  it('names the fragment and tensor of a flipped byte in a header\'s tensor table', async () => {
    const dir = copySet()
    const file = join(dir, frag(3))
    const buf = readFileSync(file)
    const at = buf.indexOf(Buffer.from('blk.1.ffn_gate.weight'))
    flipByte(file, at + 'blk.1.ffn_'.length) // blk.1.ffn_gate -> blk.1.ffn_=ate
    const r = await verify(dir)
    expect(failed(r)).to.deep.equal(['readable', 'checksums'])
    const renamed = `blk.1.ffn_${String.fromCharCode('g'.charCodeAt(0) ^ 0x5a)}ate.weight`
    expect(checkOf(r, 'readable').problems.map((p) => [p.code, p.fragment, p.tensor, p.field, p.expected, p.actual])).to.deep.equal([
      ['tensor_table', frag(3), 'blk.1.ffn_gate.weight', 'presence', 'present', 'missing'],
      ['tensor_table', frag(3), renamed, 'presence', 'absent', 'present'],
    ])
    // The data still matches every tensor's sha256: only the fragment's own sha256 fails.
    expect(checkOf(r, 'checksums').problems.map((p) => [p.fragment, p.tensor])).to.deep.equal([[frag(3), undefined]])
  })

  it('names the fragment of a flipped byte in the metadata of the first fragment', async () => {
    const dir = copySet()
    const file = join(dir, frag(1))
    const buf = readFileSync(file)
    flipByte(file, buf.indexOf(Buffer.from('[/AVAILABLE_TOOLS]')) + 3)
    const r = await verify(dir)
    expect(failed(r)).to.deep.equal(['checksums'])
    expect(checkOf(r, 'checksums').problems.map((p) => [p.fragment, p.tensor])).to.deep.equal([[frag(1), undefined]])
  })

  it('names a truncated fragment, its expected and actual size and the tensor cut', async () => {
    const dir = copySet()
    const file = join(dir, frag(3))
    const m = manifestOf(dir)
    truncateSync(file, m.fragments[2].bytes - 1000)
    const r = await verify(dir)
    expect(failed(r)).to.deep.equal(['readable', 'checksums'])
    expect(checkOf(r, 'readable').problems).to.deep.equal([{
      code: 'size', fragment: frag(3), field: 'bytes', expected: m.fragments[2].bytes, actual: m.fragments[2].bytes - 1000, tensor: 'blk.1.ffn_up.weight',
      message: `${frag(3)}: expected ${m.fragments[2].bytes} bytes, actual ${m.fragments[2].bytes - 1000} (truncated); first tensor cut: blk.1.ffn_up.weight`,
    }])
  })

  it('names a missing and an extra fragment', async () => {
    const dir = copySet()
    unlinkSync(join(dir, frag(2)))
    copyFileSync(join(dir, frag(3)), join(dir, 'tiny-mistral-Q4_K_M-00005-of-00004.gguf'))
    const r = await verify(dir)
    expect(failed(r)).to.deep.equal(['fragments', 'readable'])
    expect(checkOf(r, 'fragments').detail).to.equal('4 expected, 3 present, 1 extra')
    expect(checkOf(r, 'fragments').problems.map((p) => [p.code, p.fragment, p.expected, p.actual])).to.deep.equal([
      ['fragment_missing', frag(2), 'fragment 2 of 4', 'missing'],
      ['fragment_extra', 'tiny-mistral-Q4_K_M-00005-of-00004.gguf', 'only the 4 listed fragments', 'present'],
    ])
    expect(checkOf(r, 'readable').problems.map((p) => [p.code, p.fragment])).to.deep.equal([['unreadable', frag(2)]])
  })

  it('fails a manifest edited to a wrong sha256, naming the fragment with both values', async () => {
    const dir = copySet()
    const m = manifestOf(dir)
    const real = m.fragments[3].sha256
    writeManifestRaw(dir, {...m, fragments: m.fragments.map((f, i) => (i === 3 ? {...f, sha256: 'ab'.repeat(32)} : f))})
    const r = await verify(dir)
    expect(failed(r)).to.deep.equal(['checksums'])
    expect(checkOf(r, 'checksums').problems).to.deep.equal([{
      code: 'checksum', fragment: frag(4), field: 'sha256', expected: 'ab'.repeat(32), actual: real,
      message: `${frag(4)}: sha256 expected ${'ab'.repeat(32)}, actual ${real}`,
    }])
  })

  it('names tensors whose shapes disagree with the metadata (fragment header edited, sha256 updated)', async () => {
    const dir = copySet()
    const file = join(dir, frag(1))
    const buf = readFileSync(file)
    const at = offsetAfter(buf, 'llama.attention.head_count_kv') + 4
    expect(buf.readUInt32LE(at)).to.equal(2)
    buf.writeUInt32LE(1, at)
    writeFileSync(file, buf)
    const m = manifestOf(dir)
    const sha = createHash('sha256').update(buf).digest('hex')
    writeManifestRaw(dir, {...m, fragments: m.fragments.map((f, i) => (i === 0 ? {...f, sha256: sha} : f))})
    const r = await verify(dir)
    expect(failed(r)).to.deep.equal(['dimensions'])
    expect(checkOf(r, 'dimensions').problems.map((p) => [p.tensor, p.fragment, p.expected, p.actual])).to.deep.equal([
      ['blk.0.attn_k.weight', frag(2), '[256, 64]', '[256, 128]'],
      ['blk.0.attn_v.weight', frag(2), '[256, 64]', '[256, 128]'],
      ['blk.1.attn_k.weight', frag(3), '[256, 64]', '[256, 128]'],
      ['blk.1.attn_v.weight', frag(3), '[256, 64]', '[256, 128]'],
    ])
  })

  it('names a tensor whose manifest shape differs from its fragment header', async () => {
    const dir = copySet()
    const m = manifestOf(dir)
    writeManifestRaw(dir, {...m, tensors: m.tensors.map((t) => (t.name === 'blk.1.attn_q.weight' ? {...t, shape: [256, 512]} : t))})
    const r = await verify(dir)
    expect(failed(r)).to.deep.equal(['readable'])
    expect(checkOf(r, 'readable').problems.map((p) => p.message)).to.deep.equal([
      `blk.1.attn_q.weight (in ${frag(3)}): shape in the fragment header: expected [256, 512] (manifest), actual [256, 256]`,
    ])
  })

  it('rejects a manifest naming a file with "/" or "..", and one failing its schema, with the JSON path', async () => {
    for (const bad of ['../outside.gguf', 'sub/dir.gguf']) {
      const dir = copySet()
      const m = manifestOf(dir)
      writeManifestRaw(dir, {...m, fragments: m.fragments.map((f, i) => (i === 1 ? {...f, file: bad} : f))})
      const err = await rejects(verify(dir))
      expect(err.code).to.equal('MANIFEST')
      expect(err.message).to.contain('/fragments/1/file').and.contain('plain file name')
    }
    const dir = copySet()
    const m = manifestOf(dir)
    writeManifestRaw(dir, {...m, fragments: m.fragments.map((f, i) => (i === 2 ? {...f, bytes: '12'} : f))})
    const err = await rejects(verify(dir))
    expect(err.code).to.equal('MANIFEST')
    expect(err.message).to.contain('/fragments/2/bytes')
  })

  it('--expected-architecture set to another profile fails the architecture check', async () => {
    const r = await verify(plain, {expectedArchitecture: 'magistral', quick: true})
    expect(failed(r)).to.deep.equal(['architecture'])
    expect(checkOf(r, 'architecture').problems.map((p) => p.message)).to.deep.equal(['Architecture mismatch: expected magistral, got llama-family (custom)'])
  })

  it('names the damaged fragment of a compressed set', async () => {
    const dir = copySet(zst)
    const file = join(dir, frag(4, true))
    flipByte(file, Math.floor(readFileSync(file).length / 2))
    const r = await verify(dir)
    expect(failed(r)).to.include('checksums')
    const problems = checkOf(r, 'checksums').problems
    expect(problems[0]).to.deep.include({code: 'checksum', fragment: frag(4, true), field: 'sha256'})
    expect(problems.length).to.be.greaterThan(1) // the frame fails to decode, or raw_sha256 / a tensor differs
    expect(problems.slice(1).every((p) => p.fragment === frag(4, true))).to.equal(true)
  })
})
