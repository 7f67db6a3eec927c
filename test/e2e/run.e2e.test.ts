import {expect} from 'chai'
import {execFile} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {comparePositions, readFixture, readLogits} from '../support/logits.js'

// Runs the built CLI (npm run build first): stdout, stderr and the exit code.
function run(args: string[]): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/run.js', ...args], {maxBuffer: 64 << 20}, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0
      resolve({code, stdout, stderr})
    })
  })
}

interface RunJson {
  text: string
  tokens: number[]
  promptTokens: number
  stopReason: string
  seed: number
  timings: {promptTokens: number; promptTokensPerSecond: number; generatedTokens: number}
  logitsOut?: {file: string; positions: number; vocab: number}
}

describe('llmfrag run (built CLI)', () => {
  const magistral = readFixture('tiny-magistral')
  const mistral = readFixture('tiny-mistral')
  const seq = (f: typeof mistral, name: string): (typeof mistral.sequences)[number] => {
    const s = f.sequences.find((x) => x.name === name)
    if (!s) throw new Error(`fixture ${name} missing`)
    return s
  }
  let dir: string
  before(() => { dir = mkdtempSync(join(tmpdir(), 'llmfrag-run-e2e-')) })
  after(() => rmSync(dir, {recursive: true, force: true}))

  it('--prompt-tokens -n 0 --logits-out writes [n_pos, n_vocab] float32 logits within 1e-3 of the exact reference (--safe-mode: reference kernels)', async () => {
    const s = seq(magistral, 'seq033')
    const out = join(dir, 'seq033.f32')
    const r = await run(['run', '--model', magistral.model, '--safe-mode', '--prompt-tokens', s.tokens.join(','), '-n', '0', '--logits-out', out, '--json'])
    expect(r.code, r.stderr).to.equal(0)
    const j = JSON.parse(r.stdout) as RunJson
    expect(j).to.include({text: '', promptTokens: 33})
    expect(j.tokens).to.deep.equal([])
    expect(j.logitsOut).to.deep.equal({file: out, positions: 33, vocab: 16384})
    expect(statSync(out).size).to.equal(33 * 16384 * 4)
    expect(readdirSync(dir).filter((f) => f.includes('.partial-'))).to.deep.equal([])
    for (const [p, st] of comparePositions(readLogits(out), s.exact, s.vocab).entries()) {
      expect(st.maxAbs, `position ${p}`).to.be.below(1e-3)
    }
  })

  it('--temp 0 generates the exact reference\'s greedy tokens; --json gives {text, tokens, timings}', async () => {
    const s = seq(mistral, 'seq007')
    const r = await run(['run', '-m', mistral.model, '--prompt-tokens', s.tokens.join(','), '-n', '8', '--temp', '0', '--json'])
    expect(r.code, r.stderr).to.equal(0)
    const j = JSON.parse(r.stdout) as RunJson
    expect(j.tokens).to.deep.equal(s.greedyExact.tokens.slice(0, 8))
    expect(j.text.length).to.be.greaterThan(0)
    expect(j.stopReason).to.equal('length')
    expect(j.timings).to.include({promptTokens: 7, generatedTokens: 8})
    expect(j.timings.promptTokensPerSecond).to.be.greaterThan(0)
  })

  it('--relaxed-simd and --no-relaxed-simd generate the exact reference\'s greedy tokens (2 threads); --relaxed-simd with --safe-mode is a usage error', async () => {
    const s = seq(mistral, 'seq007')
    const r = await run(['run', '-m', mistral.model, '--prompt-tokens', s.tokens.join(','), '-n', '8', '--temp', '0', '-t', '2', '--relaxed-simd', '--json'])
    expect(r.code, r.stderr).to.equal(0)
    expect((JSON.parse(r.stdout) as RunJson).tokens).to.deep.equal(s.greedyExact.tokens.slice(0, 8))
    const both = await run(['run', '-m', mistral.model, '-p', 'hi', '--relaxed-simd', '--safe-mode'])
    expect(both.code).to.equal(2)
    expect(both.stderr).to.match(/--relaxed-simd and --safe-mode exclude each other/)
    const off = await run(['run', '-m', mistral.model, '--prompt-tokens', s.tokens.join(','), '-n', '8', '--temp', '0', '-t', '2', '--no-relaxed-simd', '--json'])
    expect(off.code, off.stderr).to.equal(0)
    expect((JSON.parse(off.stdout) as RunJson).tokens).to.deep.equal((JSON.parse(r.stdout) as RunJson).tokens)
  })

  it('streams text to stdout and prints the threads and kernels, then llama_perf-style timings, to stderr; the same seed gives the same text', async () => {
    const args = ['run', '-m', mistral.model, '-p', 'Once upon a time', '-n', '10', '--seed', '42', '--temp', '1', '-t', '2', '--no-relaxed-simd']
    const a = await run(args)
    expect(a.code, a.stderr).to.equal(0)
    expect(a.stdout.trim().length).to.be.greaterThan(0)
    expect(a.stderr).to.include(`system_info: n_threads = 2 | kernels = WebAssembly SIMD (base build) | Node ${process.versions.node}\n`)
    expect(a.stderr).to.match(/prompt eval time = +[\d.]+ ms \/ +\d+ tokens .*tokens per second/)
    expect(a.stderr).to.match(/eval time = +[\d.]+ ms \/ +9 runs/)
    const b = await run(args)
    expect(b.stdout).to.equal(a.stdout)
  })

  it('--stop ends generation before the stop text', async () => {
    const s = seq(mistral, 'seq007')
    const base = ['run', '-m', mistral.model, '--prompt-tokens', s.tokens.join(','), '-n', '8', '--temp', '0', '--json']
    const full = JSON.parse((await run(base)).stdout) as RunJson
    const stop = full.text.slice(4, 8)
    const r = await run([...base, '--stop', stop, '--stop', 'never-seen'])
    expect(r.code, r.stderr).to.equal(0)
    const j = JSON.parse(r.stdout) as RunJson
    expect(j.stopReason).to.equal('stop')
    expect(j.text).to.equal(full.text.slice(0, full.text.indexOf(stop)))
  })

  it('--fragments-dir runs a fragment set and gives the same tokens as the .gguf', async () => {
    const s = seq(magistral, 'seq007')
    const set = join(dir, 'magistral-set')
    const split = await run(['split', magistral.model, '-o', set, '--json'])
    expect(split.code, split.stderr).to.equal(0)
    const args = ['--prompt-tokens', s.tokens.join(','), '-n', '6', '--temp', '0', '--json']
    const fromSet = await run(['run', '--fragments-dir', set, ...args])
    expect(fromSet.code, fromSet.stderr).to.equal(0)
    const fromFile = await run(['run', '--model', magistral.model, ...args])
    expect((JSON.parse(fromSet.stdout) as RunJson).tokens).to.deep.equal((JSON.parse(fromFile.stdout) as RunJson).tokens)
    expect((JSON.parse(fromSet.stdout) as RunJson).tokens).to.deep.equal(s.greedyExact.tokens.slice(0, 6))
  })

  it('a prompt that does not fit the context fails with exit 1 and CONTEXT_FULL', async () => {
    const s = seq(mistral, 'seq007')
    const r = await run(['run', '-m', mistral.model, '--prompt-tokens', s.tokens.join(','), '-c', '8', '-n', '4', '--json'])
    expect(r.code).to.equal(1)
    expect((JSON.parse(r.stdout) as {error: {code: string}}).error.code).to.equal('CONTEXT_FULL')
    const human = await run(['run', '-m', mistral.model, '--prompt-tokens', s.tokens.join(','), '-c', '4'])
    expect(human.code).to.equal(1)
    expect(human.stderr).to.match(/error: .*do not fit the context of 4 tokens/)
    expect(human.stderr).to.match(/hint: .*--ctx-size/)
  })

  it('bad usage and bad input exit 2', async () => {
    const cases: string[][] = [
      ['run', '-m', mistral.model], // no prompt
      ['run', '-m', mistral.model, '--fragments-dir', dir, '-p', 'x'], // two models
      ['run', '-m', mistral.model, '--prompt-tokens', '1,x,3'],
      ['run', '-m', mistral.model, '--prompt-tokens', '1,32768', '-n', '0'], // outside the vocabulary
      ['run', '-m', join(dir, 'missing.gguf'), '-p', 'x'],
      ['run', '-m', mistral.model, '-p', 'x', '--min-p', '2'],
    ]
    for (const args of cases) {
      const r = await run(args)
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(2)
    }
    expect(existsSync(join(dir, 'missing.gguf'))).to.equal(false)
  })
})
