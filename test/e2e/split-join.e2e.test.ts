import {execFile} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {expect} from 'chai'

// Runs the built CLI (npm run build first): stdout, stderr and the exit code.
function run(args: string[]): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/run.js', ...args], {maxBuffer: 64 << 20}, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0
      resolve({code, stdout, stderr})
    })
  })
}

const MODEL = 'test/fixtures/tiny-magistral/tiny-magistral-Q4_K_M.gguf'
const sha256 = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex')

interface SplitJson {
  dir: string
  manifest: string
  source: {file: string; size: number; sha256: string}
  fragments: number
  tensors: number
  compression: string
  storedBytes: number
}

describe('llmfrag split / join (built CLI)', () => {
  let tmp: string
  before(() => { tmp = mkdtempSync(join(tmpdir(), 'llmfrag-split-e2e-')) })
  after(() => rmSync(tmp, {recursive: true, force: true}))

  for (const compress of [false, true]) {
    it(`split${compress ? ' --compress' : ''} --json then join --json rebuilds the file (exit 0)`, async () => {
      const dir = join(tmp, compress ? 'zst' : 'plain')
      const s = await run(['split', MODEL, '-o', dir, '--json', ...(compress ? ['--compress'] : [])])
      expect(s.code, s.stderr).to.equal(0)
      const r = JSON.parse(s.stdout) as SplitJson
      expect(r).to.include({dir, fragments: 4, tensors: 21, compression: compress ? 'zstd' : 'none'})
      expect(r.source).to.deep.equal({file: 'tiny-magistral-Q4_K_M.gguf', size: 16525952, sha256: sha256(MODEL)})
      expect(readdirSync(dir)).to.have.length(5)
      const out = join(tmp, `${compress ? 'zst' : 'plain'}.gguf`)
      const j = await run(['join', dir, '-o', out, '--json'])
      expect(j.code, j.stderr).to.equal(0)
      expect(JSON.parse(j.stdout)).to.include({output: out, bytes: 16525952, sha256: r.source.sha256, fragments: 4})
      expect(sha256(out)).to.equal(r.source.sha256)
    })
  }

  it('prints one summary line without --json', async () => {
    const dir = join(tmp, 'human')
    const s = await run(['split', MODEL, '-o', dir])
    expect(s.code, s.stderr).to.equal(0)
    expect(s.stdout.trim().split('\n')).to.have.length(1)
    expect(s.stdout).to.match(/^split tiny-magistral-Q4_K_M\.gguf into 4 fragments in .*: 21 tensors/)
    const j = await run(['join', dir, '-o', join(tmp, 'human.gguf')])
    expect(j.code, j.stderr).to.equal(0)
    expect(j.stdout).to.match(/^joined 4 fragments into .*human\.gguf: .* sha256 [0-9a-f]{64} matches the manifest\n$/)
  })

  it('exit 2: a non-empty directory without --force, a missing model, an existing output; --json carries the error', async () => {
    const dir = join(tmp, 'plain')
    const again = await run(['split', MODEL, '-o', dir])
    expect(again.code).to.equal(2)
    expect(again.stderr).to.contain('is not empty').and.contain('hint: ')
    const forced = await run(['split', MODEL, '-o', dir, '--force', '--json'])
    expect(forced.code, forced.stderr).to.equal(0)
    const missing = await run(['split', join(tmp, 'nope.gguf'), '-o', join(tmp, 'nope'), '--json'])
    expect(missing.code).to.equal(2)
    expect(JSON.parse(missing.stdout).error).to.include({code: 'IO'})
    const exists = await run(['join', dir, '-o', join(tmp, 'plain.gguf')])
    expect(exists.code).to.equal(2)
    expect(exists.stderr).to.contain('already exists')
    const usage = await run(['join', dir])
    expect(usage.code).to.equal(2)
  })

  it('exit 1: join of a damaged set, leaving no output', async () => {
    const dir = join(tmp, 'plain')
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {fragments: Array<{file: string}>}
    const victim = join(dir, m.fragments[3].file)
    const b = readFileSync(victim)
    b[b.length - 64] ^= 1
    writeFileSync(victim, b)
    const out = join(tmp, 'damaged.gguf')
    const j = await run(['join', dir, '-o', out])
    expect(j.code).to.equal(1)
    expect(j.stderr).to.contain(m.fragments[3].file).and.contain('sha256')
    expect(existsSync(out)).to.equal(false)
  })

  it('exit 2: a manifest failing its schema names the JSON path', async () => {
    const dir = join(tmp, 'zst')
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {tensors: Array<{sha256: string}>}
    m.tensors[5].sha256 = 'not-a-hash'
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m))
    const j = await run(['join', dir, '-o', join(tmp, 'schema.gguf'), '--json'])
    expect(j.code).to.equal(2)
    const e = JSON.parse(j.stdout).error as {code: string; message: string}
    expect(e.code).to.equal('MANIFEST')
    expect(e.message).to.contain('/tensors/5/sha256')
  })
})
