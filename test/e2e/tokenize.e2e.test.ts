import {execFile} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {expect} from 'chai'

// Runs the built CLI (npm run build first): stdout, stderr and the exit code.
function run(args: string[]): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/run.js', ...args], {maxBuffer: 16 << 20}, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0
      resolve({code, stdout, stderr})
    })
  })
}

interface Case {text: string; add_special: boolean; parse_special: boolean; ids: number[]; pieces: string[]}
const casesOf = (file: string): Case[] => (JSON.parse(readFileSync(file, 'utf8')) as {cases: Case[]}).cases
const find = (cases: Case[], text: string, addSpecial: boolean, parseSpecial: boolean): Case => {
  const c = cases.find((x) => x.text === text && x.add_special === addSpecial && x.parse_special === parseSpecial)
  if (c === undefined) throw new Error(`no reference case for ${JSON.stringify(text)}`)
  return c
}

const MISTRAL = 'test/fixtures/tiny-mistral/tiny-mistral-Q4_K_M.gguf'
const MAGISTRAL = 'test/fixtures/tiny-magistral/tiny-magistral-Q4_K_M.gguf'
const mistralCases = casesOf('test/fixtures/tiny-mistral/tokenize.json')
const magistralCases = casesOf('test/fixtures/tiny-magistral/tokenize.json')

describe('llmfrag tokenize (built CLI)', () => {
  let dir: string
  before(() => { dir = mkdtempSync(join(tmpdir(), 'llmfrag-tokenize-e2e-')) })
  after(() => rmSync(dir, {recursive: true, force: true}))

  it('--json prints llama.cpp\'s ids and pieces, control text parsed and BOS added', async () => {
    const text = '[INST] What is 2+2? [/INST]'
    const r = await run(['tokenize', '--model', MISTRAL, '--text', text, '--json'])
    expect(r.code, r.stderr).to.equal(0)
    const ref = find(mistralCases, text, true, true)
    expect(JSON.parse(r.stdout)).to.deep.equal({ids: ref.ids, pieces: ref.pieces})
  })

  it('--no-bos leaves BOS out and --no-parse-special keeps control text as text (tekken BPE)', async () => {
    const text = '<s>[INST]hi[/INST]</s>'
    const a = await run(['tokenize', '-m', MAGISTRAL, '-t', text, '--no-bos', '--json'])
    expect(a.code, a.stderr).to.equal(0)
    expect(JSON.parse(a.stdout)).to.deep.equal({ids: find(magistralCases, text, false, true).ids, pieces: find(magistralCases, text, false, true).pieces})
    const b = await run(['tokenize', '-m', MAGISTRAL, '-t', text, '--no-parse-special', '--json'])
    expect(b.code, b.stderr).to.equal(0)
    expect(JSON.parse(b.stdout).ids).to.deep.equal(find(magistralCases, text, true, false).ids)
  })

  it('prints one "%6d -> \'piece\'" line per token, as llama-tokenize, and a list with --ids', async () => {
    const ref = find(mistralCases, 'Hello world', true, true)
    const r = await run(['tokenize', '-m', MISTRAL, '-t', 'Hello world'])
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.equal(ref.ids.map((id, i) => `${String(id).padStart(6)} -> '${ref.pieces[i]}'\n`).join(''))
    const ids = await run(['tokenize', '-m', MISTRAL, '-t', 'Hello world', '--ids'])
    expect(ids.stdout).to.equal(`[${ref.ids.join(', ')}]\n`)
  })

  it('reads the text from --file', async () => {
    const text = 'def f(x):\n    return x**2  # code\n'
    const file = join(dir, 'code.txt')
    writeFileSync(file, text)
    const r = await run(['tokenize', '-m', MAGISTRAL, '--file', file, '--json'])
    expect(r.code, r.stderr).to.equal(0)
    expect(JSON.parse(r.stdout).ids).to.deep.equal(find(magistralCases, text, true, true).ids)
  })

  it('reads the tokenizer of a fragment set (plain or compressed) from its directory or manifest', async () => {
    const text = '[INST] What is 2+2? [/INST]'
    const ref = find(magistralCases, text, true, true)
    for (const compress of [false, true]) {
      const set = join(dir, compress ? 'set-zst' : 'set')
      const split = await run(['split', MAGISTRAL, '-o', set, ...(compress ? ['--compress'] : [])])
      expect(split.code, split.stderr).to.equal(0)
      for (const model of [set, join(set, 'manifest.json')]) {
        const r = await run(['tokenize', '-m', model, '-t', text, '--json'])
        expect(r.code, r.stderr).to.equal(0)
        expect(JSON.parse(r.stdout), model).to.deep.equal({ids: ref.ids, pieces: ref.pieces})
      }
    }
  })

  it('exits 2 with an error line and a hint for a missing model, and --json gives the error object', async () => {
    const missing = join(dir, 'nope.gguf')
    const r = await run(['tokenize', '-m', missing, '-t', 'hi'])
    expect(r.code).to.equal(2)
    expect(r.stderr).to.match(/error: cannot open .*nope\.gguf: no such file or directory\nhint: /)
    const j = await run(['tokenize', '-m', missing, '-t', 'hi', '--json'])
    expect(j.code).to.equal(2)
    expect(JSON.parse(j.stdout).error.code).to.equal('IO')
  })

  it('exits 2 for a file that is not a GGUF, and without --text or --file', async () => {
    const r = await run(['tokenize', '-m', 'test/fixtures/tiny-mistral/seqs.txt', '-t', 'hi'])
    expect(r.code).to.equal(2)
    expect(r.stderr).to.match(/magic at byte 0/)
    const none = await run(['tokenize', '-m', MISTRAL])
    expect(none.code).to.equal(2)
  })
})
