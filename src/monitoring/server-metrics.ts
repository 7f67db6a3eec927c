/**
 * The server's metrics: Prometheus families for /metrics and the named values that alert
 * conditions and /health read (`error_rate`, `memory_usage`, ...). Rates come from a sliding window
 * so an alert clears once a burst is over.
 */
import {totalmem} from 'node:os'

import {ALERT_METRICS as CONFIG_ALERT_METRICS, type AlertMetric} from '../config/alerts.js'
import {MetricsRegistry, type Counter, type Gauge, type Histogram} from './metrics.js'
import {SlidingWindow} from './window.js'

/**
 * The values alert conditions may name (the config loader's list, `src/config/alerts.ts`) plus a
 * few more for /health. Rates and latencies are over the sliding window (`windowSeconds`).
 */
export type MetricName = AlertMetric | 'client_error_rate' | 'latency_p99_ms' | 'requests' | 'memory_bytes' | 'heap_used_bytes'
export type MetricValues = Record<MetricName, number>
export const ALERT_METRIC_NAMES = Object.keys(CONFIG_ALERT_METRICS) as AlertMetric[]

export interface ServerMetricsOptions {
  /** Length of the window for rates, seconds (default 300). */
  readonly windowSeconds?: number
  /** Queue depth now, summed over models (read at scrape and evaluation time). */
  readonly queueDepth: () => number
  /** Transformer blocks resident, summed over models. */
  readonly modelsLoaded: () => number
  /** Total system memory in bytes (default os.totalmem()), for memory_usage. */
  readonly totalMemory?: number
}

const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]

export class ServerMetrics {
  readonly registry = new MetricsRegistry()
  readonly startedAt = Date.now()
  readonly window: SlidingWindow
  readonly totalMemory: number

  readonly requests: Counter
  readonly errors: Counter
  readonly promptTokens: Counter
  readonly generatedTokens: Counter
  readonly cachedPromptTokens: Counter
  readonly archMismatches: Counter
  readonly requestSeconds: Histogram
  readonly msPerToken: Gauge
  readonly queueDepth: Gauge
  readonly blocksResident: Gauge
  readonly alertState: Gauge
  readonly errorRate: Gauge

  constructor(private readonly options: ServerMetricsOptions) {
    this.window = new SlidingWindow((options.windowSeconds ?? 300) * 1000)
    this.totalMemory = options.totalMemory ?? totalmem()
    const r = this.registry
    this.requests = r.counter('llmfrag_requests_total', 'API requests answered, by endpoint and HTTP status.')
    this.errors = r.counter('llmfrag_errors_total', 'API requests that failed, by endpoint and kind (client: 4xx, server: 5xx or a failed generation).')
    this.promptTokens = r.counter('llmfrag_prompt_tokens_total', 'Prompt tokens processed, by model.')
    this.generatedTokens = r.counter('llmfrag_generated_tokens_total', 'Tokens generated, by model.')
    this.cachedPromptTokens = r.counter('llmfrag_prompt_tokens_cached_total', 'Prompt tokens taken from a KV cache instead of evaluated, by model.')
    this.archMismatches = r.counter('llmfrag_architecture_mismatches_total', 'Models or tensor frames refused because they were made for another architecture.')
    // Exported as 0 from the start, so a rate() or an alert on it has a series before the first event.
    for (const where of ['load', 'frame']) this.archMismatches.inc({where}, 0)
    this.requestSeconds = r.histogram('llmfrag_request_duration_seconds', 'Wall time of API requests, by endpoint.', LATENCY_BUCKETS)
    this.msPerToken = r.gauge('llmfrag_ms_per_token', 'Generation time per generated token over the last window, ms (NaN before any generation).')
      .collect(() => [[{}, this.window.stats(Date.now()).msPerToken]])
    this.errorRate = r.gauge('llmfrag_error_rate', 'Server-side failures / requests over the last window.')
      .collect(() => [[{}, this.window.stats(Date.now()).errorRate]])
    this.queueDepth = r.gauge('llmfrag_queue_depth', 'Requests waiting for a generation slot.')
      .collect(() => [[{}, options.queueDepth()]])
    r.gauge('llmfrag_memory_bytes', 'Process memory, bytes, by kind (rss, heap_used, external, array_buffers).').collect(() => {
      const m = process.memoryUsage()
      return [[{kind: 'rss'}, m.rss], [{kind: 'heap_used'}, m.heapUsed], [{kind: 'external'}, m.external], [{kind: 'array_buffers'}, m.arrayBuffers]]
    })
    r.gauge('llmfrag_memory_usage_ratio', 'Resident set size / total system memory.').collect(() => [[{}, process.memoryUsage.rss() / this.totalMemory]])
    this.blocksResident = r.gauge('llmfrag_model_blocks_resident', 'Transformer blocks resident in memory, by model.')
    this.alertState = r.gauge('llmfrag_alert_firing', '1 while an alert rule is firing, else 0, by alert and severity.')
    r.gauge('llmfrag_uptime_seconds', 'Seconds since the server started.').collect(() => [[{}, (Date.now() - this.startedAt) / 1000]])
  }

  /** One answered request. `serverError`: our failure; a 4xx counts as a client error. */
  recordRequest(endpoint: string, status: number, ms: number, serverError = status >= 500): void {
    const clientError = !serverError && status >= 400
    this.requests.inc({endpoint, status: String(status)})
    if (serverError) this.errors.inc({endpoint, kind: 'server'})
    else if (clientError) this.errors.inc({endpoint, kind: 'client'})
    this.requestSeconds.observe(ms / 1000, {endpoint})
    this.window.addRequest({at: Date.now(), serverError, clientError, ms})
  }

  recordGeneration(model: string, promptTokens: number, generatedTokens: number, generateMs: number, cachedPromptTokens = 0): void {
    this.promptTokens.inc({model}, promptTokens)
    this.cachedPromptTokens.inc({model}, cachedPromptTokens)
    this.generatedTokens.inc({model}, generatedTokens)
    if (generatedTokens > 0) this.window.addGeneration({at: Date.now(), tokens: generatedTokens, ms: generateMs})
  }

  /** The values alert conditions and /health read. */
  values(now = Date.now()): MetricValues {
    const w = this.window.stats(now)
    const mem = process.memoryUsage()
    return {
      error_rate: w.errorRate,
      client_error_rate: w.clientErrorRate,
      latency_ms: w.latencyMs,
      latency_p99_ms: w.latencyP99Ms,
      ms_per_token: w.msPerToken,
      tokens_per_second: Number.isNaN(w.msPerToken) ? NaN : 1000 / w.msPerToken,
      requests: w.requests,
      queue_depth: this.options.queueDepth(),
      memory_usage: mem.rss / this.totalMemory,
      memory_bytes: mem.rss,
      heap_used_bytes: mem.heapUsed,
      architecture_mismatches: this.archMismatches.total(),
      models_loaded: this.options.modelsLoaded(),
      uptime_seconds: (now - this.startedAt) / 1000,
    }
  }
}
