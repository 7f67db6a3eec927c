import {rename, writeFile} from 'node:fs/promises'

import {Flags} from '@oclif/core'

import {runBench} from '../bench/run-bench.js'
import {defaultCacheDir, resolveBenchModel} from '../bench/model-spec.js'
import {renderBench} from '../bench/render.js'
import {checkBenchResult} from '../bench/schema.js'
import type {BenchResult} from '../bench/types.js'
import {BaseCommand} from '../cli/base-command.js'
import {kernelChoice, kernelFlags} from '../cli/kernel-flags.js'
import {progressBar} from '../cli/progress.js'
import {ioError, LlmfragError} from '../errors.js'
import {defaultThreads} from '../model/load.js'

export default class Bench extends BaseCommand {
  static override summary = 'Measure prompt processing and generation speed, as llama-bench does, beside llama.cpp\'s figures.'
  static override description = `Loads the model once, then per thread count and cache depth runs the pp test (n_prompt random tokens) and the tg test (n_gen single-token steps), from an empty cache or, with -d, after that many positions (filled once, not timed) --iterations times after a warm-up, and prints llama-bench's table (model | size | params | threads | test | t/s) with ms/token, llama.cpp's figure on this kind of machine, the ratio and the target (generation >= 0.7x, prompt processing >= 0.4x, at 2 threads). Also measured in the same run: this machine's memory-read rate at 1 and 2 threads (so each rate reads as a fraction of the bandwidth limit), load time, kernel throughput per weight type, the latency of each operation of a decoding step, a hidden state through the tensor frames, sha256, and peak RSS against model + KV cache + 10%. --model takes a path, a configured model name, or a profile name: a profile's synthetic model is looked up in the cache directory, and written there by --synthetic.`

  static override examples = [
    '<%= config.bin %> bench --model /work/bench/mistral_7b-synth.gguf -p 64 -n 16 -t 1,2 --iterations 2',
    '<%= config.bin %> bench --model mistral_7b --synthetic --output bench.json',
    '<%= config.bin %> bench --model ./fragments/magistral -p 0 -n 8 -t 2 --json',
  ]

  static override enableJsonFlag = true

  static override flags = {
    model: Flags.string({char: 'm', description: 'a .gguf file, a fragment set, a configured model name, or a profile (mistral_7b, magistral) [default: the config\'s default model]'}),
    synthetic: Flags.boolean({description: 'write the profile\'s synthetic model into --cache-dir if it is not there yet'}),
    'cache-dir': Flags.string({description: 'where synthetic models are kept [default: $XDG_CACHE_HOME/llmfrag or ~/.cache/llmfrag]'}),
    config: Flags.string({description: 'config/production.json naming models'}),
    'env-file': Flags.string({description: 'a .env file of overrides (MISTRAL_7B_FRAGMENTS, MAGISTRAL_FRAGMENTS, ...)'}),
    'n-prompt': Flags.integer({char: 'p', description: 'prompt tokens of the pp test (0: no pp test)', default: 512, min: 0}),
    'n-gen': Flags.integer({char: 'n', description: 'generated tokens of the tg test (0: no tg test)', default: 128, min: 0}),
    threads: Flags.string({char: 't', description: 'thread counts, comma-separated (e.g. 1,2) [default: the cores available]'}),
    'n-depth': Flags.string({char: 'd', description: 'cache depths, comma-separated (e.g. 0,1024): each test runs after that many positions are in the KV cache, as llama-bench -d', default: '0'}),
    iterations: Flags.integer({char: 'r', description: 'repetitions of each test (mean ± sd over them)', default: 5, min: 1}),
    'batch-size': Flags.integer({char: 'b', description: 'prompt positions per forward pass (n_batch)', default: 512, min: 1}),
    output: Flags.string({char: 'o', description: 'also write the JSON result here (llama-bench field names plus ours; schemas/bench.schema.json)'}),
    'safe-mode': Flags.boolean({description: 'the scalar reference kernels (one thread)'}),
    verify: Flags.boolean({description: 'check a fragment set\'s sha256 while loading (--no-verify skips)', default: true, allowNo: true}),
    micro: Flags.boolean({description: 'kernel, op, frame and sha256 measurements (--no-micro: only pp and tg)', default: true, allowNo: true}),
    ...kernelFlags,
  }

  async run(): Promise<BenchResult> {
    const {flags} = await this.parse(Bench)
    const threads = flags.threads === undefined ? [flags['safe-mode'] ? 1 : defaultThreads()] : parseList(flags.threads, '-t/--threads', 'a thread count from 1 to 64', 1, 64, '-t 1,2')
    const depths = parseList(flags['n-depth'], '-d/--n-depth', 'a depth from 0 to 1048576', 0, 1 << 20, '-d 0,1024')
    const synthBar = progressBar('synthesizing')
    const resolved = await resolveBenchModel(flags.model, {
      config: flags.config, envFile: flags['env-file'], synthetic: flags.synthetic, cacheDir: flags['cache-dir'] ?? defaultCacheDir(), onSynth: synthBar.update,
    }).finally(() => synthBar.stop())
    if (resolved.via === 'synthesized' || resolved.via === 'cache') this.note(`${resolved.via === 'cache' ? 'using the cached' : 'wrote the'} synthetic model ${resolved.path}`)
    const loadBar = progressBar('loading')
    const stage = process.stderr.isTTY ? (s: string): void => void process.stderr.write(`\r\x1b[2K${s}`) : (): void => {}
    let result: BenchResult
    try {
      result = await runBench({
        model: resolved.path, synthetic: resolved.synthetic, nPrompt: flags['n-prompt'], nGen: flags['n-gen'], depths, threads, iterations: flags.iterations,
        batch: flags['batch-size'], ...kernelChoice(flags), verify: flags.verify, micro: flags.micro,
        version: this.config.version, onStage: stage, onLoadProgress: loadBar.update,
      })
    } finally {
      loadBar.stop()
      if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K')
    }
    checkBenchResult(result)
    if (flags.output !== undefined) await writeJson(flags.output, result)
    if (!this.jsonEnabled()) {
      for (const line of renderBench(result)) this.log(line)
      if (flags['relaxed-simd'] === undefined && result.tests[0]?.kernels === 'fast') {
        this.note('hint: --relaxed-simd runs Q4_K and Q6_K on WebAssembly relaxed SIMD (a byte dot product, the same logits), faster; '
          + `on Node ${process.versions.node} it turns on V8's experimental relaxed SIMD for the process (Node 22 ships it and uses it by default)`)
      }
    }
    return result
  }
}

/** `1,2` -> [1, 2]: whole numbers from min to max, or BAD_INPUT naming the flag. */
function parseList(s: string, flag: string, what: string, min: number, max: number, example: string): number[] {
  const parts = s.split(',').map((p) => p.trim())
  const values = parts.map(Number)
  const bad = parts.findIndex((p, i) => !/^\d+$/.test(p) || values[i] < min || values[i] > max)
  if (bad >= 0) {
    throw new LlmfragError('BAD_INPUT', `${flag}: "${parts[bad]}" is not ${what}`, {hints: [`give values separated by commas: ${example}`]})
  }
  return values
}

/** Writes the result as OUT.partial-<pid>, then renames it into place. */
async function writeJson(path: string, result: BenchResult): Promise<void> {
  const tmp = `${path}.partial-${process.pid}`
  try {
    await writeFile(tmp, JSON.stringify(result, null, 2) + '\n')
    await rename(tmp, path)
  } catch (err) {
    throw ioError(err, path, 'write')
  }
}
