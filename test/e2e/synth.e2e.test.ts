import {expect} from 'chai'
import {execFile} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, mkdtempSync, readFileSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {readGGUFHeader} from '../../src/gguf/reader.js'

// Runs the built CLI (npm run build first): stdout, stderr and the exit code.
function run(args: string[]): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/run.js', ...args], {maxBuffer: 16 << 20}, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0
      resolve({code, stdout, stderr})
    })
  })
}

const SMALL = ['-a', 'mistral_7b', '--layers', '2', '--dim', '256', '--ffn-hidden', '512', '--heads', '4', '--kv-heads', '2', '--vocab', '2048']
const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex')

describe('llmfrag synth (built CLI)', () => {
  let dir: string
  before(() => { dir = mkdtempSync(join(tmpdir(), 'llmfrag-synth-e2e-')) })
  after(() => rmSync(dir, {recursive: true, force: true}))

  it('writes a small custom model and returns the result with --json', async () => {
    const out = join(dir, 'small.gguf')
    const r = await run(['synth', ...SMALL, '--seed', '9', '-o', out, '--json'])
    expect(r.code, r.stderr).to.equal(0)
    const result = JSON.parse(r.stdout) as Record<string, unknown>
    expect(result).to.include({file: out, tensors: 21, architecture: 'llama-family (custom)', profile: 'mistral_7b', layers: 2, seed: 9, headerOnly: false})
    expect(result.bytes).to.equal(statSync(out).size)
    expect(Object.keys(result)).to.include.members(['file', 'bytes', 'tensors', 'params', 'seconds'])
    const h = readGGUFHeader(out)
    expect(h.tensors.map((t) => t.name).slice(0, 4)).to.deep.equal(['output.weight', 'output_norm.weight', 'token_embd.weight', 'blk.0.attn_k.weight'])
  })

  it('is reproducible: the same seed writes the same bytes', async () => {
    const a = join(dir, 'a.gguf'), b = join(dir, 'b.gguf')
    expect((await run(['synth', ...SMALL, '--seed', '5', '-o', a])).code).to.equal(0)
    const r = await run(['synth', ...SMALL, '--seed', '5', '-o', b])
    expect(r.code).to.equal(0)
    expect(r.stdout).to.match(/^wrote .*b\.gguf: llama-family \(custom\) from mistral_7b, 2 layers, 21 tensors/)
    expect(sha256(a)).to.equal(sha256(b))
  })

  it('writes a full-size magistral header with --header-only', async () => {
    const out = join(dir, 'magistral.gguf')
    const r = await run(['synth', '--architecture', 'magistral', '--header-only', '-o', out, '--json'])
    expect(r.code, r.stderr).to.equal(0)
    const result = JSON.parse(r.stdout) as {bytes: number; tensors: number; architecture: string; params: number}
    expect(result).to.include({tensors: 363, architecture: 'magistral', params: 23_572_403_200})
    expect(statSync(out).size).to.equal(result.bytes)
    expect(readGGUFHeader(out).tensors).to.have.length(363)
  })

  it('exits 2 with the option named for a shape that cannot be quantized', async () => {
    const r = await run(['synth', '-a', 'magistral', '--dim', '100', '-o', join(dir, 'bad.gguf')])
    expect(r.code).to.equal(2)
    expect(r.stderr).to.match(/error: --dim: must be a multiple of 256, got 100\nhint: /)
    expect(existsSync(join(dir, 'bad.gguf'))).to.equal(false)
    const j = await run(['synth', '-a', 'magistral', '--dim', '100', '-o', join(dir, 'bad.gguf'), '--json'])
    expect(j.code).to.equal(2)
    expect((JSON.parse(j.stdout) as {error: {code: string}}).error.code).to.equal('BAD_INPUT')
  })

  it('exits 2 for an unknown architecture and for an existing output without --force', async () => {
    expect((await run(['synth', '-a', 'llama_70b', '-o', join(dir, 'x.gguf')])).code).to.equal(2)
    const out = join(dir, 'twice.gguf')
    expect((await run(['synth', ...SMALL, '-o', out])).code).to.equal(0)
    const again = await run(['synth', ...SMALL, '-o', out])
    expect(again.code).to.equal(2)
    expect(again.stderr).to.match(/already exists\nhint: pass --force/)
    expect((await run(['synth', ...SMALL, '-o', out, '--force'])).code).to.equal(0)
  })
})
