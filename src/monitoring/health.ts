/**
 * The `GET /health` document (DESIGN section 8): 503 `{status: "loading"}` until the models are
 * in memory, then 200 with `status, architecture, models_loaded, memory_usage, uptime, error_rate,
 * alerts` and the queue. `models_loaded` counts resident transformer blocks (40 for Magistral).
 * `status` is `degraded` while a critical alert fires, a model's periodic self-check fails, or an
 * emergency fallback is serving.
 */
import type {AlertStatus} from './alerts.js'
import type {MetricValues} from './server-metrics.js'

export type Phase = 'loading' | 'ready' | 'stopping' | 'failed'

export interface ModelHealth {
  readonly id: string
  readonly architecture: string
  readonly blocks_resident: number
  readonly n_ctx: number
  readonly kernels: 'fast' | 'reference'
  readonly source: string
  readonly queue_depth: number
  readonly generating: boolean
  /** The last periodic self-check: null before the first. */
  readonly check: {readonly ok: boolean; readonly detail: string | null; readonly at: string} | null
}

export interface FallbackNote {
  /** What could not be used and why. */
  readonly failed: string
  readonly reason: string
  /** What is served instead. */
  readonly serving: string
}

export interface HealthInput {
  readonly phase: Phase
  readonly values: MetricValues
  readonly models: readonly ModelHealth[]
  readonly alerts: readonly AlertStatus[]
  readonly queueCapacity: number
  readonly fallbacks: readonly FallbackNote[]
  readonly modes: readonly string[]
  /** Bytes loaded so far / in total while loading. */
  readonly progress?: {readonly done: number; readonly total: number}
  /** Why loading failed (phase `failed`). */
  readonly error?: string
}

export interface HealthResponse {
  readonly httpStatus: number
  readonly body: Record<string, unknown>
}

function round(v: number, digits = 6): number | null {
  if (!Number.isFinite(v)) return null
  const f = 10 ** digits
  return Math.round(v * f) / f
}

export function healthDocument(h: HealthInput): HealthResponse {
  const uptime = round(h.values.uptime_seconds, 3)
  if (h.phase !== 'ready') {
    const body: Record<string, unknown> = {status: h.phase, uptime}
    if (h.progress) body.progress = {done_bytes: h.progress.done, total_bytes: h.progress.total, fraction: h.progress.total > 0 ? round(h.progress.done / h.progress.total, 4) : 0}
    if (h.error !== undefined) body.error = h.error
    if (h.phase === 'stopping') body.models_loaded = h.models.reduce((s, m) => s + m.blocks_resident, 0)
    return {httpStatus: 503, body}
  }
  const critical = h.alerts.some((a) => a.firing && a.severity === 'critical')
  const failedCheck = h.models.some((m) => m.check !== null && !m.check.ok)
  const status = critical || failedCheck || h.fallbacks.length > 0 ? 'degraded' : 'healthy'
  const firing = h.alerts.filter((a) => a.firing)
  return {
    httpStatus: 200,
    body: {
      status,
      architecture: h.models[0]?.architecture ?? null,
      models_loaded: h.models.reduce((s, m) => s + m.blocks_resident, 0),
      memory_usage: round(h.values.memory_usage),
      uptime,
      error_rate: round(h.values.error_rate),
      alerts: firing,
      queue: {
        depth: h.values.queue_depth,
        capacity: h.queueCapacity,
        policy: 'one generation at a time per model; others wait in a bounded FIFO',
      },
      memory: {rss_bytes: h.values.memory_bytes, heap_used_bytes: h.values.heap_used_bytes},
      ms_per_token: round(h.values.ms_per_token, 3),
      models: h.models,
      fallbacks: h.fallbacks,
      modes: h.modes,
    },
  }
}
