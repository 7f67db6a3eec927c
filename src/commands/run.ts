import {Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {kernelChoice, kernelFlags} from '../cli/kernel-flags.js'
import {progressBar} from '../cli/progress.js'
import {samplingFlags, samplingFromFlags} from '../cli/sampling-flags.js'
import {modelPathFromFlags, runServingMode, servingFlags, servingModeRequested} from '../cli/serving-flags.js'
import {Engine, formatPerf, type StopReason, type Timings} from '../engine/index.js'
import {createLogitsWriter} from '../engine/logits-file.js'
import {LlmfragError} from '../errors.js'
import type {ModelLoadOptions} from '../model/load.js'
import {KERNEL_LABELS} from '../model/matmul.js'
import {resolveSampling} from '../sampling/index.js'
import type {ProductionSummary} from '../server/production.js'
import type {TestModeReport} from '../server/test-mode.js'

export interface RunResult {
  /** Generated text (empty with -n 0). */
  text: string
  /** Generated token ids. */
  tokens: number[]
  promptTokens: number
  stopReason: StopReason
  /** The sampling seed used (to reproduce a run with --seed). */
  seed: number
  timings: Timings
  /** Where --logits-out wrote (n_positions, n_vocab) float32 little-endian logits. */
  logitsOut?: {file: string; positions: number; vocab: number}
}

export default class Run extends BaseCommand {
  static override summary = 'Generate text from a prompt with a .gguf model or a fragment set.'
  static override description = `Loads the model (with a progress bar), evaluates the prompt in one batch and streams the generated text to stdout; timings go to stderr at the end, like llama.cpp's llama_perf lines. The prompt text is tokenized with BOS, special-token text such as [INST] parsed, as llama-cli does. Sampling flags and defaults are llama.cpp's (--temp 0 is greedy). For conformance checks, --prompt-tokens takes token ids instead of text and --logits-out writes the logits of every prompt position (float32 little-endian, [n_positions, n_vocab]); -n 0 evaluates the prompt only. A prompt and -n that do not fit the context fail with exit code 1 (never silently truncated). Matrix products run on the WebAssembly SIMD kernels over -t threads (--safe-mode: the scalar reference kernels, one thread); a fragment set's sha256 checksums are checked while it loads (--no-verify skips that).`

  static override examples = [
    '<%= config.bin %> run --model tiny.gguf -p "Once upon a time" -n 32 --temp 0',
    '<%= config.bin %> run --fragments-dir ./magistral-fragments -p "[INST] Hello [/INST]" --seed 42',
    '<%= config.bin %> run --model tiny.gguf --prompt-tokens 1,23220,8242 -n 0 --logits-out logits.f32 --json',
  ]

  static override enableJsonFlag = true

  static override flags = {
    model: Flags.string({char: 'm', description: 'a .gguf model file', exclusive: ['fragments-dir']}),
    'fragments-dir': Flags.string({description: 'a fragment set directory (from llmfrag split)', exclusive: ['model']}),
    prompt: Flags.string({char: 'p', description: 'prompt text', exclusive: ['prompt-tokens']}),
    'prompt-tokens': Flags.string({description: 'prompt as comma-separated token ids (BOS not added)', exclusive: ['prompt']}),
    'n-predict': Flags.integer({char: 'n', description: 'tokens to generate; -1 = until end of generation, 0 = evaluate the prompt only', default: -1, min: -1}),
    'ctx-size': Flags.integer({char: 'c', description: 'context size in tokens [default: min(4096, the model\'s)]', min: 1}),
    'batch-size': Flags.integer({char: 'b', description: 'prompt positions per forward pass [default: 512]', min: 1}),
    threads: Flags.integer({char: 't', description: 'compute threads, this one included [default: the cores available]', min: 1, max: 64}),
    verify: Flags.boolean({description: 'check each fragment\'s sha256 while a fragment set loads (--no-verify skips it)', default: true, allowNo: true}),
    stop: Flags.string({description: 'stop generating before this text (repeatable)', multiple: true}),
    'logits-out': Flags.string({description: 'write every prompt position\'s logits here (float32 LE, [n_positions, n_vocab])'}),
    ...samplingFlags,
    ...servingFlags,
    ...kernelFlags,
  }

  async run(): Promise<RunResult | ProductionSummary | TestModeReport> {
    const {flags} = await this.parse(Run)
    if (servingModeRequested(flags)) return runServingMode(flags, (line) => this.note(line))
    const path = modelPathFromFlags(flags)
    const promptTokens = flags['prompt-tokens'] === undefined ? undefined : parseTokenList(flags['prompt-tokens'])
    if (promptTokens === undefined && flags.prompt === undefined) {
      throw new LlmfragError('BAD_INPUT', 'no prompt given', {hints: ['pass -p TEXT, or --prompt-tokens 1,2,3']})
    }
    const sampling = resolveSampling(samplingFromFlags(flags)) // bad values fail before the model loads
    const engine = await this.load(path, {ctx: flags['ctx-size'], maxBatch: flags['batch-size'], threads: flags.threads, verify: flags.verify,
      ...kernelChoice(flags)})
    const r = engine.loadReport
    const mm = engine.model.matmul
    if (!this.jsonEnabled()) this.note(`system_info: n_threads = ${mm.threads} | kernels = ${KERNEL_LABELS[mm.kernels]} | Node ${process.versions.node}`)
    if (r.verified && !this.jsonEnabled()) this.note(`llmfrag_perf: verified fragment sha256 while loading: ${r.hashSeconds.toFixed(2)} s of hashing (worker threads) in a ${r.seconds.toFixed(2)} s load`)

    const prompt = promptTokens ?? engine.tokenizer.encode(flags.prompt ?? '', {addSpecial: true, parseSpecial: true})
    let logitsOut: RunResult['logitsOut']
    let evaluated: Timings | undefined
    if (flags['logits-out'] !== undefined) {
      const writer = createLogitsWriter(flags['logits-out'])
      try {
        evaluated = engine.evaluate(prompt, writer.onLogits).timings
      } catch (err) {
        writer.abort()
        throw err
      }
      logitsOut = {file: flags['logits-out'], positions: writer.finish(), vocab: engine.config.vocab}
    }

    const json = this.jsonEnabled()
    if (evaluated && flags['n-predict'] === 0) {
      if (!json) for (const line of formatPerf(evaluated)) this.note(line)
      return {text: '', tokens: [], promptTokens: prompt.length, stopReason: 'length', seed: 0, timings: evaluated, ...(logitsOut ? {logitsOut} : {})}
    }
    const result = await engine.generate(prompt, {
      maxTokens: flags['n-predict'],
      sampling,
      stop: flags.stop,
    }, json ? undefined : (text) => process.stdout.write(text))
    // With --logits-out the prompt was evaluated (with every position's logits) before generating.
    const timings: Timings = evaluated
      ? {...result.timings, promptTokens: evaluated.promptTokens, promptMs: evaluated.promptMs,
        promptTokensPerSecond: evaluated.promptTokensPerSecond, totalMs: result.timings.totalMs + evaluated.totalMs}
      : result.timings
    if (!json) {
      if (result.text.length > 0 && !result.text.endsWith('\n')) process.stdout.write('\n')
      for (const line of formatPerf(timings)) this.note(line)
    }
    return {
      text: result.text, tokens: [...result.tokens], promptTokens: result.promptTokens, stopReason: result.stopReason,
      seed: result.seed, timings, ...(logitsOut ? {logitsOut} : {}),
    }
  }

  private async load(path: string, options: ModelLoadOptions): Promise<Engine> {
    const bar = progressBar('loading')
    try {
      return await Engine.load(path, {...options, onProgress: bar.update})
    } finally {
      bar.stop()
    }
  }
}

function parseTokenList(s: string): number[] {
  const parts = s.split(/[\s,]+/).filter((p) => p.length > 0)
  const ids = parts.map(Number)
  const bad = parts.findIndex((p, i) => !/^\d+$/.test(p) || !Number.isSafeInteger(ids[i]))
  if (bad >= 0) {
    throw new LlmfragError('BAD_INPUT', `--prompt-tokens: "${parts[bad]}" (item ${bad + 1}) is not a token id`, {hints: ['give non-negative integers separated by commas: --prompt-tokens 1,23220,8242']})
  }
  if (ids.length === 0) throw new LlmfragError('BAD_INPUT', '--prompt-tokens is empty', {hints: ['give at least one token id']})
  return ids
}
