/**
 * `llmfrag bench` through the built CLI on the tiny fixtures with tiny -p/-n: the JSON result's
 * structure and llama-bench field names, schemas/bench.schema.json (checked here with ajv, apart
 * from the command's own check), --output equal to --json, the human table, a fragment set
 * verified while loading, and the refusals (exit 2) with their hints. No speed is asserted.
 */
import {expect} from 'chai'
import {execFile} from 'node:child_process'
import {mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {Ajv} from 'ajv'

import {RELAXED_WASM_PATH} from '../../src/kernels/wasm/kernels-wasm.js'
import {readFixture} from '../support/logits.js'
import {validatesWithoutFlags} from '../support/runtime.js'

function run(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/run.js', ...args], {maxBuffer: 64 << 20, env}, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0
      resolve({code, stdout, stderr})
    })
  })
}

interface TestRecord {
  model_filename: string
  model_type: string
  model_size: number
  model_n_params: number
  n_batch: number
  n_threads: number
  n_prompt: number
  n_gen: number
  n_depth: number
  avg_ns: number
  avg_ts: number
  stddev_ts: number
  samples_ns: number[]
  samples_ts: number[]
  test: string
  kernels: string
  ms_per_token: number
  llama_cpp: unknown
  ratio: number | null
  target: unknown
}

interface BenchJson {
  model: {path: string; kind: string; profile: string; size_bytes: number; layers: number}
  iterations: number
  memory_read: Array<{threads: number; gbps: number}>
  load: {seconds: number; verified: boolean; hash_seconds: number}
  tests: TestRecord[]
  kernels: Array<{type: string; threads: number; gbps: number}>
  ops: Array<{op: string; threads: number; us: number}>
  frames: Array<{codec: string; shape: number[]}>
  sha256: {bytes: number; gbps: number}
  memory: {peak_rss_bytes: number; model_bytes: number; kv_cache_bytes: number; limit_bytes: number; met: boolean}
  targets: Array<{name: string; met: boolean}>
}

const validate = new Ajv({allErrors: true, strict: true, allowUnionTypes: true}).compile(JSON.parse(readFileSync('schemas/bench.schema.json', 'utf8')) as object)

describe('llmfrag bench (built CLI)', () => {
  const mistral = readFixture('tiny-mistral')
  let dir: string
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'llmfrag-bench-e2e-'))
  })
  after(() => rmSync(dir, {recursive: true, force: true}))

  let json: BenchJson
  it('--json gives llama-bench records per (threads, test), the micro-measurements and the memory check; --output writes the same object', async () => {
    const out = join(dir, 'bench.json')
    const r = await run(['bench', '--model', mistral.model, '-p', '8', '-n', '4', '-t', '1,2', '--iterations', '2', '--output', out, '--json'])
    expect(r.code, r.stderr).to.equal(0)
    json = JSON.parse(r.stdout) as BenchJson
    expect(JSON.parse(readFileSync(out, 'utf8'))).to.deep.equal(json)
    expect(readdirSync(dir).filter((f) => f.includes('.partial-'))).to.deep.equal([])
    expect(validate(json), JSON.stringify(validate.errors)).to.equal(true)

    expect(json.model).to.include({path: mistral.model, kind: 'gguf', profile: 'llama-family (custom)', layers: 2})
    expect(json.iterations).to.equal(2)
    expect(json.tests.map((t) => [t.n_threads, t.test, t.n_prompt, t.n_gen])).to.deep.equal([[1, 'pp8', 8, 0], [1, 'tg4', 0, 4], [2, 'pp8', 8, 0], [2, 'tg4', 0, 4]])
    for (const t of json.tests) {
      // By default relaxed SIMD runs where the runtime ships it (Node 22), not on Node 20.
      expect(t).to.include({model_filename: mistral.model, model_size: json.model.size_bytes, kernels: validatesWithoutFlags(RELAXED_WASM_PATH) ? 'relaxed' : 'fast'})
      expect(t.samples_ns).to.have.length(2)
      expect(t.samples_ts).to.have.length(2)
      const n = t.n_prompt + t.n_gen
      t.samples_ts.forEach((ts, i) => expect(ts).to.be.closeTo((n * 1e9) / t.samples_ns[i], ts * 1e-6))
      expect(t.avg_ts).to.be.closeTo((t.samples_ts[0] + t.samples_ts[1]) / 2, t.avg_ts * 1e-9)
      expect(t.ms_per_token).to.be.closeTo(1000 / t.avg_ts, 1e-9)
      // A custom shape has no llama.cpp anchor: no ratio, no target.
      expect([t.llama_cpp, t.ratio, t.target]).to.deep.equal([null, null, null])
    }
    expect(json.memory_read.map((m) => m.threads)).to.deep.equal([1, 2])
    expect(json.kernels.map((k) => `${k.type}@${k.threads}`).sort()).to.deep.equal(['Q4_K@1', 'Q4_K@2', 'Q6_K@1', 'Q6_K@2'])
    expect(new Set(json.ops.map((o) => o.op))).to.include.members(['rmsnorm', 'attention', 'swiglu', 'matmul q, k, v (one job)', 'matmul output (logits)'])
    expect(json.frames.map((f) => [f.codec, f.shape])).to.deep.equal([['raw', [256, 8]], ['zstd', [256, 8]]])
    expect(json.sha256.bytes).to.be.greaterThan(0)
    expect(json.memory.model_bytes).to.equal(json.model.size_bytes)
    expect(json.memory.kv_cache_bytes).to.equal(2 * 8 * (128 + 128) * 4) // layers x ctx (max(p, n)) x (kvDim + kvDimV) x f32
    expect(json.memory.limit_bytes).to.be.closeTo((json.memory.model_bytes + json.memory.kv_cache_bytes) * 1.1, 1e-6)
    expect(json.targets.at(-1)).to.include({met: json.memory.met})
  })

  it('prints llama-bench\'s table with ms/token and the llama.cpp columns, then the micro-measurements', async () => {
    const r = await run(['bench', '--model', mistral.model, '-p', '4', '-n', '2', '-t', '1', '--iterations', '1', '--no-relaxed-simd'])
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.match(/^kernels: WebAssembly SIMD \(base build\)$/m)
    const lines = r.stdout.split('\n')
    expect(lines.find((l) => l.startsWith('| model'))).to.match(/^\| model +\| +size \| params \| threads \| test \| +t\/s \| ms\/token \|.*llama\.cpp t\/s \| ratio \| target \|$/)
    expect(lines.filter((l) => /\| +1 \| +(pp4|tg2) \| +[\d.]+ ± [\d.]+ \|/.test(l))).to.have.length(2)
    expect(r.stdout).to.match(/^memory read \(sequential scan over 256 MiB\): 1 thread [\d.]+ GB\/s, 2 threads [\d.]+ GB\/s$/m)
    expect(r.stdout).to.match(/^kernels: one matrix-vector product/m)
    expect(r.stdout).to.match(/^peak RSS [\d.]+ GiB; limit \(model/m)
  })

  it('a fragment set is verified while it loads (--no-verify skips it); --safe-mode runs the reference kernels', async () => {
    const set = join(dir, 'set')
    const split = await run(['split', mistral.model, '-o', set])
    expect(split.code, split.stderr).to.equal(0)
    const verified = await run(['bench', '--model', set, '-p', '2', '-n', '2', '-t', '1', '--iterations', '1', '--no-micro', '--json'])
    expect(verified.code, verified.stderr).to.equal(0)
    const v = JSON.parse(verified.stdout) as BenchJson
    expect(v.model.kind).to.equal('fragments')
    expect(v.load.verified).to.equal(true)
    expect([v.kernels, v.ops, v.frames]).to.deep.equal([[], [], []])
    const skipped = await run(['bench', '--model', set, '-p', '2', '-n', '0', '-t', '1', '--iterations', '1', '--no-micro', '--no-verify', '--safe-mode', '--json'])
    expect(skipped.code, skipped.stderr).to.equal(0)
    const s = JSON.parse(skipped.stdout) as BenchJson
    expect(s.load).to.include({verified: false, hash_seconds: 0})
    expect(s.tests.map((t) => [t.test, t.kernels, t.n_threads])).to.deep.equal([['pp2', 'reference', 1]])
  })

  it('--relaxed-simd and --no-relaxed-simd choose the kernels whatever the runtime ships', async () => {
    const args = ['bench', '--model', mistral.model, '-p', '2', '-n', '2', '-t', '1', '--iterations', '1', '--no-micro', '--json']
    for (const [flag, kernels] of [['--relaxed-simd', 'relaxed'], ['--no-relaxed-simd', 'fast']]) {
      const r = await run([...args, flag])
      expect(r.code, r.stderr).to.equal(0)
      expect((JSON.parse(r.stdout) as BenchJson).tests.map((t) => t.kernels), flag).to.deep.equal([kernels, kernels])
    }
  })

  it('a profile name with no configured or cached model exits 2 with the commands that make one', async () => {
    const cache = join(dir, 'empty-cache')
    const env = {...process.env, MISTRAL_7B_FRAGMENTS: undefined, MAGISTRAL_FRAGMENTS: undefined}
    const r = await run(['bench', '--model', 'mistral_7b', '--cache-dir', cache, '-p', '4', '-n', '2'], env)
    expect(r.code).to.equal(2)
    expect(r.stderr).to.include('--model mistral_7b names no configured model')
    expect(r.stderr).to.include(`hint: make one: llmfrag synth --architecture mistral_7b -o ${join(cache, 'mistral_7b-synth.gguf')}`)
    expect(r.stderr).to.include('hint: or let bench make it there: llmfrag bench --model mistral_7b --synthetic')
  })

  it('-d runs each test after that many cache positions (llama-bench\'s n_depth and `@ d` names); the context and KV cache grow by the depth', async () => {
    const r = await run(['bench', '--model', mistral.model, '-p', '4', '-n', '2', '-d', '0,8', '-t', '1', '--iterations', '1', '--no-micro', '--json'])
    expect(r.code, r.stderr).to.equal(0)
    const j = JSON.parse(r.stdout) as BenchJson
    expect(validate(j), JSON.stringify(validate.errors)).to.equal(true)
    expect(j.tests.map((t) => [t.test, t.n_prompt, t.n_gen, t.n_depth])).to.deep.equal([['pp4', 4, 0, 0], ['tg2', 0, 2, 0], ['pp4 @ d8', 4, 0, 8], ['tg2 @ d8', 0, 2, 8]])
    expect(j.memory.kv_cache_bytes).to.equal(2 * (8 + 4) * (128 + 128) * 4) // layers x (depth + max(p, n)) x (kvDim + kvDimV) x f32
    const human = await run(['bench', '--model', mistral.model, '-p', '0', '-n', '2', '-d', '8', '-t', '1', '--iterations', '1', '--no-micro'])
    expect(human.code, human.stderr).to.equal(0)
    expect(human.stdout).to.match(/\| +1 \| tg2 @ d8 \| +[\d.]+ ± [\d.]+ \|/)
    // By default, where the runtime does not ship relaxed SIMD, bench says how to run on it.
    expect(human.stderr.includes('hint: --relaxed-simd runs Q4_K and Q6_K on WebAssembly relaxed SIMD'), human.stderr).to.equal(!validatesWithoutFlags(RELAXED_WASM_PATH))
  })

  it('bad usage exits 2: unknown model, bad thread list, bad depth list, nothing to measure, threads with the reference kernels', async () => {
    for (const args of [
      ['--model', join(dir, 'nope.gguf')],
      ['--model', mistral.model, '-t', '0'],
      ['--model', mistral.model, '-t', '1,x'],
      ['--model', mistral.model, '-d', '-1'],
      ['--model', mistral.model, '-d', '0,x'],
      ['--model', mistral.model, '-p', '0', '-n', '0'],
      ['--model', mistral.model, '--safe-mode', '-t', '2'],
    ]) {
      const r = await run(['bench', ...args, '--iterations', '1', '--no-micro'])
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(2)
      expect(r.stderr, args.join(' ')).to.match(/^error: /m)
    }
  })
})
