/**
 * Response bodies in OpenAI's shapes: `text_completion` and `chat.completion` objects, their
 * streamed chunks (`chat.completion.chunk` carries `delta`s), and `usage`. Magistral's thinking
 * goes to `reasoning_content` beside `content`, as llama.cpp's server and DeepSeek's API do.
 */
import {randomBytes} from 'node:crypto'

import type {FinishReason} from './backend.js'
import type {Endpoint} from './openai-request.js'

export interface Usage {
  readonly prompt_tokens: number
  readonly completion_tokens: number
  readonly total_tokens: number
}

export function usage(prompt: number, completion: number): Usage {
  return {prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion}
}

/** `abort` never reaches a client that is still there except when the server stops: say `length`. */
export function apiFinishReason(r: FinishReason): 'stop' | 'length' {
  return r === 'stop' ? 'stop' : 'length'
}

export interface ResponseIds {
  readonly id: string
  readonly created: number
  readonly model: string
  /** Which weights answered: the first 16 hex digits of the model fingerprint, when known. */
  readonly system_fingerprint?: string
}

export function responseIds(endpoint: Endpoint, model: string, fingerprint?: string): ResponseIds {
  const prefix = endpoint === 'chat.completions' ? 'chatcmpl-' : 'cmpl-'
  return {
    id: prefix + randomBytes(12).toString('hex'), created: Math.floor(Date.now() / 1000), model,
    ...(fingerprint === undefined ? {} : {system_fingerprint: `fp_${fingerprint.slice(0, 16)}`}),
  }
}

export interface Completed {
  readonly text: string
  readonly reasoning: string
  readonly finishReason: FinishReason
  readonly usage: Usage
}

export function completionBody(endpoint: Endpoint, ids: ResponseIds, c: Completed): Record<string, unknown> {
  if (endpoint === 'completions') {
    return {
      ...ids, object: 'text_completion',
      choices: [{index: 0, text: c.text, logprobs: null, finish_reason: apiFinishReason(c.finishReason)}],
      usage: c.usage,
    }
  }
  const message: Record<string, unknown> = {role: 'assistant', content: c.text}
  if (c.reasoning.length > 0) message.reasoning_content = c.reasoning
  return {
    ...ids, object: 'chat.completion',
    choices: [{index: 0, message, logprobs: null, finish_reason: apiFinishReason(c.finishReason)}],
    usage: c.usage,
  }
}

/** A streamed piece of text (`finish` set on the last chunk, whose text is empty). */
export function chunkBody(
  endpoint: Endpoint, ids: ResponseIds,
  piece: {text?: string; reasoning?: string; role?: boolean; finish?: FinishReason},
): Record<string, unknown> {
  const finish = piece.finish === undefined ? null : apiFinishReason(piece.finish)
  if (endpoint === 'completions') {
    return {...ids, object: 'text_completion', choices: [{index: 0, text: piece.text ?? '', logprobs: null, finish_reason: finish}]}
  }
  const delta: Record<string, unknown> = {}
  if (piece.role) delta.role = 'assistant'
  if (piece.text !== undefined) delta.content = piece.text
  if (piece.reasoning !== undefined) delta.reasoning_content = piece.reasoning
  return {...ids, object: 'chat.completion.chunk', choices: [{index: 0, delta, logprobs: null, finish_reason: finish}]}
}

/** The extra last chunk of `stream_options.include_usage`: no choices, only usage. */
export function usageChunk(endpoint: Endpoint, ids: ResponseIds, u: Usage): Record<string, unknown> {
  return {...ids, object: endpoint === 'completions' ? 'text_completion' : 'chat.completion.chunk', choices: [], usage: u}
}
