/**
 * The resolved configuration every long-running command shares (`run`, `chat`, `bench`, the
 * server): config/production.json (schemas/config.schema.json) with defaults filled in and the
 * environment applied. Keys keep the file's snake_case names so the file, the schema and the code
 * read the same. Durations are seconds, ports 0..65535 (0: let the OS pick).
 */

export const ENVIRONMENTS = ['production', 'staging', 'development', 'test'] as const
export type Environment = (typeof ENVIRONMENTS)[number]

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

export interface ModelEntry {
  /** The key under `models`. */
  readonly name: string
  /** Absolute path of a fragment set directory, if configured. */
  readonly fragments_dir?: string
  /** Absolute path of a single .gguf file, if configured (fragments_dir wins when both are set). */
  readonly model?: string
  /** A profile name, or `auto` (accept what detection finds). */
  readonly architecture: string
  readonly use_binary: boolean
  readonly use_compression: boolean
  readonly collect_metrics: boolean
}

export interface NetworkConfig {
  readonly timeout: number // seconds
  readonly retry_attempts: number // retries after the first failure
  readonly retry_backoff: number // seconds before the first retry, doubled for each later one
}

/** Upper limits: an alert fires while the metric is above its threshold. */
export interface AlertThresholds {
  readonly error_rate: number // fraction of requests that failed, 0..1
  readonly memory_usage: number // resident memory / total memory, 0..1
  readonly latency_ms: number
  readonly ms_per_token: number
  readonly queue_depth: number
  readonly architecture_mismatches: number
}

export interface MonitoringConfig {
  readonly enabled: boolean
  readonly metrics_port: number
  readonly metrics_interval: number // seconds
  readonly health_check_interval: number // seconds
  readonly alert_thresholds: AlertThresholds
}

export interface ServerConfig {
  readonly port: number
  readonly host: string
}

export interface LlmfragConfig {
  readonly environment: Environment
  readonly log_level: LogLevel
  /** Key of `models` to use when a command names none (undefined when there are no models). */
  readonly default_model: string | undefined
  /** In the file's order; MAGISTRAL_FRAGMENTS / MISTRAL_7B_FRAGMENTS may add entries. */
  readonly models: Readonly<Record<string, ModelEntry>>
  readonly network: NetworkConfig
  readonly monitoring: MonitoringConfig
  readonly server: ServerConfig
  /** Where the values came from, for logs and `--verbose`. */
  readonly sources: ConfigSources
}

export interface ConfigSources {
  readonly file?: string
  readonly envFile?: string
  /** The environment variables that overrode a value (from the process or the env file). */
  readonly overrides: readonly string[]
}

/** Every default, in one place. */
export const DEFAULTS = {
  environment: 'production' as Environment,
  log_level: 'info' as LogLevel,
  model: {use_binary: true, use_compression: false, collect_metrics: true},
  network: {timeout: 30, retry_attempts: 3, retry_backoff: 1} satisfies NetworkConfig,
  monitoring: {
    enabled: true,
    metrics_port: 9090,
    metrics_interval: 10,
    health_check_interval: 30,
    alert_thresholds: {
      error_rate: 0.05, memory_usage: 0.9, latency_ms: 30000, ms_per_token: 1000, queue_depth: 16, architecture_mismatches: 0,
    } satisfies AlertThresholds,
  } satisfies MonitoringConfig,
  server: {port: 8080, host: '127.0.0.1'} satisfies ServerConfig,
} as const

/** Milliseconds to wait before retry number `attempt` (1-based): retry_backoff seconds, doubled each time. */
export function retryDelayMs(network: NetworkConfig, attempt: number): number {
  return network.retry_backoff * 1000 * 2 ** Math.max(0, attempt - 1)
}
