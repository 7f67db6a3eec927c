/**
 * What the server needs from a model, and nothing more: load it, turn a prompt into token ids (so
 * the server can check the context before queueing), and generate from token ids with streaming
 * text and cancellation. `engine-backend.ts` adapts the real engine; tests use a fake.
 *
 * A backend serves one generation at a time; the server's queue guarantees it never calls
 * `generate` while another generation of the same backend is running.
 */
export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant'
  readonly content: string
}

/** A raw completion prompt (BOS added as `llmfrag run -p` does) or a conversation to format. */
export type PromptInput =
  | {readonly kind: 'completion'; readonly text: string}
  | {readonly kind: 'chat'; readonly messages: readonly ChatMessage[]}

/**
 * Sampling as llama.cpp names it. A field left undefined takes the engine's default, the same as
 * `llmfrag run` without the flag, so a request with a seed gives the text `run --seed` gives.
 */
export interface SamplingParams {
  readonly temperature?: number
  readonly topK?: number
  readonly topP?: number
  readonly minP?: number
  readonly repeatPenalty?: number
  readonly repeatLastN?: number
  readonly seed?: number
  /** Tokens to generate at most; the server always sets it (capped by the context left). */
  readonly maxTokens: number
  /** Generation stops before any of these strings; they are not part of the text. */
  readonly stop: readonly string[]
}

/** A piece of decoded text. `thinking` is Magistral's [THINK]...[/THINK] (the API's reasoning_content). */
export interface TextEvent {
  readonly text: string
  readonly channel: 'answer' | 'thinking'
}

export interface GenerateRequest {
  /** Prompt token ids, as returned by `prepare`. */
  readonly tokens: readonly number[]
  /** What the tokens were made from (a backend may keep the KV cache of a shared system prompt). */
  readonly input: PromptInput
  /** Whether the tokens are a formatted chat (so [THINK] sections are split off). */
  readonly chat: boolean
  readonly sampling: SamplingParams
  /** Aborted when the client goes away or the server stops: stop at the next token. */
  readonly signal: AbortSignal
  /** Called for each piece of text as it is decoded (never with a partial UTF-8 sequence). */
  readonly onText: (event: TextEvent) => void
}

export type FinishReason = 'stop' | 'length' | 'abort'

export interface GenerateResult {
  /** Tokens generated (the prompt not included). */
  readonly completionTokens: number
  /** `stop`: end-of-sequence or a stop string; `length`: max tokens or the context end; `abort`: signal. */
  readonly finishReason: FinishReason
  /** Wall time of prompt processing and of generation, ms. */
  readonly promptMs: number
  readonly generateMs: number
  /** Prompt tokens whose keys and values came from a cache instead of being evaluated. */
  readonly cachedPromptTokens?: number
}

export interface ModelInfo {
  /** The name clients use in `model` (the config's model name, or the file stem). */
  readonly id: string
  /** Detected profile name (`magistral`, `mistral_7b`) or `llama-family (custom)`. */
  readonly architecture: string
  /** Context size in tokens the backend was loaded with. */
  readonly nCtx: number
  /** Transformer blocks resident in memory (40 for Magistral when fully loaded). */
  readonly blocksResident: number
  /** Where the model was loaded from (file or fragment directory). */
  readonly source: string
  /** `fast` (WebAssembly SIMD) or `reference` (scalar kernels, --safe-mode). */
  readonly kernels: 'fast' | 'reference'
  /** Whether the fast kernels run Q4_K and Q6_K on relaxed SIMD (kernels/wasm/relaxed.ts). */
  readonly relaxedSimd?: boolean
  /** Unix seconds when loading finished (the `created` of /v1/models). */
  readonly created: number
  /** sha256 of the tensor table, hex (src/frames/fingerprint.ts), when known. */
  readonly fingerprint?: string
}

export type LoadProgress = (doneBytes: number, totalBytes: number) => void

export interface Backend {
  /** Loads weights and tokenizer; rejects with an LlmfragError when the model cannot be used. */
  load(onProgress?: LoadProgress): Promise<ModelInfo>
  /** Prompt token ids (chat template applied for `chat`); throws LlmfragError BAD_INPUT on bad text. */
  prepare(prompt: PromptInput): number[]
  generate(request: GenerateRequest): Promise<GenerateResult>
  /**
   * A periodic self-check (every monitoring.health_check_interval seconds): undefined when all is
   * well, else what is wrong (e.g. the model's files changed on disk since they were loaded).
   */
  check?(): Promise<string | undefined>
  /** Frees the model (workers, memory). */
  close(): Promise<void>
}
