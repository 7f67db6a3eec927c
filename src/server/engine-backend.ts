/**
 * The server's Backend over the real Engine (src/engine): a .gguf file or a fragment set, its
 * tokenizer and its chat format. Completion prompts are tokenized as `llmfrag run -p` does (BOS,
 * control-token text parsed), so a request with a seed gives the text `run --seed` gives; chat
 * prompts are rendered by the model's chat format (src/chat). The engine keeps its KV cache between
 * requests and re-evaluates only what differs from the previous prompt, which is the prompt cache
 * for a system prompt shared by consecutive requests.
 *
 * A prompt cache (prompt-cache.ts) keeps the KV prefix of each chat's system prompt across
 * interleaved requests. For a reasoning model's chat format (mistral-v7-tekken), control tokens are
 * rendered and [THINK]...[/THINK] goes to the `thinking` channel (the API's reasoning_content).
 *
 * With `verifyFirst` (--safe-mode) every checksum is verified (`llmfrag verify`'s checks) before
 * any weight is placed, and the data is hashed again as it streams in.
 */
import {encodeChat, requireChatFormat, type ChatFormatName, type ChatMessage} from '../chat/format.js'
import {ThinkSplitter} from '../chat/think.js'
import {Engine} from '../engine/index.js'
import {LlmfragError} from '../errors.js'
import {verify} from '../fragments/verify.js'
import type {RelaxedSimdChoice} from '../kernels/wasm/relaxed.js'
import type {Codec} from '../frames/frame.js'
import {fingerprintHex, modelFingerprint} from '../frames/fingerprint.js'
import {compareSnapshot, snapshotFiles, type FileSnapshot} from './file-snapshot.js'
import type {Backend, FinishReason, GenerateRequest, GenerateResult, LoadProgress, ModelInfo, PromptInput} from './backend.js'
import {PromptCache} from './prompt-cache.js'

export interface EngineBackendOptions {
  /** The API's name for the model. */
  readonly id: string
  /** A .gguf file or a fragment set directory. */
  readonly path: string
  /** Context size in tokens (engine default: min(4096, the model's)). */
  readonly ctx?: number
  /** Matrix-product kernels: WebAssembly SIMD on a thread pool, or the scalar references (--safe-mode). */
  readonly kernels?: 'fast' | 'reference'
  /** Compute threads for the fast kernels (default: the cores available). */
  readonly threads?: number
  /** Relaxed SIMD for the fast kernels: on, off, or `auto` (default: where the runtime ships it). */
  readonly relaxedSimd?: RelaxedSimdChoice
  /** Verify every checksum before loading (--safe-mode); fragment sets are hashed while loading anyway. */
  readonly verifyFirst?: boolean
  /** A profile name the verify step must detect (the config's `architecture`, unless `auto`). */
  readonly expectedArchitecture?: string
  /** System-prompt KV cache: a byte budget (0: off), and a directory to keep it in across restarts. */
  readonly promptCache?: {readonly bytes: number; readonly dir?: string; readonly codec?: Codec}
  /** Called when a cache file made by another model is refused (counted as an architecture mismatch). */
  readonly onCacheRefused?: (file: string, err: LlmfragError) => void
}

export class EngineBackend implements Backend {
  private engine: Engine | undefined
  private format: ChatFormatName | undefined
  private formatError: LlmfragError | undefined
  private files: FileSnapshot | undefined
  private cache: PromptCache | undefined

  constructor(private readonly options: EngineBackendOptions) {}

  async load(onProgress?: LoadProgress): Promise<ModelInfo> {
    const {path} = this.options
    if (this.options.verifyFirst) await verifyOrThrow(path, this.options.expectedArchitecture, onProgress)
    const kernels = this.options.kernels ?? 'fast'
    const engine = await Engine.load(path, {ctx: this.options.ctx, kernels, threads: this.options.threads, relaxedSimd: this.options.relaxedSimd, verify: true, onProgress})
    this.files = snapshotFiles(path)
    const fingerprint = modelFingerprint(engine.source.tensors)
    const pc = this.options.promptCache
    if (pc && pc.bytes > 0) {
      const persist = pc.dir === undefined ? undefined : {dir: pc.dir, model: {architecture: engine.config.profile, fingerprint}, codec: pc.codec ?? 'raw'}
      this.cache = new PromptCache(pc.bytes, persist)
      await this.cache.restore((file, err) => this.options.onCacheRefused?.(file, err))
    }
    this.engine = engine
    try {
      this.format = requireChatFormat(engine.tokenizer)
    } catch (err) {
      // Completions still work; chat requests get this error.
      this.formatError = err instanceof LlmfragError ? err : undefined
    }
    return {
      id: this.options.id,
      architecture: engine.config.profile,
      nCtx: engine.ctx,
      // The engine places every block when it loads (no partial residency).
      blocksResident: engine.config.layers,
      source: path,
      kernels,
      relaxedSimd: engine.model.matmul.kernels === 'relaxed',
      created: Math.floor(Date.now() / 1000),
      fingerprint: fingerprintHex(fingerprint),
    }
  }

  prepare(prompt: PromptInput): number[] {
    const engine = this.loaded()
    if (prompt.kind === 'completion') return engine.tokenizer.encode(prompt.text, {addSpecial: true, parseSpecial: true})
    if (this.format === undefined) {
      throw this.formatError ?? new LlmfragError('UNSUPPORTED', 'this model has no chat format; use /v1/completions')
    }
    return encodeChat(engine.tokenizer, this.format, prompt.messages)
  }

  async generate(req: GenerateRequest): Promise<GenerateResult> {
    const engine = this.loaded()
    const {sampling} = req
    const shared = commonPrefix(engine.cachedTokens, req.tokens)
    const restored = this.cache?.lookup(req.tokens, shared)
    if (restored) engine.restoreCache(restored)
    // Magistral thinks between [THINK] and [/THINK]: render control tokens and split them off.
    const thinking = req.chat && this.format === 'mistral-v7-tekken'
    const splitter = thinking ? new ThinkSplitter() : undefined
    const emit = (text: string): void => {
      if (!splitter) return req.onText({text, channel: 'answer'})
      for (const c of splitter.push(text)) req.onText({text: c.text, channel: c.kind === 'thinking' ? 'thinking' : 'answer'})
    }
    const result = await engine.generate(req.tokens, {
      maxTokens: sampling.maxTokens,
      sampling: {
        temperature: sampling.temperature, topK: sampling.topK, topP: sampling.topP, minP: sampling.minP,
        repeatPenalty: sampling.repeatPenalty, repeatLastN: sampling.repeatLastN, seed: sampling.seed,
      },
      stop: sampling.stop,
      signal: req.signal,
      special: thinking,
    }, emit)
    for (const c of splitter?.flush() ?? []) req.onText({text: c.text, channel: c.kind === 'thinking' ? 'thinking' : 'answer'})
    const prefix = this.cache ? this.systemPrefix(req.input, req.tokens) : 0
    if (this.cache && prefix > 0 && !this.cache.has(req.tokens.slice(0, prefix))) await this.cache.store(engine.cacheContents(), prefix)
    const reasons: Record<typeof result.stopReason, FinishReason> = {eog: 'stop', stop: 'stop', length: 'length', abort: 'abort'}
    return {
      completionTokens: result.tokens.length,
      finishReason: reasons[result.stopReason],
      promptMs: result.timings.promptMs,
      generateMs: result.timings.evalMs + result.timings.sampleMs,
      cachedPromptTokens: req.tokens.length - result.timings.promptTokens,
    }
  }

  /**
   * Tokens of a chat prompt that belong to its system message, whatever the format: the common
   * prefix of the same system message rendered with two different user messages, when the prompt
   * starts with it. 0 for completions and chats without a system message.
   */
  private systemPrefix(input: PromptInput, tokens: readonly number[]): number {
    if (input.kind !== 'chat' || this.format === undefined || input.messages[0]?.role !== 'system') return 0
    const tok = this.loaded().tokenizer
    const system: ChatMessage = input.messages[0]
    const a = encodeChat(tok, this.format, [system, {role: 'user', content: 'a'}])
    const b = encodeChat(tok, this.format, [system, {role: 'user', content: 'b'}])
    return Math.min(commonPrefix(a, b), commonPrefix(a, tokens))
  }

  /** Prompt cache counters (undefined when the cache is off). */
  cacheStats(): ReturnType<PromptCache['stats']> | undefined {
    return this.cache?.stats()
  }

  /** The model's files are still those that were loaded (a later restart would load the same model). */
  async check(): Promise<string | undefined> {
    return this.files === undefined ? undefined : compareSnapshot(this.options.path, this.files)
  }

  /** Stops the engine's compute threads. */
  async close(): Promise<void> {
    const engine = this.engine
    this.engine = undefined
    await engine?.close()
  }

  private loaded(): Engine {
    if (!this.engine) throw new LlmfragError('INTERNAL', `model ${this.options.id} is not loaded`)
    return this.engine
  }
}

/** Runs the five checks of `llmfrag verify`; any failure refuses the model before it is loaded. */
async function verifyOrThrow(path: string, expected: string | undefined, onProgress?: LoadProgress): Promise<void> {
  const r = await verify(path, {expectedArchitecture: expected, onProgress})
  if (r.ok) return
  const failed = r.checks.filter((c) => !c.ok)
  const arch = failed.find((c) => c.id === 'architecture')
  const lines = failed.flatMap((c) => [c.name + (c.detail ? ` (${c.detail})` : ''), ...c.problems.map((p) => `  ${p.message}`)])
  throw new LlmfragError(arch && expected !== undefined && failed.length === 1 ? 'ARCH_MISMATCH' : 'CHECK_FAILED',
    `${path} failed verification: ${lines.join('; ')}`, {
      hints: [`run \`llmfrag verify ${path}\` for the full report`],
      details: {checks: failed.map((c) => c.id)},
    })
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length)
  let i = 0
  while (i < n && a[i] === b[i]) i++
  return i
}
