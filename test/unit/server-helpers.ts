/**
 * Shared by the server tests: a fake backend (deterministic text, adjustable speed, failures on
 * request), a Prometheus text parser, and small HTTP/SSE clients over node:http.
 */
import {request} from 'node:http'
import {Writable} from 'node:stream'

import {LlmfragError} from '../../src/errors.js'
import {createLogger, type Logger} from '../../src/log/logger.js'
import type {AlertRule} from '../../src/monitoring/alerts.js'
import type {Backend, GenerateRequest, GenerateResult, ModelInfo, PromptInput} from '../../src/server/backend.js'
import {startServer, type ModelSpec, type RunningServer, type ServerOptions} from '../../src/server/server.js'

export interface FakeOptions {
  readonly id?: string
  readonly architecture?: string
  readonly nCtx?: number
  readonly blocks?: number
  /** ms to wait per generated token (0: yield to the event loop only). */
  readonly tokenMs?: number
  /** ms the load takes. */
  readonly loadMs?: number
  /** load() rejects with this (with the fast kernels only, when onlyFastFails). */
  readonly loadError?: LlmfragError
  readonly onlyFastFails?: boolean
  readonly kernels?: 'fast' | 'reference'
}

const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa', 'lambda', 'mu']

/**
 * Tokens are UTF-16 code units (one per character, plus BOS = 1). The text generated is a word
 * sequence drawn from the prompt and the seed, so the same request gives the same text. A prompt
 * containing FAIL makes generate() throw; THINK makes the first two pieces `thinking`.
 */
export class FakeBackend implements Backend {
  generations = 0
  aborted = 0
  closed = false
  /** What check() reports (undefined: all well). */
  problem: string | undefined
  private readonly o: FakeOptions

  constructor(options: FakeOptions = {}) {
    this.o = options
  }

  async load(onProgress?: (done: number, total: number) => void): Promise<ModelInfo> {
    const steps = 4
    for (let i = 1; i <= steps; i++) {
      await sleep((this.o.loadMs ?? 0) / steps)
      onProgress?.(i * 100, steps * 100)
    }
    if (this.o.loadError && !(this.o.onlyFastFails && this.o.kernels === 'reference')) throw this.o.loadError
    return {
      id: this.o.id ?? 'fake', architecture: this.o.architecture ?? 'mistral_7b', nCtx: this.o.nCtx ?? 256,
      blocksResident: this.o.blocks ?? 2, source: '/dev/null', kernels: this.o.kernels ?? 'fast', created: 1700000000,
    }
  }

  prepare(prompt: PromptInput): number[] {
    const text = prompt.kind === 'completion' ? prompt.text : prompt.messages.map((m) => `[${m.role}]${m.content}`).join('') + '[assistant]'
    if (text.includes('\u0000')) throw new LlmfragError('BAD_INPUT', 'the prompt contains a NUL character')
    return [1, ...[...text].map((c) => c.charCodeAt(0))]
  }

  async generate(req: GenerateRequest): Promise<GenerateResult> {
    this.generations++
    const text = String.fromCharCode(...req.tokens.slice(1))
    if (text.includes('FAIL')) throw new LlmfragError('INTERNAL', 'the fake backend was asked to fail')
    let state = (req.sampling.seed ?? 42) ^ req.tokens.reduce((h, t) => (h * 31 + t) >>> 0, 7)
    let out = ''
    let n = 0
    const t0 = performance.now()
    while (n < req.sampling.maxTokens) {
      if (req.signal.aborted) {
        this.aborted++
        return {completionTokens: n, finishReason: 'abort', promptMs: 1, generateMs: performance.now() - t0}
      }
      await sleep(this.o.tokenMs ?? 0)
      state = (Math.imul(state, 1103515245) + 12345) >>> 0
      const piece = (n === 0 ? '' : ' ') + WORDS[state % WORDS.length]
      n++
      const next = out + piece
      const hit = req.sampling.stop.map((s) => next.indexOf(s)).filter((i) => i >= 0).sort((a, b) => a - b)[0]
      if (hit !== undefined) {
        if (hit > out.length) req.onText({text: next.slice(out.length, hit), channel: 'answer'})
        return {completionTokens: n, finishReason: 'stop', promptMs: 1, generateMs: performance.now() - t0}
      }
      out = next
      req.onText({text: piece, channel: req.chat && text.includes('THINK') && n <= 2 ? 'thinking' : 'answer'})
    }
    return {completionTokens: n, finishReason: 'length', promptMs: 1, generateMs: performance.now() - t0}
  }

  async check(): Promise<string | undefined> {
    return this.problem
  }

  async close(): Promise<void> {
    this.closed = true
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => (ms > 0 ? setTimeout(resolve, ms) : setImmediate(resolve)))
}

export interface HttpResult {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly text: string
}

/** One HTTP request on loopback; `body` is sent as is (string) or as JSON. */
export function http(port: number, method: string, path: string, body?: unknown): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
    const req = request({host: '127.0.0.1', port, method, path, agent: false, headers: payload === undefined ? {} : {'Content-Type': 'application/json'}}, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8')}))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(payload)
  })
}

export async function json(port: number, method: string, path: string, body?: unknown): Promise<{status: number; body: Record<string, unknown>}> {
  const r = await http(port, method, path, body)
  return {status: r.status, body: JSON.parse(r.text) as Record<string, unknown>}
}

/** The `data:` payloads of an SSE body, in order (`[DONE]` kept as the string). */
export function sseEvents(text: string): Array<Record<string, unknown> | '[DONE]'> {
  const out: Array<Record<string, unknown> | '[DONE]'> = []
  for (const block of text.split('\n\n')) {
    const line = block.trim()
    if (!line) continue
    if (!line.startsWith('data: ')) throw new Error(`not an SSE data line: ${line}`)
    const data = line.slice(6)
    out.push(data === '[DONE]' ? '[DONE]' : JSON.parse(data) as Record<string, unknown>)
  }
  return out
}

/** Text of a streamed chat completion (the `content` deltas joined). */
export function streamedChatText(events: ReturnType<typeof sseEvents>): string {
  let text = ''
  for (const e of events) {
    if (e === '[DONE]') continue
    const choices = e.choices as Array<{delta?: {content?: string}}>
    for (const c of choices) text += c.delta?.content ?? ''
  }
  return text
}

export interface Sample {
  readonly name: string
  readonly labels: Record<string, string>
  readonly value: number
}

/**
 * Parses Prometheus text exposition 0.0.4 strictly enough to catch format errors: every sample
 * line must be `name{labels} value`, belong to a family declared by `# TYPE` before it, and the
 * value must be a number, NaN or ±Inf.
 */
export function parsePrometheus(text: string): {samples: Sample[]; types: Map<string, string>} {
  const types = new Map<string, string>()
  const samples: Sample[] = []
  if (!text.endsWith('\n')) throw new Error('Prometheus text must end with a newline')
  for (const line of text.split('\n')) {
    if (line === '') continue
    if (line.startsWith('# HELP ')) continue
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line)
    if (type) {
      types.set(type[1], type[2])
      continue
    }
    if (line.startsWith('#')) throw new Error(`bad comment line: ${line}`)
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line)
    if (!m) throw new Error(`bad sample line: ${line}`)
    const labels: Record<string, string> = {}
    if (m[3]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y
      let pos = 0
      while (pos < m[3].length) {
        re.lastIndex = pos
        const l = re.exec(m[3])
        if (!l) throw new Error(`bad labels in: ${line}`)
        labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\')
        pos = re.lastIndex
      }
    }
    const family = m[1].replace(/_(bucket|sum|count)$/, '')
    if (!types.has(m[1]) && !types.has(family)) throw new Error(`sample before its # TYPE: ${line}`)
    const value = m[4] === '+Inf' ? Infinity : m[4] === '-Inf' ? -Infinity : m[4] === 'NaN' ? NaN : Number(m[4])
    if (Number.isNaN(value) && m[4] !== 'NaN') throw new Error(`bad value in: ${line}`)
    samples.push({name: m[1], labels, value})
  }
  return {samples, types}
}

/** Sum of the samples of `name` whose labels include `match`. */
export function sampleSum(samples: readonly Sample[], name: string, match: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0)
}

/** A logger whose JSON lines are kept in memory. */
export function memoryLogger(level: 'debug' | 'info' = 'info'): {logger: Logger; lines: () => Array<Record<string, unknown>>} {
  const text: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text.push(chunk.toString('utf8'))
      cb()
    },
  })
  const logger = createLogger({level, stream})
  return {logger, lines: () => text.join('').split('\n').filter((l) => l).map((l) => JSON.parse(l) as Record<string, unknown>)}
}

export interface FakeServer {
  readonly server: RunningServer
  readonly port: number
  readonly metricsPort: number
  readonly backends: FakeBackend[]
  readonly lines: () => Array<Record<string, unknown>>
}

export function fakeSpec(options: FakeOptions, created: FakeBackend[]): ModelSpec {
  return {
    id: options.id ?? 'fake',
    create: (kernels) => {
      const b = new FakeBackend({...options, kernels})
      created.push(b)
      return b
    },
  }
}

/** Starts a server on loopback with OS-chosen ports over fake backends and waits until ready. */
export async function startFake(
  models: FakeOptions[] = [{}],
  extra: Partial<ServerOptions> & {alertRules?: AlertRule[]} = {},
): Promise<FakeServer> {
  const {logger, lines} = memoryLogger()
  const backends: FakeBackend[] = []
  const server = await startServer({
    models: models.map((m) => fakeSpec(m, backends)),
    host: '127.0.0.1', port: 0, metricsPort: 0, logger, alertRules: [], metricsIntervalSeconds: 60,
    ...extra,
  })
  const port = await server.ready
  return {server, port, metricsPort: server.metricsPort, backends, lines}
}
