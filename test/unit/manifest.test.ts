import {mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {expect} from 'chai'

import {LlmfragError} from '../../src/errors.js'
import {
  fragmentFileName, isPlainName, type Manifest, MANIFEST_FILE, parseManifest, readManifest, validateManifest, writeManifest,
} from '../../src/fragments/manifest.js'

const H = (c: string): string => c.repeat(64)

/** A small valid manifest: 3 fragments (embed, block 0, head), 4 tensors. */
function sample(): Manifest {
  return {
    format: 1,
    tool: {name: 'llmfrag', version: '0.1.0'},
    created: '2025-01-02T03:04:05.678Z',
    source: {file: 'm.gguf', size: 4096, sha256: H('a'), gguf_version: 3, tensor_count: 4, kv_count: 5, alignment: 32, data_offset: 1024},
    architecture: {name: 'llama', general_architecture: 'llama', dim: 64, layers: 1},
    compression: 'none',
    fragments: [
      {index: 1, file: fragmentFileName('m', 1, 3, false), bytes: 2000, sha256: H('b'), data_offset: 960, layer: 'embed', tensors: ['token_embd.weight']},
      {index: 2, file: fragmentFileName('m', 2, 3, false), bytes: 900, sha256: H('c'), data_offset: 256, layer: 0, tensors: ['blk.0.attn_norm.weight', 'blk.0.attn_q.weight']},
      {index: 3, file: fragmentFileName('m', 3, 3, false), bytes: 500, sha256: H('d'), data_offset: 256, layer: 'head', tensors: ['output_norm.weight']},
    ],
    tensors: [
      {name: 'token_embd.weight', type: 'Q4_K', shape: [256, 4], fragment: 1, offset: 0, bytes: 576, sha256: H('1'), source_offset: 0},
      {name: 'blk.0.attn_norm.weight', type: 'F32', shape: [64], fragment: 2, offset: 0, bytes: 256, sha256: H('2'), source_offset: 576},
      {name: 'blk.0.attn_q.weight', type: 'F32', shape: [64, 2], fragment: 2, offset: 256, bytes: 512, sha256: H('3'), source_offset: 832},
      {name: 'output_norm.weight', type: 'F32', shape: [64], fragment: 3, offset: 0, bytes: 256, sha256: H('4'), source_offset: 1344},
    ],
  }
}

type Json = null | boolean | number | string | Json[] | {[key: string]: Json}
const DELETE = Symbol('delete')

/**
 * A deep copy of the sample as plain JSON (what a reader sees) with the value at a JSON pointer
 * (`/fragments/1/sha256`) replaced, or removed with DELETE.
 */
function mutated(pointer: string, value: Json | typeof DELETE): unknown {
  const root = JSON.parse(JSON.stringify(sample())) as Json
  const keys = pointer.split('/').slice(1)
  let at = root
  for (const k of keys.slice(0, -1)) at = (at as Record<string, Json>)[k]
  const last = keys[keys.length - 1]
  if (value === DELETE) delete (at as Record<string, Json>)[last]
  else (at as Record<string, Json>)[last] = value
  return root
}

function rejection(value: unknown): LlmfragError {
  try {
    validateManifest(value, 'set/manifest.json')
  } catch (err) {
    expect(err).to.be.instanceOf(LlmfragError)
    return err as LlmfragError
  }
  throw new Error('expected the manifest to be rejected')
}

describe('manifest', () => {
  it('accepts a valid manifest and returns it unchanged', () => {
    const m = sample()
    expect(validateManifest(JSON.parse(JSON.stringify(m)), 'x')).to.deep.equal(m)
  })

  it('names fragments as llama.cpp gguf-split does', () => {
    expect(fragmentFileName('Mistral-7B', 2, 34, false)).to.equal('Mistral-7B-00002-of-00034.gguf')
    expect(fragmentFileName('m', 12, 42, true)).to.equal('m-00012-of-00042.gguf.zst')
  })

  it('recognises plain names', () => {
    for (const ok of ['a.gguf', 'model-00001-of-00003.gguf.zst', '.hidden']) expect(isPlainName(ok), ok).to.equal(true)
    for (const bad of ['', '.', '..', '../x.gguf', 'a/b.gguf', 'a\\b.gguf', '/abs.gguf', 'x..y', 'a\0b']) expect(isPlainName(bad), bad).to.equal(false)
  })

  it('rejects schema faults with the JSON path of the value', () => {
    const cases: Array<[string, Json | typeof DELETE, string, RegExp]> = [
      ['/format', 2, '/format', /must be one of 1/],
      ['/fragments/1/sha256', 'xyz', '/fragments/1/sha256', /pattern/],
      ['/source/sha256', DELETE, '/source', /missing the property "sha256"/],
      ['/tensors/2/shape', [], '/tensors/2/shape', /fewer than 1/],
      ['/fragments/0/surprise', 1, '/fragments/0', /unknown property "surprise"/],
      ['/fragments/2/layer', 'tail', '/fragments/2/layer', /block number or "embed" or "head", got "tail"/],
      ['/compression', 'gzip', '/compression', /"none", "zstd"/],
      ['/tensors/0/bytes', -1, '/tensors/0/bytes', />= 0/],
    ]
    for (const [pointer, value, path, message] of cases) {
      const err = rejection(mutated(pointer, value))
      expect(err.code).to.equal('MANIFEST')
      expect(err.details.path, err.message).to.equal(path)
      expect(err.message).to.contain(`set/manifest.json: ${path} `)
      expect(err.message).to.match(message)
    }
  })

  it('rejects file names with path separators or ".."', () => {
    for (const bad of ['../evil.gguf', 'sub/m.gguf', 'C:\\m.gguf', '..']) {
      const err = rejection(mutated('/fragments/1/file', bad))
      expect(err.details.path).to.equal('/fragments/1/file')
      expect(err.message).to.contain('plain file name')
    }
    expect(rejection(mutated('/source/file', '../m.gguf')).details.path).to.equal('/source/file')
  })

  it('rejects inconsistencies a schema cannot express', () => {
    const cases: Array<[string, Json, string, RegExp]> = [
      ['/fragments/1/index', 3, '/fragments/1/index', /must be 2.*got 3/],
      ['/fragments/2/file', sample().fragments[0].file, '/fragments/2/file', /second time/],
      ['/tensors/3/fragment', 4, '/tensors/3/fragment', /has 3 fragments/],
      ['/tensors/1/type', 'Q9_Z', '/tensors/1/type', /not a ggml type name/],
      ['/source/tensor_count', 5, '/tensors', /lists 4 tensors.*is 5/],
      ['/fragments/1/tensors', ['blk.0.attn_norm.weight', 'blk.0.attn_q.weight', 'ghost'], '/fragments/1/tensors/2', /which \/tensors does not list/],
      ['/fragments/2/tensors', ['output_norm.weight', 'token_embd.weight'], '/fragments/2/tensors/1', /places in fragment 1/],
      ['/fragments/2/tensors', [], '/fragments', /list 3 tensors/],
      ['/compression', 'zstd', '/fragments/0', /raw_bytes and raw_sha256/],
    ]
    for (const [pointer, value, path, message] of cases) {
      const err = rejection(mutated(pointer, value))
      expect(err.details.path, err.message).to.equal(path)
      expect(err.message).to.match(message)
    }
  })

  it('reports invalid JSON and a missing manifest as MANIFEST errors', () => {
    expect(() => parseManifest('{"format": 1,', 'm.json')).to.throw(LlmfragError, /m.json: \/ is not valid JSON/)
    const dir = mkdtempSync(join(tmpdir(), 'llmfrag-manifest-'))
    try {
      let err: unknown
      try {
        readManifest(dir)
      } catch (e) {
        err = e
      }
      expect(err).to.be.instanceOf(LlmfragError)
      expect((err as LlmfragError).code).to.equal('MANIFEST')
      expect((err as LlmfragError).message).to.contain('no such file')
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('writes through a temporary name and reads back the same manifest', () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmfrag-manifest-'))
    try {
      writeManifest(dir, sample())
      expect(readdirSync(dir)).to.deep.equal([MANIFEST_FILE])
      expect(readManifest(dir)).to.deep.equal(sample())
      writeFileSync(join(dir, MANIFEST_FILE), JSON.stringify(mutated('/tensors/0/sha256', 'bad')))
      expect(() => readManifest(dir)).to.throw(LlmfragError, /\/tensors\/0\/sha256/)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('refuses to write a manifest that fails validation', () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmfrag-manifest-'))
    try {
      const bad = mutated('/fragments/0/file', '../x') as Manifest
      expect(() => writeManifest(dir, bad)).to.throw(LlmfragError, /plain file name/)
      expect(readdirSync(dir)).to.deep.equal([])
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
