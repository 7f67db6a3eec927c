import {expect} from 'chai'
import {execFile} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {synthesize} from '../../src/synth/index.js'

// Runs the built CLI (npm run build first): stdout, stderr and the exit code.
function run(args: string[]): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/run.js', ...args], {maxBuffer: 16 << 20}, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0
      resolve({code, stdout, stderr})
    })
  })
}

interface JsonCheck {
  name: string
  ok: boolean
  detail: string
  problems: Array<{code: string; message: string; expected: unknown; actual: unknown; fragment?: string; tensor?: string}>
}

const TINY_MISTRAL = 'test/fixtures/tiny-mistral/tiny-mistral-Q4_K_M.gguf'
const TINY_MAGISTRAL = 'test/fixtures/tiny-magistral/tiny-magistral-Q4_K_M.gguf'

describe('llmfrag verify and inspect (built CLI)', () => {
  let dir: string
  let mistral7b: string
  let magistral: string

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llmfrag-verify-e2e-'))
    mistral7b = join(dir, 'mistral_7b.gguf')
    magistral = join(dir, 'magistral.gguf')
    await synthesize({architecture: 'mistral_7b', headerOnly: true, output: mistral7b})
    await synthesize({architecture: 'magistral', headerOnly: true, output: magistral})
  })

  after(() => rmSync(dir, {recursive: true, force: true}))

  it('verify prints the five aligned check lines and exits 0 on an intact file', async () => {
    const r = await run(['verify', TINY_MAGISTRAL])
    expect(r.code, r.stderr).to.equal(0)
    const lines = r.stdout.trimEnd().split('\n')
    expect(lines).to.have.length(5)
    expect(lines.map((l) => l.slice(0, l.lastIndexOf('(')).trimEnd())).to.deep.equal([
      '➖ Fragment count matches manifest',
      '✅ All fragments readable',
      '✅ Architecture detected: llama-family (custom)',
      '✅ Tensor dimensions correct',
      '➖ Checksums valid',
    ])
    expect(new Set(lines.map((l) => l.lastIndexOf('(')))).to.have.property('size', 1) // details aligned
    expect(lines[2]).to.match(/\(dim 512, hidden 1536, 2 layers\)$/)
    expect(lines[3]).to.match(/\(21 tensors\)$/)
  })

  it('verify --expected-architecture: exit 1 and the exact mismatch line; --json carries the same problem', async () => {
    const r = await run(['verify', mistral7b, '--quick', '--expected-architecture', 'magistral'])
    expect(r.code).to.equal(1)
    expect(r.stdout).to.match(/^❌ Architecture detected: mistral_7b +\(dim 4096, hidden 14336, 32 layers\)$/m)
    expect(r.stdout).to.match(/^ {3}- Architecture mismatch: expected magistral, got mistral_7b$/m)
    const j = await run(['verify', '--fragments-dir', mistral7b, '--quick', '--expected-architecture', 'magistral', '--json'])
    expect(j.code).to.equal(1)
    const result = JSON.parse(j.stdout) as {ok: boolean; checks: JsonCheck[]}
    expect(result.ok).to.equal(false)
    expect(result.checks.map((c) => c.ok)).to.deep.equal([true, true, false, true, true])
    expect(result.checks[2].problems).to.deep.equal([{
      code: 'architecture_mismatch', expected: 'magistral', actual: 'mistral_7b', message: 'Architecture mismatch: expected magistral, got mistral_7b',
    }])
  })

  it('verify exits 2 for a missing path, no path, and an unknown profile', async () => {
    const missing = await run(['verify', join(dir, 'nope')])
    expect(missing.code).to.equal(2)
    expect(missing.stderr).to.match(/^error: cannot read .*nope: no such file or directory$/m)
    expect((await run(['verify'])).code).to.equal(2)
    expect((await run(['verify', TINY_MISTRAL, '--expected-architecture', 'llama9'])).code).to.equal(2)
    const json = await run(['verify', join(dir, 'nope'), '--json'])
    expect(json.code).to.equal(2)
    expect((JSON.parse(json.stdout) as {error: {code: string}}).error.code).to.equal('IO')
  })

  it('splits then verifies a set: exit 0 and five ✅ lines; a flipped data byte: exit 1 naming fragment and tensor', async () => {
    const set = join(dir, 'set')
    const split = await run(['split', TINY_MAGISTRAL, '-o', set])
    expect(split.code, split.stderr).to.equal(0)
    const ok = await run(['verify', set])
    expect(ok.code, ok.stderr).to.equal(0)
    const lines = ok.stdout.trimEnd().split('\n')
    expect(lines.map((l) => l.slice(0, 1))).to.deep.equal(['✅', '✅', '✅', '✅', '✅'])
    expect(lines[0]).to.match(/^✅ Fragment count matches manifest +\(4 fragments\)$/)
    expect(lines[1]).to.match(/^✅ All fragments readable +\(4 files, 0\.02 GiB\)$/)
    expect(lines[4]).to.match(/^✅ Checksums valid +\(sha256, 0\.02 GiB at \d+\.\d\d GB\/s\)$/)

    const m = JSON.parse(readFileSync(join(set, 'manifest.json'), 'utf8')) as {fragments: Array<{file: string; data_offset: number}>; tensors: Array<{name: string; fragment: number; offset: number}>}
    const t = m.tensors.find((x) => x.name === 'blk.1.attn_output.weight')
    if (!t) throw new Error('no tensor')
    const f = m.fragments[t.fragment - 1]
    const buf = readFileSync(join(set, f.file))
    buf[f.data_offset + t.offset + 77] ^= 1
    writeFileSync(join(set, f.file), buf)
    const bad = await run(['verify', set])
    expect(bad.code).to.equal(1)
    expect(bad.stdout).to.match(/^❌ Checksums valid +\(sha256, /m)
    expect(bad.stdout).to.contain(`   - blk.1.attn_output.weight (in ${f.file}): sha256 expected `)
    const json = await run(['verify', set, '--json'])
    expect(json.code).to.equal(1)
    const r = JSON.parse(json.stdout) as {ok: boolean; checks: JsonCheck[]}
    expect(r.ok).to.equal(false)
    expect(r.checks.map((c) => c.name)).to.deep.equal([
      'Fragment count matches manifest', 'All fragments readable', 'Architecture detected: llama-family (custom)', 'Tensor dimensions correct', 'Checksums valid',
    ])
    const problems = r.checks[4].problems
    expect(problems.map((p) => [p.code, p.fragment, p.tensor ?? null])).to.deep.equal([['checksum', f.file, null], ['checksum', f.file, 'blk.1.attn_output.weight']])
    // The human report prints exactly the messages --json carries.
    for (const p of problems) expect(bad.stdout).to.contain(`   - ${p.message}\n`)
    expect((await run(['verify', set, '--quick'])).code).to.equal(0)

    const insp = await run(['inspect', set, '--json', '--tensors'])
    expect(insp.code, insp.stderr).to.equal(0)
    const ij = JSON.parse(insp.stdout) as {kind: string; fragments: number; tensorCount: number; tensors: Array<{name: string; fragment: string}>; metadata: Array<{key: string}>}
    expect(ij).to.include({kind: 'fragments', fragments: 4, tensorCount: 21})
    expect(ij.tensors.find((x) => x.name === 'blk.1.attn_output.weight')?.fragment).to.equal(f.file)
    expect(ij.metadata.some((e) => e.key.startsWith('split.'))).to.equal(false)
  })

  it('verify exits 2 on a manifest that fails its schema, quoting the JSON path', async () => {
    const set = join(dir, 'set-schema')
    expect((await run(['split', TINY_MISTRAL, '-o', set])).code).to.equal(0)
    const m = JSON.parse(readFileSync(join(set, 'manifest.json'), 'utf8')) as {fragments: Array<Record<string, unknown>>}
    m.fragments[1].file = '../escape.gguf'
    writeFileSync(join(set, 'manifest.json'), JSON.stringify(m))
    const r = await run(['verify', set])
    expect(r.code).to.equal(2)
    expect(r.stderr).to.match(/^error: .*manifest\.json: \/fragments\/1\/file must be a plain file name/m)
  })

  it('inspect --json reports the fixtures\' dims and tensor counts', async () => {
    const r = await run(['inspect', TINY_MISTRAL, '--json'])
    expect(r.code, r.stderr).to.equal(0)
    const j = JSON.parse(r.stdout) as {version: number; tensorCount: number; architecture: {profile: string; dims: Record<string, number>}; tensors?: unknown}
    expect(j.version).to.equal(3)
    expect(j.tensorCount).to.equal(21)
    expect(j.tensors).to.equal(undefined)
    expect(j.architecture.profile).to.equal('llama-family (custom)')
    expect(j.architecture.dims).to.include({dim: 256, ffnHidden: 768, layers: 2, heads: 4, kvHeads: 2, headDim: 64, vocab: 32768})
  })

  for (const [name, tensors, dims] of [
    ['magistral', 363, {dim: 5120, ffnHidden: 32768, layers: 40, heads: 32, kvHeads: 8, headDim: 128, vocab: 131072}],
    ['mistral_7b', 291, {dim: 4096, ffnHidden: 14336, layers: 32, heads: 32, kvHeads: 8, headDim: 128, vocab: 32768}],
  ] as const) {
    it(`inspect --json --tensors on a full-size ${name} header-only file: profile, dims, ${tensors} tensors`, async () => {
      const r = await run(['inspect', name === 'magistral' ? magistral : mistral7b, '--json', '--tensors'])
      expect(r.code, r.stderr).to.equal(0)
      const j = JSON.parse(r.stdout) as {tensorCount: number; tensors: unknown[]; architecture: {profile: string; dims: Record<string, number>}}
      expect(j.architecture.profile).to.equal(name)
      expect(j.architecture.dims).to.include(dims)
      expect(j.tensorCount).to.equal(tensors)
      expect(j.tensors).to.have.length(tensors)
    })
  }

  it('inspect prints a human summary with the profile and cut arrays; exit 2 for a missing file', async () => {
    const r = await run(['inspect', magistral])
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.match(/^Architecture +magistral \(general\.architecture llama\)$/m)
    expect(r.stdout).to.match(/^ +dim 5120, hidden 32768, 40 layers, 32 heads, 8 kv heads, head dim 128, vocab 131072/m)
    expect(r.stdout).to.match(/^Memory +ctx 4096: weights [\d.]+ GiB \+ KV cache f16 640\.00 MiB = [\d.]+ GiB$/m)
    expect(r.stdout).to.match(/tokenizer\.ggml\.tokens +string\[\] +\[.*, …\] \(131072 items\)$/m)
    expect((await run(['inspect', join(dir, 'nope.gguf')])).code).to.equal(2)
  })
})
