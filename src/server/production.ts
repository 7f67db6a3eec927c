/**
 * `llmfrag run --production-mode`: configuration (file, --env-file, environment), alert rules
 * (monitoring.alert_thresholds plus alerts.yml), the JSON-lines log, the models to serve, then the
 * server; `runProduction` serves until SIGINT or SIGTERM and stops gracefully.
 *
 * Ports: the API on --port, else server.port, else 8080; monitoring on --metrics-port, else
 * METRICS_PORT, else monitoring.metrics_port, else 9090. Port 0 lets the system choose; the bound
 * ports are logged (`{"msg":"listening","service":"api","port":N}`) and noted on stderr.
 */
import {existsSync} from 'node:fs'
import {dirname, join} from 'node:path'
import type {Writable} from 'node:stream'

import {loadAlerts, loadConfig, thresholdRules, type AlertRule, type Env, type LlmfragConfig} from '../config/index.js'
import type {RelaxedSimdChoice} from '../kernels/wasm/relaxed.js'
import {createLogger, type Logger} from '../log/logger.js'
import type {Backend} from './backend.js'
import {EngineBackend} from './engine-backend.js'
import {planModels, type PlannedModel} from './models.js'
import {startServer, type BackendHooks, type ModelSpec, type RunningServer} from './server.js'

export interface ProductionOptions {
  /** config/production.json. */
  readonly config?: string
  readonly envFile?: string
  /** alerts.yml; default: alerts.yml beside the config file, when there is one. */
  readonly alerts?: string
  /** A model given on the command line (--model or --fragments-dir). */
  readonly modelPath?: string
  readonly port?: number
  readonly metricsPort?: number
  readonly logFile?: string
  /** Context size per model, tokens. */
  readonly ctx?: number
  /** Compute threads per model for the fast kernels (default: the cores available). */
  readonly threads?: number
  /** Keep system-prompt KV caches here across restarts (models with use_binary; zstd with use_compression). */
  readonly promptCacheDir?: string
  /** Memory for system-prompt KV caches per model, bytes (default 256 MiB; 0 turns the cache off). */
  readonly promptCacheBytes?: number
  readonly singleArchitecture?: boolean
  readonly safeMode?: boolean
  /** Relaxed SIMD for the fast kernels (--relaxed-simd / --no-relaxed-simd; default `auto`). */
  readonly relaxedSimd?: RelaxedSimdChoice
  readonly emergencyFallback?: boolean
  /** Where log lines go when there is no --log-file (stderr in the CLI). */
  readonly logStream?: Writable
  /** One-line human notes (listening addresses); the CLI writes them to stderr. */
  readonly note?: (line: string) => void
  readonly env?: Env
  /** Builds a model's backend (tests swap in a fake); default: the engine. */
  readonly backendFor?: (model: PlannedModel, kernels: 'fast' | 'reference', hooks: BackendHooks) => Backend
}

const PROMPT_CACHE_BYTES = 256 * 1024 * 1024

export interface Production {
  readonly server: RunningServer
  readonly apiPort: number
  readonly config: LlmfragConfig
  readonly logger: Logger
}

export interface ProductionSummary {
  readonly apiPort: number
  readonly metricsPort: number
  readonly models: string[]
  readonly requests: number
  readonly uptimeSeconds: number
  readonly stoppedBy: string
}

function modes(o: ProductionOptions): string[] {
  return ['production', ...(o.singleArchitecture ? ['single-architecture'] : []), ...(o.safeMode ? ['safe-mode'] : []), ...(o.emergencyFallback ? ['emergency-fallback'] : [])]
}

/** Rules from the thresholds and the alerts file (explicit, or beside the config file). */
function alertRules(config: LlmfragConfig, options: ProductionOptions, logger: Logger): AlertRule[] {
  const rules = thresholdRules(config.monitoring.alert_thresholds)
  const beside = options.config === undefined ? undefined : join(dirname(options.config), 'alerts.yml')
  const file = options.alerts ?? (beside !== undefined && existsSync(beside) ? beside : undefined)
  if (file === undefined) return rules
  const fromFile = loadAlerts(file)
  logger.info('alert rules loaded', {file, rules: fromFile.map((r) => r.name), thresholds: rules.map((r) => r.name)})
  return [...rules, ...fromFile]
}

/** Starts serving; resolves once the models are loaded and the API listens. */
export async function startProduction(options: ProductionOptions): Promise<Production> {
  const config = loadConfig({file: options.config, envFile: options.envFile, env: options.env})
  const logger = createLogger({
    level: config.log_level,
    file: options.logFile,
    stream: options.logFile === undefined ? options.logStream : undefined,
  })
  try {
    logger.info('starting', {environment: config.environment, config: config.sources.file ?? null, env_overrides: config.sources.overrides, modes: modes(options)})
    const plan = planModels(config, options.modelPath, options.singleArchitecture ?? false)
    const spec = (m: PlannedModel): ModelSpec => ({
      id: m.id,
      expectedArchitecture: m.expectedArchitecture,
      create: (kernels, hooks) => options.backendFor
        ? options.backendFor(m, kernels, hooks)
        : new EngineBackend({
          id: m.id, path: m.path, ctx: options.ctx, kernels, threads: options.threads, relaxedSimd: options.relaxedSimd, verifyFirst: options.safeMode,
          expectedArchitecture: m.expectedArchitecture,
          promptCache: {
            bytes: options.promptCacheBytes ?? PROMPT_CACHE_BYTES,
            ...(options.promptCacheDir !== undefined && m.frames.binary
              ? {dir: join(options.promptCacheDir, m.id), codec: m.frames.compression ? 'zstd' as const : 'raw' as const}
              : {}),
          },
          onCacheRefused: (file, err) => hooks.architectureMismatch('frame', `${file}: ${err.message}`),
        }),
    })
    const server = await startServer({
      models: plan.serve.map(spec),
      backupModels: plan.backups.map(spec),
      host: config.server.host,
      port: options.port ?? config.server.port,
      metricsPort: options.metricsPort ?? config.monitoring.metrics_port,
      monitoring: config.monitoring.enabled,
      logger,
      alertRules: alertRules(config, options, logger),
      metricsIntervalSeconds: config.monitoring.metrics_interval,
      healthCheckIntervalSeconds: config.monitoring.health_check_interval,
      rateWindowSeconds: Math.max(60, config.monitoring.metrics_interval),
      queueTimeoutSeconds: config.network.timeout,
      emergencyFallback: options.emergencyFallback,
      referenceKernels: options.safeMode,
      modes: modes(options),
    })
    if (server.metricsPort > 0) options.note?.(`monitoring listening on http://${config.server.host}:${server.metricsPort} (/health, /metrics)`)
    let apiPort: number
    try {
      apiPort = await server.ready
    } catch (err) {
      await server.stop('start-up failed')
      throw err
    }
    options.note?.(`api listening on http://${config.server.host}:${apiPort} (/v1/chat/completions, /v1/completions, /v1/models)`)
    return {server, apiPort, config, logger}
  } catch (err) {
    await logger.close()
    throw err
  }
}

/**
 * Serves until SIGINT or SIGTERM (or `stop` aborts), then lets requests in flight finish and
 * returns a summary. A second signal while stopping is left to Node's default (exit).
 */
export async function runProduction(options: ProductionOptions & {readonly stop?: AbortSignal}): Promise<ProductionSummary> {
  const p = await startProduction(options)
  const models = (p.server.health().body.models as Array<{id: string}>).map((m) => m.id)
  let onSignal: (signal: NodeJS.Signals) => void = () => {}
  const stoppedBy = await new Promise<string>((resolve) => {
    onSignal = resolve
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    options.stop?.addEventListener('abort', () => resolve('stop requested'), {once: true})
  })
  process.off('SIGINT', onSignal)
  process.off('SIGTERM', onSignal)
  options.note?.(`stopping (${stoppedBy}): finishing requests in flight`)
  await p.server.stop(stoppedBy)
  const requests = p.server.metrics.requests.total()
  const uptime = p.server.metrics.values().uptime_seconds
  await p.logger.close()
  return {apiPort: p.apiPort, metricsPort: p.server.metricsPort, models, requests, uptimeSeconds: Math.round(uptime * 10) / 10, stoppedBy}
}
