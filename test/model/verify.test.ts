import {expect} from 'chai'
import {copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {LlmfragError} from '../../src/errors.js'
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
