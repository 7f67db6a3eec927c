/**
 * A chat session without a terminal: the conversation (system prompt, user and assistant turns),
 * the slash commands (`/help /reset /system /save /load /stats /exit`), sending a message and
 * streaming the reply (a reasoning model's `[THINK]…[/THINK]` apart from the answer), and the
 * figures /stats shows. The terminal (src/cli/chat-terminal.ts) only reads lines and renders what
 * arrives through a ChatSink, so everything here is testable with a scripted engine.
 *
 * Each reply is generated from the whole conversation rendered in the model's chat format, earlier
 * replies as the tokens that were generated (src/chat/encode-turns.ts); the engine keeps its KV
 * cache between calls and evaluates only what follows the cached prefix, so a turn costs its new
 * tokens. The assistant's thoughts are kept for /save but not sent back.
 */
import type {CacheContents, Engine, GenerationResult, StopReason} from '../engine/index.js'
import {LlmfragError} from '../errors.js'
import type {FrameModel} from '../frames/frame.js'
import type {SamplingParams} from '../sampling/index.js'
import {fingerprintHex} from '../frames/fingerprint.js'
import {encodeTurns, idsMatchText} from './encode-turns.js'
import {type ChatFormatName, type ChatMessage, requireChatFormat} from './format.js'
import {kvPathOf, readChatFile, readKvFile, type SavedMessage, savedModel, writeChatFile} from './session-file.js'
import {MAGISTRAL_THINK_TAGS, type ThinkChunk, ThinkSplitter} from './think.js'

/** What the session needs of the engine (the real Engine, or a scripted one in tests). */
export type ChatEngine = Pick<Engine, 'tokenizer' | 'ctx' | 'loadMs' | 'cachedTokens' | 'generate' | 'cacheContents' | 'restoreCache'>

export interface ChatSessionOptions {
  readonly engine: ChatEngine
  /** The model a saved KV cache belongs to; without it /save writes the conversation only. */
  readonly frameModel?: FrameModel
  readonly system?: string
  readonly sampling?: Partial<SamplingParams>
  /** Tokens per reply; -1 (default) until an end-of-generation token. */
  readonly maxTokens?: number
}

/** Where a session's output goes: reply text as it streams, and lines of command output. */
export interface ChatSink {
  reply(chunk: ThinkChunk): void
  info(line: string): void
}

/** One line of input as the terminal assembled it; `literal` (a """ block) is never a command. */
export interface ChatInput {
  readonly text: string
  readonly literal?: boolean
}

export type HandleOutcome = 'continue' | 'exit'

export interface TurnStats {
  /** The whole prompt (the conversation so far plus the new message), BOS included. */
  readonly promptTokens: number
  /** Prompt positions evaluated; the rest were reused from the KV cache. */
  readonly evaluatedTokens: number
  readonly promptTokensPerSecond: number
  readonly generatedTokens: number
  readonly generationTokensPerSecond: number
  readonly stopReason: StopReason
  readonly seed: number
}

export interface TurnResult extends TurnStats {
  readonly answer: string
  readonly thinking: string
  /** False when the reply was stopped before any token: the turn is not part of the conversation. */
  readonly kept: boolean
}

export interface ChatStats {
  /** Tokens in the KV cache (the conversation as the model has read it). */
  readonly contextTokens: number
  readonly ctx: number
  /** User and assistant messages in the conversation. */
  readonly messages: number
  readonly loadMs: number
  readonly last?: TurnStats
}

export const HELP_LINES: readonly string[] = [
  '/help              this list',
  '/reset             forget the conversation (the system prompt stays)',
  '/system [TEXT]     show the system prompt, or set it (/system --clear removes it)',
  '/save FILE         save the conversation to FILE and the KV cache to FILE.kv',
  '/load FILE         load a saved conversation (its KV cache too, when it fits this model)',
  '/stats             tokens in context, speed of the last reply, load time',
  '/exit              leave the chat (also /quit, Ctrl-D, or Ctrl-C twice at the prompt)',
  'End a line with \\ to continue on the next one, or put several lines between """ lines.',
  'Ctrl-C stops a reply and keeps the chat.',
]

export class ChatSession {
  readonly format: ChatFormatName
  private system: string | undefined
  private turns: SavedMessage[] = []
  private last: TurnStats | undefined
  /** Whether the vocab has [THINK] and [/THINK]: replies are then decoded with control tokens as text and split. */
  private readonly thinks: boolean

  constructor(private readonly options: ChatSessionOptions) {
    const tok = options.engine.tokenizer
    this.format = requireChatFormat(tok)
    this.system = nonEmpty(options.system)
    this.thinks = tok.tokenId(MAGISTRAL_THINK_TAGS.open) !== undefined && tok.tokenId(MAGISTRAL_THINK_TAGS.close) !== undefined
  }

  /** The conversation as the chat format renders it (system prompt first). */
  get messages(): readonly ChatMessage[] {
    const turns = this.turns.map((m) => ({role: m.role, content: m.content}))
    return this.system === undefined ? turns : [{role: 'system', content: this.system}, ...turns]
  }

  get systemPrompt(): string | undefined {
    return this.system
  }

  stats(): ChatStats {
    const e = this.options.engine
    return {contextTokens: e.cachedTokens.length, ctx: e.ctx, messages: this.turns.length, loadMs: e.loadMs, ...(this.last ? {last: this.last} : {})}
  }

  /** A message or a command; an empty message does nothing. */
  async handle(input: ChatInput, sink: ChatSink, signal?: AbortSignal): Promise<HandleOutcome> {
    if (!input.literal && input.text.trimStart().startsWith('/')) return this.command(input.text.trim(), sink, signal)
    if (input.text.trim() !== '') await this.send(input.text, sink, signal)
    return 'continue'
  }

  /**
   * Sends a user message and streams the reply into `sink`. A reply stopped by `signal` is kept
   * as far as it got (dropped, with its message, if it had no token yet); a reply that runs out of
   * context throws CONTEXT_FULL and the turn is not kept.
   */
  async send(content: string, sink: ChatSink, signal?: AbortSignal): Promise<TurnResult> {
    const e = this.options.engine
    const prompt = this.promptIds(this.system, this.turns, {role: 'user', content})
    const splitter = new ThinkSplitter()
    const text = {thinking: '', answer: ''}
    const out = (chunks: ThinkChunk[]): void => {
      for (const c of chunks) {
        text[c.kind] += c.text
        sink.reply(c)
      }
    }
    let r: GenerationResult
    try {
      r = await e.generate(prompt, {
        maxTokens: this.options.maxTokens ?? -1, sampling: this.options.sampling, signal, special: this.thinks,
      }, (piece) => out(splitter.push(piece)))
    } finally {
      out(splitter.flush())
    }
    const kept = !(r.stopReason === 'abort' && r.tokens.length === 0)
    if (kept) {
      const thinking = text.thinking.trim()
      // The ids stand for the reply only when they are all answer (thoughts are not sent back).
      const reply = thinking === '' ? {tokens: [...r.tokens]} : {thinking}
      this.turns.push({role: 'user', content}, {role: 'assistant', content: text.answer, ...reply})
    }
    const t = r.timings
    this.last = {
      promptTokens: r.promptTokens, evaluatedTokens: t.promptTokens, promptTokensPerSecond: t.promptTokensPerSecond,
      generatedTokens: t.generatedTokens, generationTokensPerSecond: t.evalTokensPerSecond, stopReason: r.stopReason, seed: r.seed,
    }
    return {...this.last, answer: text.answer, thinking: text.thinking, kept}
  }

  /** Forgets the conversation; the system prompt stays (the engine reuses its cached prefix). */
  reset(): void {
    this.turns = []
    this.last = undefined
  }

  setSystem(text: string | undefined): void {
    this.system = nonEmpty(text)
  }

  async save(path: string): Promise<string[]> {
    const e = this.options.engine
    const model = this.options.frameModel
    const messages: SavedMessage[] = this.system === undefined ? [...this.turns] : [{role: 'system', content: this.system}, ...this.turns]
    const r = await writeChatFile(path, {
      format: 'llmfrag-chat', version: 1, created: new Date().toISOString(),
      model: savedModel(model?.architecture ?? '', model?.fingerprint ?? new Uint8Array(32), this.format),
      messages,
    }, model ? {contents: e.cacheContents(), model} : undefined)
    const lines = [`saved ${messages.length} messages to ${path} (${r.bytes} bytes)`]
    if (r.kvTokens > 0) lines.push(`saved the KV cache (${r.kvTokens} tokens, ${formatBytes(r.kvBytes)}) to ${path}.kv`)
    else if (!model) lines.push('the KV cache was not saved (no model identity to check it against)')
    return lines
  }

  /**
   * Loads a saved conversation in place of this one. Its KV cache is restored when it was saved by
   * this model and fits the context; otherwise the conversation is evaluated again now, so the next
   * reply starts as fast as it would have in the saved session.
   */
  async load(path: string, signal?: AbortSignal): Promise<string[]> {
    const e = this.options.engine
    const chat = await readChatFile(path)
    const systems = chat.messages.filter((m) => m.role === 'system').map((m) => m.content)
    const system = nonEmpty(systems.join('\n\n'))
    // Token ids are kept only for the model that generated them, and only if they still spell the text.
    const sameModel = this.options.frameModel !== undefined && chat.model.fingerprint === fingerprintHex(this.options.frameModel.fingerprint)
    const turns = chat.messages.filter((m) => m.role !== 'system').map(({tokens, ...m}) =>
      (tokens !== undefined && sameModel && idsMatchText(e.tokenizer, tokens, m.content) ? {...m, tokens} : m))
    const ids = turns.length === 0 ? [] : this.promptIds(system, turns)
    if (ids.length > e.ctx) {
      throw new LlmfragError('CONTEXT_FULL', `${path}: the conversation is ${ids.length} tokens, more than the context of ${e.ctx}`, {
        hints: ['raise -c/--ctx-size'], details: {ctx: e.ctx, tokens: ids.length},
      })
    }
    const lines = [`loaded ${chat.messages.length} messages from ${path}`]
    const restored = await this.restoreKv(path, chat, lines)
    if (!restored && ids.length > 0) {
      const r = await e.generate(ids, {maxTokens: 0, signal})
      lines.push(`evaluated the conversation: ${r.timings.promptTokens} tokens in ${r.timings.promptMs.toFixed(0)} ms`)
    }
    this.system = system
    this.turns = turns
    this.last = undefined
    return lines
  }

  /** The prompt for a system prompt and `turns` (plus a new message). */
  private promptIds(system: string | undefined, turns: readonly SavedMessage[], next?: ChatMessage): number[] {
    const msgs: ChatMessage[] = turns.map((m) => ({role: m.role, content: m.content}))
    if (system !== undefined) msgs.unshift({role: 'system', content: system})
    if (next) msgs.push(next)
    const replyIds = turns.filter((m) => m.role === 'assistant').map((m) => m.tokens)
    return encodeTurns(this.options.engine.tokenizer, this.format, msgs, replyIds)
  }

  /** /name args; unknown names are BAD_INPUT (the chat goes on). */
  private async command(input: string, sink: ChatSink, signal?: AbortSignal): Promise<HandleOutcome> {
    const m = /^\/(\S*)\s*([\s\S]*)$/.exec(input)
    const name = m?.[1] ?? ''
    const arg = (m?.[2] ?? '').trim()
    const needPath = (): string => {
      if (arg === '') throw new LlmfragError('BAD_INPUT', `/${name} needs a file name`, {hints: [`/${name} chat.json`]})
      return arg
    }
    switch (name) {
      case 'help':
      case '?':
        for (const l of HELP_LINES) sink.info(l)
        return 'continue'
      case 'reset':
      case 'clear':
        this.reset()
        sink.info(this.system === undefined ? 'conversation cleared' : 'conversation cleared (the system prompt stays)')
        return 'continue'
      case 'system':
        if (arg === '') sink.info(this.system === undefined ? '(no system prompt)' : `system prompt: ${this.system}`)
        else if (arg === '--clear') {
          this.setSystem(undefined)
          sink.info('system prompt removed')
        } else {
          this.setSystem(arg)
          sink.info('system prompt set (it applies from the next reply)')
        }
        return 'continue'
      case 'save':
        for (const l of await this.save(needPath())) sink.info(l)
        return 'continue'
      case 'load':
        for (const l of await this.load(needPath(), signal)) sink.info(l)
        return 'continue'
      case 'stats':
        for (const l of formatStats(this.stats())) sink.info(l)
        return 'continue'
      case 'exit':
      case 'quit':
      case 'bye':
        return 'exit'
      default:
        throw new LlmfragError('BAD_INPUT', `unknown command /${name}`, {
          hints: ['/help lists the commands', 'to send a message that starts with /, put it between """ lines'],
        })
    }
  }

  /** Restores the saved KV cache if there is one for this model; says why not otherwise. */
  private async restoreKv(path: string, chat: Awaited<ReturnType<typeof readChatFile>>, lines: string[]): Promise<boolean> {
    const kvPath = kvPathOf(path, chat)
    const model = this.options.frameModel
    if (kvPath === undefined || model === undefined) return false
    let contents: CacheContents
    try {
      contents = await readKvFile(kvPath, model)
      this.options.engine.restoreCache(contents)
    } catch (err) {
      if (!(err instanceof LlmfragError)) throw err
      lines.push(`the KV cache was not restored: ${err.message}`)
      return false
    }
    lines.push(`restored the KV cache (${contents.tokens.length} tokens) from ${kvPath}`)
    return true
  }
}

const STOP_WORDS: Record<StopReason, string> = {eog: 'ended by the model', stop: 'stop string', length: 'token limit', abort: 'stopped by Ctrl-C'}

/** The /stats lines. */
export function formatStats(s: ChatStats): string[] {
  const pct = s.ctx > 0 ? ((100 * s.contextTokens) / s.ctx).toFixed(1) : '0.0'
  const lines = [
    `context: ${s.contextTokens} / ${s.ctx} tokens (${pct}%), ${s.messages} messages`,
  ]
  const l = s.last
  if (l === undefined) lines.push('last reply: none yet')
  else {
    lines.push(`last reply: prompt ${l.evaluatedTokens} of ${l.promptTokens} tokens evaluated at ${l.promptTokensPerSecond.toFixed(2)} tokens/s`)
    lines.push(`            generated ${l.generatedTokens} tokens at ${l.generationTokensPerSecond.toFixed(2)} tokens/s (${STOP_WORDS[l.stopReason]}, seed ${l.seed})`)
  }
  lines.push(`load time: ${s.loadMs.toFixed(0)} ms`)
  return lines
}

function formatBytes(n: number): string {
  return n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s.trim() === '' ? undefined : s
}
