/**
 * The serving process, independent of where models come from: the monitoring listener first
 * (so /health answers 503 while loading), then each model loaded in turn, then the API listener.
 * Alerts are evaluated every `metricsIntervalSeconds`. `stop()` refuses new connections, lets the
 * requests in flight (running or queued) finish, then closes the listeners and frees the models.
 *
 * With `emergencyFallback`, a model that fails to load is retried with the reference kernels
 * and, failing that, skipped while the next configured model is served; each fallback is logged
 * and listed in /health (status `degraded`). Without it, the first failure stops the start-up.
 */
import {createServer} from 'node:http'

import {LlmfragError} from '../errors.js'
import type {Logger} from '../log/logger.js'
import {AlertEvaluator, validateAlertRules, type AlertRule} from '../monitoring/alerts.js'
import {healthDocument, type FallbackNote, type HealthResponse, type ModelHealth, type Phase} from '../monitoring/health.js'
import {ALERT_METRIC_NAMES, ServerMetrics} from '../monitoring/server-metrics.js'
import {createApiHandler, type ServedModel} from './api.js'
import {closeServer, listen} from './listen.js'
import {errorText, loadModel, type ModelSpec} from './load-model.js'
import {createMonitorHandler} from './monitor.js'
import {GenerationQueue} from './queue.js'

export type {BackendHooks, ModelSpec} from './load-model.js'

export interface ServerOptions {
  /** Models to serve; the first one loaded is the default model. */
  readonly models: readonly ModelSpec[]
  /** With emergencyFallback: models tried in order in place of one that fails to load. */
  readonly backupModels?: readonly ModelSpec[]
  readonly host: string
  /** API port (0: the OS picks; the bound port is logged and returned). */
  readonly port: number
  readonly metricsPort: number
  readonly logger: Logger
  readonly alertRules: readonly AlertRule[]
  /** Seconds between alert evaluations. */
  readonly metricsIntervalSeconds: number
  /** Seconds between the models' self-checks (monitoring.health_check_interval; default 30). */
  readonly healthCheckIntervalSeconds?: number
  /** Requests that may wait per model while one generates (default 64). */
  readonly queueCapacity?: number
  /** How long a request may wait for its model's turn, seconds (network.timeout; default: no limit). */
  readonly queueTimeoutSeconds?: number
  /** Start the monitoring listener (monitoring.enabled; default true). /health stays on the API port. */
  readonly monitoring?: boolean
  /** Largest request body, bytes (default 4 MiB). */
  readonly bodyLimit?: number
  /** Window for rates (error_rate, ms_per_token), seconds (default 300). */
  readonly rateWindowSeconds?: number
  /** How long stop() waits for requests in flight before closing connections, ms (default 30 s). */
  readonly drainTimeoutMs?: number
  readonly emergencyFallback?: boolean
  /** Start with the reference kernels (--safe-mode). */
  readonly referenceKernels?: boolean
  /** Modes to report in /health (e.g. production, safe-mode). */
  readonly modes?: readonly string[]
}

export interface RunningServer {
  /** 0 when monitoring is disabled. */
  readonly metricsPort: number
  /** Resolves with the API port once the models are loaded and the API listens; rejects if none loads. */
  readonly ready: Promise<number>
  readonly metrics: ServerMetrics
  health(): HealthResponse
  /** Graceful stop; safe to call more than once. */
  stop(reason?: string): Promise<void>
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const {logger} = options
  validateAlertRules(options.alertRules, ALERT_METRIC_NAMES)
  const queueCapacity = options.queueCapacity ?? 64
  const served = new Map<string, ServedModel>()
  const fallbacks: FallbackNote[] = []
  let phase: Phase = 'loading'
  let progress = {done: 0, total: 0}
  let loadError: string | undefined

  const metrics = new ServerMetrics({
    windowSeconds: options.rateWindowSeconds,
    queueDepth: () => [...served.values()].reduce((s, m) => s + m.queue.depth, 0),
    modelsLoaded: () => [...served.values()].reduce((s, m) => s + m.info.blocksResident, 0),
  })
  const alerts = new AlertEvaluator(options.alertRules, logger.child({component: 'alerts'}))
  metrics.alertState.collect(() => alerts.status().map((a) => [{alert: a.name, severity: a.severity}, a.firing ? 1 : 0]))

  const modes = options.modes ?? ['production']
  const checks = new Map<string, ModelHealth['check']>()
  const health = (): HealthResponse => {
    const models: ModelHealth[] = [...served.values()].map((m) => ({
      id: m.info.id, architecture: m.info.architecture, blocks_resident: m.info.blocksResident, n_ctx: m.info.nCtx,
      kernels: m.info.kernels, source: m.info.source, queue_depth: m.queue.depth, generating: m.queue.running,
      check: checks.get(m.info.id) ?? null,
    }))
    return healthDocument({
      phase, values: metrics.values(), models, alerts: alerts.status(), queueCapacity, fallbacks, modes,
      progress: phase === 'loading' ? progress : undefined, error: loadError,
    })
  }

  const monitor = createServer(createMonitorHandler({health, metrics: () => metrics.registry.render(), logger}))
  let metricsPort = 0
  if (options.monitoring ?? true) {
    metricsPort = await listen(monitor, options.metricsPort, options.host)
    logger.info('listening', {service: 'monitoring', host: options.host, port: metricsPort})
  }

  const evaluate = (): void => {
    try {
      alerts.evaluate(metrics.values())
    } catch (err) {
      logger.error('alert evaluation failed', {error: err})
    }
  }
  const timer = setInterval(evaluate, Math.max(0.05, options.metricsIntervalSeconds) * 1000)
  timer.unref()
  let checking = false
  const selfCheck = async (): Promise<void> => {
    if (checking || phase !== 'ready') return
    checking = true
    try {
      for (const m of served.values()) {
        let problem: string | undefined
        try {
          problem = await m.backend.check?.()
        } catch (err) {
          problem = errorText(err)
        }
        const was = checks.get(m.info.id)
        checks.set(m.info.id, {ok: problem === undefined, detail: problem ?? null, at: new Date().toISOString()})
        if (problem !== undefined && (was == null || was.ok)) logger.warn('model health check failed', {model: m.info.id, problem})
        if (problem === undefined && was != null && !was.ok) logger.info('model health check passes again', {model: m.info.id})
      }
    } finally {
      checking = false
    }
  }
  const checkTimer = setInterval(() => void selfCheck(), Math.max(0.05, options.healthCheckIntervalSeconds ?? 30) * 1000)
  checkTimer.unref()

  const api = createServer(createApiHandler({
    models: () => (phase === 'ready' || phase === 'stopping' ? served : new Map()),
    defaultModel: () => served.keys().next().value,
    metrics, logger: logger.child({component: 'api'}), health, bodyLimit: options.bodyLimit ?? 4 * 1024 * 1024,
    queueTimeoutMs: options.queueTimeoutSeconds === undefined ? undefined : options.queueTimeoutSeconds * 1000,
  }))

  let stopping: Promise<void> | undefined
  const stop = (reason = 'stop requested'): Promise<void> => {
    stopping ??= (async () => {
      const wasReady = phase === 'ready'
      phase = 'stopping'
      logger.info('stopping', {reason, in_flight: [...served.values()].reduce((s, m) => s + m.queue.depth + (m.queue.running ? 1 : 0), 0)})
      const drainMs = options.drainTimeoutMs ?? 30_000
      if (wasReady) await closeServer(api, drainMs)
      clearInterval(timer)
      clearInterval(checkTimer)
      await closeServer(monitor, 1000)
      for (const m of served.values()) {
        try {
          await m.backend.close()
        } catch (err) {
          logger.warn('closing a model failed', {model: m.info.id, error: err})
        }
      }
      logger.info('stopped', {reason})
    })()
    return stopping
  }

  const ready = (async () => {
    const backups = [...(options.backupModels ?? [])]
    for (const spec of options.models) {
      let candidate: ModelSpec | undefined = spec
      while (candidate && !stopping) {
        if (served.has(candidate.id)) break
        const model = await loadModel(candidate, {
          emergencyFallback: options.emergencyFallback ?? false, referenceKernels: options.referenceKernels ?? false,
          metrics, logger, fallbacks, onProgress: (done, total) => { progress = {done, total} },
        })
        if (model) {
          served.set(model.info.id, {...model, queue: new GenerationQueue(queueCapacity)})
          metrics.blocksResident.set(model.info.blocksResident, {model: model.info.id})
          break
        }
        // Only reached with emergency fallback: serve the next configured model instead.
        candidate = backups.shift()
        if (candidate) logger.warn('emergency fallback: trying the next configured model', {failed: spec.id, next: candidate.id})
      }
    }
    if (served.size === 0) {
      throw new LlmfragError('CHECK_FAILED', `no model could be loaded (${options.models.map((m) => m.id).join(', ') || 'none configured'})`, {
        hints: ['see the log for each failure', 'run `llmfrag verify` on the fragment directory'],
      })
    }
    if (stopping) throw new LlmfragError('CHECK_FAILED', 'stopped while loading')
    const port = await listen(api, options.port, options.host)
    phase = 'ready'
    evaluate()
    void selfCheck()
    logger.info('listening', {service: 'api', host: options.host, port, models: [...served.keys()]})
    return port
  })()
  ready.catch(async (err: unknown) => {
    loadError = err instanceof Error ? err.message : String(err)
    logger.error('start-up failed', {error: err})
    if (!stopping) {
      clearInterval(timer)
      clearInterval(checkTimer)
      phase = 'failed'
    }
  })

  return {metricsPort, ready, metrics, health, stop}
}
