/**
 * The engine behind `run`, `chat` and the server: a loaded model (weights, run state, KV cache),
 * its tokenizer, and the two things callers do with them -- evaluate a token sequence for its
 * logits (conformance), and generate text from a prompt with sampling, stop strings and a token
 * budget. The KV cache is kept between calls: a new prompt that starts with the tokens already in
 * the cache (the next chat turn) only evaluates what is new.
 *
 * One engine runs one request at a time (it owns one KV cache); a second concurrent call is refused
 * with an INTERNAL error, so callers that serve several clients queue their requests.
 */
import {LlmfragError} from '../errors.js'
import {Metadata} from '../gguf/metadata.js'
import type {ModelConfig} from '../model/config.js'
import {loadTransformer, type ModelLoadOptions} from '../model/load.js'
import type {Transformer} from '../model/transformer.js'
import {Sampler, type SamplingParams, StopMatcher} from '../sampling/index.js'
import {openModelSource} from '../source/open.js'
import type {LoadReport, ModelSource} from '../source/model-source.js'
import {createTokenizer, type Tokenizer} from '../tokenizer/index.js'
import {perSecond, type Timings} from './timings.js'

export interface GenerateOptions {
  /** Tokens to generate; -1 (default) runs until an end-of-generation token (or the context is full: CONTEXT_FULL). */
  readonly maxTokens?: number
  /** Sampling parameters (llama.cpp defaults for those left out). */
  readonly sampling?: Partial<SamplingParams>
  /** Generation ends before the first occurrence of any of these; they are not part of the text. */
  readonly stop?: readonly string[]
  /** Turn control-token text in a string prompt (`[INST]`) into control tokens, as llama-cli does. Default false. */
  readonly parseSpecial?: boolean
  /** Ends generation after the current token (reason `abort`), e.g. on Ctrl-C. */
  readonly signal?: AbortSignal
  /** Render control tokens as their text (`[THINK]`), for callers that split a reasoning model's thoughts from its answer. Default false. */
  readonly special?: boolean
}

/** The KV cache contents: the cached tokens and, per layer, their keys (n, kvDim) and values (n, kvDimV). */
export interface CacheContents {
  readonly tokens: readonly number[]
  readonly keys: readonly Float32Array[]
  readonly values: readonly Float32Array[]
}

/** Why generation ended: an end-of-generation token, a stop string, the token budget, or the signal. */
export type StopReason = 'eog' | 'stop' | 'length' | 'abort'

export interface GenerationResult {
  readonly text: string
  /** Generated token ids (an end-of-generation token is not included). */
  readonly tokens: readonly number[]
  /** Prompt length in tokens, BOS included. */
  readonly promptTokens: number
  readonly stopReason: StopReason
  /** The sampler's seed (drawn at random when none was given), to reproduce the run. */
  readonly seed: number
  readonly timings: Timings
}

export interface EvaluateResult {
  /** (n, vocab) logits of every position, unless onLogits consumed them. */
  readonly logits: Float32Array | undefined
  readonly timings: Timings
}

/** Receives the text each token adds (only when non-empty) as it is generated. */
export type TokenCallback = (text: string, token: number) => void
/** Receives logits rows (n, vocab) for positions pos..pos+n-1; the array is reused after the call. */
export type LogitsCallback = (logits: Float32Array, pos: number, n: number) => void

export class Engine {
  /** Tokens whose keys and values occupy cache slots 0..cached.length-1. */
  private cached: number[] = []
  private busy = false

  private constructor(
    readonly source: ModelSource,
    readonly model: Transformer,
    readonly tokenizer: Tokenizer,
    readonly loadReport: LoadReport,
    readonly loadMs: number,
  ) {}

  /** Opens a .gguf file or fragment set, reads its tokenizer and places its weights. */
  static async load(path: string, options: ModelLoadOptions = {}): Promise<Engine> {
    return Engine.fromSource(openModelSource(path), options)
  }

  static async fromSource(source: ModelSource, options: ModelLoadOptions = {}): Promise<Engine> {
    const started = performance.now()
    const tokenizer = createTokenizer(new Metadata(source.path, source.kv))
    const {model, report} = await loadTransformer(source, options)
    if (tokenizer.vocabSize !== model.config.vocab) {
      await model.close()
      throw new LlmfragError('BAD_INPUT', `${source.path}: the tokenizer has ${tokenizer.vocabSize} tokens but the model's vocabulary is ${model.config.vocab}`, {
        hints: ['the file may be damaged or converted incorrectly'],
      })
    }
    return new Engine(source, model, tokenizer, report, performance.now() - started)
  }

  /** Stops the compute threads of the fast kernels (idempotent); the engine must not be used after. */
  close(): Promise<void> {
    return this.model.close()
  }

  get config(): ModelConfig {
    return this.model.config
  }

  /** Context size in tokens. */
  get ctx(): number {
    return this.model.ctx
  }

  /** Tokens currently held in the KV cache. */
  get cachedTokens(): readonly number[] {
    return this.cached
  }

  /** Forgets the KV cache contents (the next prompt is evaluated from position 0). */
  reset(): void {
    this.cached = []
  }

  /** A copy of the cache contents, slot after slot (to save a chat session or a prompt-cache entry). */
  cacheContents(): CacheContents {
    const n = this.cached.length
    const s = this.model.state
    const layers = [...s.keyCache.keys()]
    return {
      tokens: [...this.cached],
      keys: layers.map((l) => s.cacheSlots('keys', l, n)),
      values: layers.map((l) => s.cacheSlots('values', l, n)),
    }
  }

  /**
   * Puts saved cache contents back (a chat session loaded from disk), as cacheContents gave them
   * for this model; the next prompt that starts with these tokens evaluates only what follows.
   */
  restoreCache(contents: CacheContents): void {
    this.claim()
    try {
      const {tokens, keys, values} = contents
      const {layers, kvDim, kvDimV} = this.config
      const n = tokens.length
      if (n > this.ctx) {
        throw new LlmfragError('CONTEXT_FULL', `the saved cache holds ${n} tokens, more than the context of ${this.ctx}`, {
          hints: ['raise -c/--ctx-size'], details: {ctx: this.ctx, tokens: n},
        })
      }
      if (n > 0) this.checkPrompt(tokens, 0)
      const badLayer = (arrays: readonly Float32Array[], width: number): number =>
        arrays.length !== layers ? arrays.length : arrays.findIndex((a) => a.length !== n * width)
      for (const [what, arrays, width] of [['keys', keys, kvDim], ['values', values, kvDimV]] as const) {
        const bad = badLayer(arrays, width)
        if (bad >= 0) {
          throw new LlmfragError('BAD_INPUT', `saved cache ${what}: expected ${layers} layers of ${n} x ${width} floats, got ${arrays.length} layers${bad < arrays.length ? ` (layer ${bad} has ${arrays[bad].length})` : ''}`, {
            hints: ['the cache was saved by a model of another shape'],
          })
        }
      }
      const s = this.model.state
      for (let l = 0; l < layers; l++) {
        s.setCacheSlots('keys', l, n, keys[l])
        s.setCacheSlots('values', l, n, values[l])
      }
      this.cached = [...tokens]
    } finally {
      this.busy = false
    }
  }

  /**
   * Evaluates tokens from position 0 with logits for every position, in batches of at most
   * maxBatch positions. With onLogits the rows are streamed to it; otherwise they are returned as
   * one (n, vocab) array.
   */
  evaluate(tokens: readonly number[], onLogits?: LogitsCallback): EvaluateResult {
    this.claim()
    try {
      return this.evaluateUnclaimed(tokens, onLogits)
    } finally {
      this.busy = false
    }
  }

  private evaluateUnclaimed(tokens: readonly number[], onLogits?: LogitsCallback): EvaluateResult {
    const started = performance.now()
    this.checkPrompt(tokens, 0)
    const vocab = this.config.vocab
    const out = onLogits ? undefined : new Float32Array(tokens.length * vocab)
    this.cached = []
    for (let pos = 0; pos < tokens.length; pos += this.model.maxBatch) {
      const chunk = tokens.slice(pos, pos + this.model.maxBatch)
      this.model.forward(chunk, pos, true)
      const rows = this.model.state.logits.subarray(0, chunk.length * vocab)
      if (onLogits) onLogits(rows, pos, chunk.length)
      else out?.set(rows, pos * vocab)
      this.cached.push(...chunk)
    }
    const ms = performance.now() - started
    return {logits: out, timings: this.timings(tokens.length, ms, 0, 0, 0, 0, ms)}
  }

  /**
   * Generates from a prompt (text, tokenized with BOS; or token ids as given), streaming text to
   * onToken. Yields to the event loop between tokens so signals, timers and sockets keep working.
   */
  async generate(prompt: string | readonly number[], options: GenerateOptions = {}, onToken?: TokenCallback): Promise<GenerationResult> {
    this.claim()
    try {
      return await this.generateUnclaimed(prompt, options, onToken)
    } finally {
      this.busy = false
    }
  }

  private async generateUnclaimed(prompt: string | readonly number[], options: GenerateOptions, onToken?: TokenCallback): Promise<GenerationResult> {
    const started = performance.now()
    const ids = typeof prompt === 'string'
      ? this.tokenizer.encode(prompt, {addSpecial: true, parseSpecial: options.parseSpecial ?? false})
      : [...prompt]
    const maxTokens = options.maxTokens ?? -1
    if (!Number.isInteger(maxTokens) || maxTokens < -1) {
      throw new LlmfragError('BAD_INPUT', `maxTokens is ${maxTokens}, expected -1 (no limit) or a whole number >= 0`)
    }
    this.checkPrompt(ids, maxTokens)
    const sampler = new Sampler(options.sampling ?? {}, this.config.vocab, this.ctx)
    for (const id of ids) sampler.accept(id)

    const promptStart = performance.now()
    const evaluated = await this.evaluatePrompt(ids, options.signal)
    const promptMs = performance.now() - promptStart
    if (evaluated === undefined) {
      return {text: '', tokens: [], promptTokens: ids.length, stopReason: 'abort', seed: sampler.seed,
        timings: this.timings(0, promptMs, 0, 0, 0, 0, performance.now() - started)}
    }

    const decoder = this.tokenizer.streamDecoder({special: options.special ?? false})
    const stops = new StopMatcher(options.stop ?? [])
    const generated: number[] = []
    const next = new Int32Array(1) // (1) the token fed back each step
    let text = ''
    let reason: StopReason = 'length'
    let evalMs = 0, evalRuns = 0, sampleMs = 0
    const emit = (piece: string, token: number): boolean => {
      const r = stops.push(piece)
      text += r.emit
      if (r.emit.length > 0) onToken?.(r.emit, token)
      return r.stopped
    }
    let stopped = false
    while (maxTokens < 0 || generated.length < maxTokens) {
      if (options.signal?.aborted) {
        reason = 'abort'
        break
      }
      const t0 = performance.now()
      const token = sampler.sample(this.model.state.logits, 0)
      sampleMs += performance.now() - t0
      if (this.tokenizer.isEog(token)) {
        reason = 'eog'
        break
      }
      generated.push(token)
      sampler.accept(token)
      if (emit(decoder.push(token), token)) {
        reason = 'stop'
        stopped = true
        break
      }
      if (generated.length === maxTokens) break
      const pos = this.cached.length
      if (pos >= this.ctx) {
        throw new LlmfragError('CONTEXT_FULL', `the context is full: ${this.ctx} tokens (prompt ${ids.length}, generated ${generated.length})`, {
          hints: ['raise -c/--ctx-size, or limit the reply with -n/--n-predict'],
          details: {ctx: this.ctx, promptTokens: ids.length, generated: generated.length, text},
        })
      }
      const t1 = performance.now()
      next[0] = token
      this.model.forward(next, pos)
      this.cached.push(token)
      evalMs += performance.now() - t1
      evalRuns++
      await yieldToEventLoop()
    }
    if (!stopped) {
      stopped = emit(decoder.flush(), generated.at(-1) ?? -1)
      if (!stopped) {
        const rest = stops.flush()
        text += rest
        if (rest.length > 0) onToken?.(rest, generated.at(-1) ?? -1)
      } else reason = 'stop'
    }
    return {
      text, tokens: generated, promptTokens: ids.length, stopReason: reason, seed: sampler.seed,
      timings: this.timings(evaluated, promptMs, generated.length, evalRuns, evalMs, sampleMs, performance.now() - started),
    }
  }

  /**
   * Brings the cache to hold exactly `ids` and leaves the last position's logits in row 0 of the
   * logits buffer. The longest prefix already cached is kept (at least the last token is
   * re-evaluated, for its logits). Yields between batches; returns the positions evaluated, or
   * undefined when the signal stopped it (the cache then holds the batches already done).
   */
  private async evaluatePrompt(ids: readonly number[], signal: AbortSignal | undefined): Promise<number | undefined> {
    let keep = 0
    const limit = Math.min(this.cached.length, ids.length - 1)
    while (keep < limit && this.cached[keep] === ids[keep]) keep++
    this.cached.length = keep
    for (let pos = keep; pos < ids.length; pos += this.model.maxBatch) {
      if (pos > keep) await yieldToEventLoop()
      if (signal?.aborted) return undefined
      const chunk = ids.slice(pos, pos + this.model.maxBatch)
      this.model.forward(chunk, pos)
      this.cached.push(...chunk)
    }
    return ids.length - keep
  }

  private claim(): void {
    if (this.busy) {
      throw new LlmfragError('INTERNAL', 'the engine is already evaluating or generating; requests must be queued', {
        hints: ['one Engine owns one KV cache and runs one request at a time'],
      })
    }
    this.busy = true
  }

  /** Refuses an empty prompt, ids outside the vocabulary, a prompt or token budget that does not fit. */
  private checkPrompt(ids: readonly number[], maxTokens: number): void {
    if (ids.length === 0) throw new LlmfragError('BAD_INPUT', 'the prompt is empty (no tokens)', {hints: ['give a prompt with -p or --prompt-tokens']})
    const vocab = this.config.vocab
    const bad = ids.findIndex((t) => !Number.isInteger(t) || t < 0 || t >= vocab)
    if (bad >= 0) {
      throw new LlmfragError('BAD_INPUT', `token id ${ids[bad]} at prompt index ${bad} is outside the vocabulary (0..${vocab - 1})`, {
        details: {token: ids[bad], index: bad, vocab},
      })
    }
    // The k-th generated token is sampled after prompt + k - 1 positions are in the cache.
    const needed = ids.length + Math.max(0, maxTokens - 1)
    if (ids.length > this.ctx || needed > this.ctx) {
      throw new LlmfragError('CONTEXT_FULL', `the prompt (${ids.length} tokens)${maxTokens > 0 ? ` and ${maxTokens} tokens to generate` : ''} do not fit the context of ${this.ctx} tokens`, {
        hints: ['raise -c/--ctx-size, or shorten the prompt or -n/--n-predict'],
        details: {ctx: this.ctx, promptTokens: ids.length, maxTokens},
      })
    }
  }

  private timings(promptTokens: number, promptMs: number, generatedTokens: number, evalRuns: number, evalMs: number, sampleMs: number, totalMs: number): Timings {
    return {
      loadMs: this.loadMs, promptTokens, promptMs, promptTokensPerSecond: perSecond(promptTokens, promptMs),
      generatedTokens, evalRuns, evalMs, evalTokensPerSecond: perSecond(evalRuns, evalMs), sampleMs, totalMs,
    }
  }
}

/** Lets timers, signals and sockets run between batches and tokens. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
