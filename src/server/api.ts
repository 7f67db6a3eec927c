/**
 * The OpenAI-compatible API over node:http: `GET /v1/models`, `POST /v1/completions`,
 * `POST /v1/chat/completions` (JSON or SSE with `stream: true`), and `GET /health` as on the
 * monitoring port. Each request: read and validate the body, pick the model, tokenize and check
 * the context, wait for the model's slot in its bounded queue, generate, answer. Every failure
 * becomes an OpenAI-shaped JSON error; nothing a request does can throw out of the handler.
 */
import type {IncomingMessage, RequestListener, ServerResponse} from 'node:http'

import {LlmfragError} from '../errors.js'
import type {Logger} from '../log/logger.js'
import type {HealthResponse} from '../monitoring/health.js'
import type {ServerMetrics} from '../monitoring/server-metrics.js'
import {apiErrorFromLlmfrag, invalid, type ApiError} from './api-error.js'
import type {Backend, FinishReason, ModelInfo} from './backend.js'
import {readBody, sendError, sendEvent, sendJson, startEventStream} from './http-util.js'
import {parseCompletionRequest, type CompletionRequest, type Endpoint} from './openai-request.js'
import {chunkBody, completionBody, responseIds, usage, usageChunk} from './openai-response.js'
import type {GenerationQueue} from './queue.js'

export interface ServedModel {
  readonly info: ModelInfo
  readonly backend: Backend
  readonly queue: GenerationQueue
}

export interface ApiContext {
  /** Models by id (empty while loading). */
  readonly models: () => ReadonlyMap<string, ServedModel>
  /** The model of requests that name none. */
  readonly defaultModel: () => string | undefined
  readonly metrics: ServerMetrics
  readonly logger: Logger
  readonly health: () => HealthResponse
  /** Largest request body accepted, bytes. */
  readonly bodyLimit: number
  /** How long a request may wait for its model's turn, ms (undefined: as long as the client waits). */
  readonly queueTimeoutMs?: number
}

/** HTTP status recorded for a request whose client left before the answer (nginx's convention). */
const CLIENT_CLOSED = 499

const routes: Record<string, {method: string; endpoint?: Endpoint}> = {
  '/v1/models': {method: 'GET'},
  '/v1/completions': {method: 'POST', endpoint: 'completions'},
  '/v1/chat/completions': {method: 'POST', endpoint: 'chat.completions'},
  '/health': {method: 'GET'},
}

export function createApiHandler(ctx: ApiContext): RequestListener {
  return (req, res) => {
    handle(ctx, req, res).catch((err: unknown) => {
      // A bug in a handler: answer 500 if still possible, log it, keep serving.
      ctx.logger.error('request failed', {error: err, path: req.url})
      sendError(res, {status: 500, type: 'server_error', code: 'internal', message: 'internal error', param: null})
    })
  }
}

async function handle(ctx: ApiContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '') || '/'
  const route = routes[path]
  if (!route) {
    sendError(res, {status: 404, type: 'not_found_error', code: 'not_found', message: `no route ${req.method} ${path}`, param: null})
    return
  }
  if (req.method !== route.method) {
    sendError(res, {status: 405, type: 'invalid_request_error', code: 'method_not_allowed', message: `${path} takes ${route.method}, got ${req.method}`, param: null}, {Allow: route.method})
    return
  }
  if (path === '/health') {
    const h = ctx.health()
    sendJson(res, h.httpStatus, h.body)
    return
  }
  if (path === '/v1/models') {
    const data = [...ctx.models().values()].map((m) => ({
      id: m.info.id, object: 'model', created: m.info.created, owned_by: 'llmfrag',
      architecture: m.info.architecture, context_length: m.info.nCtx,
    }))
    sendJson(res, 200, {object: 'list', data})
    return
  }
  await handleCompletion(ctx, route.endpoint as Endpoint, req, res)
}

async function handleCompletion(ctx: ApiContext, endpoint: Endpoint, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = performance.now()
  const label = endpoint === 'completions' ? '/v1/completions' : '/v1/chat/completions'
  const record = (status: number, serverError = status >= 500): void => {
    ctx.metrics.recordRequest(label, status, performance.now() - started, serverError)
  }
  const refuse = (e: ApiError, headers: Record<string, string> = {}): void => {
    record(e.status)
    ctx.logger.info('request refused', {endpoint: label, status: e.status, code: e.code, message: e.message})
    sendError(res, e, headers)
  }

  const body = await readBody(req, ctx.bodyLimit)
  if (!body.ok) return refuse(body.error)
  let json: unknown
  try {
    json = JSON.parse(body.value)
  } catch (err) {
    return refuse(invalid(`the request body is not valid JSON: ${(err as Error).message}`, null, 'invalid_json'))
  }
  const parsed = parseCompletionRequest(json, endpoint)
  if (!parsed.ok) return refuse(parsed.error)
  const request = parsed.value

  const models = ctx.models()
  if (models.size === 0) {
    return refuse({status: 503, type: 'service_unavailable', code: 'model_loading', message: 'the model is still loading', param: null}, {'Retry-After': '5'})
  }
  const modelId = request.model ?? ctx.defaultModel()
  const model = modelId === undefined ? undefined : models.get(modelId)
  if (!model) {
    return refuse({
      status: 404, type: 'invalid_request_error', code: 'model_not_found', param: 'model',
      message: `The model ${JSON.stringify(request.model)} does not exist; this server has ${[...models.keys()].map((k) => JSON.stringify(k)).join(', ')}`,
    })
  }

  let tokens: number[]
  try {
    tokens = model.backend.prepare(request.prompt)
  } catch (err) {
    if (err instanceof LlmfragError) return refuse(apiErrorFromLlmfrag(err))
    throw err
  }
  const nCtx = model.info.nCtx
  const room = nCtx - tokens.length
  if (room <= 0 || (request.maxTokens !== undefined && request.maxTokens > room)) {
    const asked = request.maxTokens === undefined ? '' : ` and ${request.maxTokens} to generate`
    return refuse(invalid(
      `This model's maximum context length is ${nCtx} tokens. However, you requested ${tokens.length + (request.maxTokens ?? 0)} tokens (${tokens.length} in the prompt${asked}). Shorten the prompt or lower max_tokens.`,
      endpoint === 'completions' ? 'prompt' : 'messages', 'context_length_exceeded'))
  }

  // The client going away aborts the wait in the queue or the generation at its next token.
  const abort = new AbortController()
  res.on('close', () => {
    if (!res.writableFinished) abort.abort()
  })
  if (req.socket.destroyed) abort.abort() // gone while the prompt was read and tokenized

  // A request that waits longer than the queue timeout is abandoned (network.timeout).
  const waitLimit = ctx.queueTimeoutMs === undefined ? abort.signal : AbortSignal.any([abort.signal, AbortSignal.timeout(ctx.queueTimeoutMs)])
  const slot = await model.queue.acquire(waitLimit)
  if (!slot.ok) {
    if (abort.signal.aborted) {
      record(CLIENT_CLOSED, false)
      return
    }
    if (slot.reason === 'aborted') {
      return refuse({
        status: 503, type: 'service_unavailable', code: 'queue_timeout', param: null,
        message: `waited ${(ctx.queueTimeoutMs ?? 0) / 1000} s for model ${model.info.id} without getting a turn; retry later`,
      }, {'Retry-After': '5'})
    }
    return refuse({
      status: 503, type: 'service_unavailable', code: 'queue_full', param: null,
      message: `the request queue of model ${model.info.id} is full (${model.queue.capacity} waiting); retry later`,
    }, {'Retry-After': '1'})
  }
  try {
    await generate(ctx, model, request, tokens, room, abort.signal, res, record)
  } finally {
    slot.release()
  }
}

async function generate(
  ctx: ApiContext, model: ServedModel, request: CompletionRequest, tokens: number[], room: number,
  signal: AbortSignal, res: ServerResponse, record: (status: number, serverError?: boolean) => void,
): Promise<void> {
  const {endpoint} = request
  const ids = responseIds(endpoint, model.info.id, model.info.fingerprint)
  let text = ''
  let reasoning = ''
  if (request.stream) {
    startEventStream(res)
    if (endpoint === 'chat.completions') sendEvent(res, chunkBody(endpoint, ids, {role: true, text: ''}))
  }
  let finishReason: FinishReason
  let completionTokens: number
  try {
    const result = await model.backend.generate({
      tokens, input: request.prompt, chat: request.prompt.kind === 'chat', signal,
      sampling: {...request.sampling, maxTokens: request.maxTokens ?? room},
      onText: (e) => {
        if (e.channel === 'thinking' && endpoint === 'chat.completions') reasoning += e.text
        else text += e.text
        if (!request.stream) return
        sendEvent(res, chunkBody(endpoint, ids, e.channel === 'thinking' && endpoint === 'chat.completions' ? {reasoning: e.text} : {text: e.text}))
      },
    })
    finishReason = result.finishReason
    completionTokens = result.completionTokens
    ctx.metrics.recordGeneration(model.info.id, tokens.length, result.completionTokens, result.generateMs, result.cachedPromptTokens ?? 0)
  } catch (err) {
    const e = err instanceof LlmfragError
      ? apiErrorFromLlmfrag(err)
      : {status: 500, type: 'server_error' as const, code: 'generation_failed', message: 'generation failed', param: null}
    ctx.logger.error('generation failed', {model: model.info.id, error: err})
    // A failed generation is ours even when the core classed it as bad input mid-way.
    record(e.status, true)
    if (res.headersSent) {
      sendEvent(res, {error: {message: e.message, type: e.type, param: e.param, code: e.code}})
      res.end()
    } else {
      sendError(res, e)
    }
    return
  }
  if (signal.aborted && finishReason === 'abort') {
    record(CLIENT_CLOSED, false)
    ctx.logger.info('client disconnected', {model: model.info.id, generated: completionTokens})
    return
  }
  const u = usage(tokens.length, completionTokens)
  if (request.stream) {
    sendEvent(res, chunkBody(endpoint, ids, {finish: finishReason, ...(endpoint === 'chat.completions' ? {} : {text: ''})}))
    if (request.includeUsage) sendEvent(res, usageChunk(endpoint, ids, u))
    sendEvent(res, '[DONE]')
    res.end()
  } else {
    sendJson(res, 200, completionBody(endpoint, ids, {text, reasoning, finishReason, usage: u}))
  }
  record(200)
  ctx.logger.debug('completion', {model: model.info.id, endpoint, prompt_tokens: tokens.length, completion_tokens: completionTokens, finish: finishReason})
}
