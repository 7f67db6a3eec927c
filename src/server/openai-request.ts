/**
 * Validation of `POST /v1/completions` and `POST /v1/chat/completions` bodies
 * (https://platform.openai.com/docs/api-reference) into one typed request. Every refusal names the
 * field (`param`) and says what was expected and what came. Fields this server cannot honour
 * (n > 1, logprobs, tools, non-zero presence/frequency penalties) are refused rather than ignored,
 * so a client never gets silently different behaviour. Unknown fields are ignored, as OpenAI does.
 */
import {invalid, type ApiError, type Result} from './api-error.js'
import type {ChatMessage, PromptInput, SamplingParams} from './backend.js'

export type Endpoint = 'completions' | 'chat.completions'

export interface CompletionRequest {
  readonly endpoint: Endpoint
  /** Undefined: the server's default model. */
  readonly model: string | undefined
  readonly prompt: PromptInput
  readonly stream: boolean
  /** `stream_options.include_usage`: send a last chunk with token counts. */
  readonly includeUsage: boolean
  /** `max_tokens` (or `max_completion_tokens`); undefined: until the end of sequence or context. */
  readonly maxTokens: number | undefined
  readonly sampling: Omit<SamplingParams, 'maxTokens'>
}

const MAX_STOP_STRINGS = 16

type JsonObject = Record<string, unknown>

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function describe(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'string') return `a string`
  return `${typeof v} ${JSON.stringify(v)}`.slice(0, 60)
}

/** Reads optional fields of one body; the first refusal is kept and later reads are skipped. */
class Fields {
  error: ApiError | undefined

  constructor(private readonly body: JsonObject) {}

  fail(e: ApiError): undefined {
    this.error ??= e
    return undefined
  }

  number(name: string, min: number, max: number, integer = false): number | undefined {
    const v = this.body[name]
    if (v === undefined || v === null || this.error) return undefined
    if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
      return this.fail(invalid(`${name} must be ${integer ? 'an integer' : 'a number'}, got ${describe(v)}`, name, 'invalid_type'))
    }
    if (v < min || v > max) {
      return this.fail(invalid(`${name} must be between ${min} and ${max}, got ${v}`, name))
    }
    return v
  }

  boolean(name: string): boolean | undefined {
    const v = this.body[name]
    if (v === undefined || v === null || this.error) return undefined
    if (typeof v !== 'boolean') return this.fail(invalid(`${name} must be a boolean, got ${describe(v)}`, name, 'invalid_type'))
    return v
  }

  string(name: string): string | undefined {
    const v = this.body[name]
    if (v === undefined || v === null || this.error) return undefined
    if (typeof v !== 'string') return this.fail(invalid(`${name} must be a string, got ${describe(v)}`, name, 'invalid_type'))
    return v
  }

  stop(): string[] {
    const v = this.body.stop
    if (v === undefined || v === null || this.error) return []
    const list = typeof v === 'string' ? [v] : v
    if (!Array.isArray(list) || !list.every((s) => typeof s === 'string' && s.length > 0)) {
      this.fail(invalid(`stop must be a non-empty string or an array of them, got ${describe(v)}`, 'stop', 'invalid_type'))
      return []
    }
    if (list.length > MAX_STOP_STRINGS) {
      this.fail(invalid(`stop takes at most ${MAX_STOP_STRINGS} strings, got ${list.length}`, 'stop'))
      return []
    }
    return list as string[]
  }

  /** A field we cannot honour: refused unless absent or equal to its neutral value. */
  unsupported(name: string, neutral: unknown[]): void {
    const v = this.body[name]
    if (v === undefined || v === null || this.error || neutral.includes(v)) return
    this.fail(invalid(`${name} ${JSON.stringify(v)} is not supported by this server`, name, 'unsupported_parameter'))
  }
}

function parseMessages(v: unknown): Result<ChatMessage[]> {
  if (v === undefined || v === null) return {ok: false, error: invalid('messages is required', 'messages', 'missing_required_parameter')}
  if (!Array.isArray(v) || v.length === 0) {
    return {ok: false, error: invalid(`messages must be a non-empty array, got ${describe(v)}`, 'messages', 'invalid_type')}
  }
  const out: ChatMessage[] = []
  for (let i = 0; i < v.length; i++) {
    const m: unknown = v[i]
    const param = `messages[${i}]`
    if (!isObject(m)) return {ok: false, error: invalid(`${param} must be an object, got ${describe(m)}`, param, 'invalid_type')}
    // OpenAI's newer `developer` role is the system prompt under another name.
    const role = m.role === 'developer' ? 'system' : m.role
    if (role !== 'system' && role !== 'user' && role !== 'assistant') {
      return {ok: false, error: invalid(`${param}.role must be system, user or assistant, got ${describe(m.role)}`, `${param}.role`)}
    }
    const content = messageText(m.content)
    if (content === undefined) {
      return {ok: false, error: invalid(`${param}.content must be a string or an array of {type: "text", text} parts, got ${describe(m.content)}`, `${param}.content`, 'invalid_type')}
    }
    out.push({role, content})
  }
  return {ok: true, value: out}
}

/** A string, or an array of text parts joined (images and audio are refused). */
function messageText(c: unknown): string | undefined {
  if (typeof c === 'string') return c
  if (!Array.isArray(c)) return undefined
  let text = ''
  for (const part of c) {
    if (!isObject(part) || part.type !== 'text' || typeof part.text !== 'string') return undefined
    text += part.text
  }
  return text
}

function parsePrompt(v: unknown): Result<PromptInput> {
  if (v === undefined || v === null) return {ok: false, error: invalid('prompt is required', 'prompt', 'missing_required_parameter')}
  // OpenAI accepts a list of prompts (one choice each); one prompt in a list is the same request.
  const text = Array.isArray(v) && v.length === 1 ? v[0] : v
  if (typeof text !== 'string') {
    return {ok: false, error: invalid(`prompt must be a string (or an array of one string), got ${describe(v)}`, 'prompt', 'invalid_type')}
  }
  return {ok: true, value: {kind: 'completion', text}}
}

/** Validates a parsed JSON body for `endpoint`. */
export function parseCompletionRequest(body: unknown, endpoint: Endpoint): Result<CompletionRequest> {
  if (!isObject(body)) return {ok: false, error: invalid(`the request body must be a JSON object, got ${describe(body)}`, null, 'invalid_type')}
  const prompt = endpoint === 'chat.completions' ? parseMessages(body.messages) : parsePrompt(body.prompt)
  if (!prompt.ok) return prompt
  const promptInput: PromptInput = endpoint === 'chat.completions'
    ? {kind: 'chat', messages: prompt.value as ChatMessage[]}
    : prompt.value as PromptInput

  const f = new Fields(body)
  const model = f.string('model')
  const stream = f.boolean('stream') ?? false
  const maxName = body.max_completion_tokens !== undefined && body.max_completion_tokens !== null ? 'max_completion_tokens' : 'max_tokens'
  const maxTokens = f.number(maxName, 1, Number.MAX_SAFE_INTEGER, true)
  const sampling = {
    temperature: f.number('temperature', 0, 2),
    topP: f.number('top_p', 0, 1),
    topK: f.number('top_k', 0, 1_000_000, true),
    minP: f.number('min_p', 0, 1),
    repeatPenalty: f.number('repeat_penalty', 0, 10),
    repeatLastN: f.number('repeat_last_n', 0, 1_000_000, true),
    seed: f.number('seed', 0, 2 ** 32 - 1, true),
    stop: f.stop(),
  }
  f.number('n', 1, 1, true)
  f.unsupported('logprobs', [false])
  f.unsupported('echo', [false])
  f.unsupported('best_of', [1])
  f.unsupported('suffix', [''])
  f.unsupported('presence_penalty', [0])
  f.unsupported('frequency_penalty', [0])
  if (Array.isArray(body.tools) && body.tools.length > 0) f.fail(invalid('tools are not supported by this server', 'tools', 'unsupported_parameter'))
  let includeUsage = false
  const so = body.stream_options
  if (so !== undefined && so !== null) {
    if (!isObject(so) || (so.include_usage !== undefined && typeof so.include_usage !== 'boolean')) {
      f.fail(invalid('stream_options must be {include_usage: boolean}', 'stream_options', 'invalid_type'))
    } else {
      includeUsage = so.include_usage === true
    }
  }
  if (f.error) return {ok: false, error: f.error}
  return {ok: true, value: {endpoint, model, prompt: promptInput, stream, includeUsage, maxTokens, sampling}}
}
