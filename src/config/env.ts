/**
 * Environment variables that override the config file (DESIGN section 9), each parsed and checked
 * here so a bad value fails with the variable's name, what it expects and what it got.
 */
import {LlmfragError} from '../errors.js'
import {ENVIRONMENTS, LOG_LEVELS, type Environment, type LogLevel} from './types.js'

export type Env = Readonly<Record<string, string | undefined>>

/** The variables llmfrag reads and what each sets. */
export const ENV_VARS = {
  ENVIRONMENT: 'environment',
  LOG_LEVEL: 'log_level',
  MAGISTRAL_FRAGMENTS: 'models.magistral.fragments_dir',
  MISTRAL_7B_FRAGMENTS: 'models.mistral_7b.fragments_dir',
  NETWORK_TIMEOUT: 'network.timeout (seconds)',
  MAX_RETRIES: 'network.retry_attempts',
  METRICS_ENABLED: 'monitoring.enabled',
  METRICS_PORT: 'monitoring.metrics_port',
} as const
export type EnvVar = keyof typeof ENV_VARS

/** Values present in `env` (empty strings count as unset, as most shells treat them). */
export interface EnvOverrides {
  environment?: Environment
  log_level?: LogLevel
  fragments?: {magistral?: string; mistral_7b?: string}
  timeout?: number
  retry_attempts?: number
  metrics_enabled?: boolean
  metrics_port?: number
  /** Names of the variables that were set. */
  applied: EnvVar[]
}

function envError(name: EnvVar, expected: string, got: string, origin: string | undefined): LlmfragError {
  const from = origin === undefined ? '' : ` (from ${origin})`
  return new LlmfragError('CONFIG', `environment variable ${name}${from}: must be ${expected}, got ${JSON.stringify(got)}`, {
    hints: [`${name} sets ${ENV_VARS[name]}; unset it to use the config file's value`],
    details: {variable: name, value: got},
  })
}

/**
 * Reads the override variables from `env`. `origin(name)` says where a value came from (an env
 * file) for error messages; undefined means the process environment.
 */
export function readEnvOverrides(env: Env, origin: (name: string) => string | undefined = () => undefined): EnvOverrides {
  const o: EnvOverrides = {applied: []}
  const get = (name: EnvVar): string | undefined => {
    const v = env[name]?.trim()
    if (v === undefined || v === '') return undefined
    o.applied.push(name)
    return v
  }
  const fail = (name: EnvVar, expected: string, got: string): LlmfragError => envError(name, expected, got, origin(name))

  const environment = get('ENVIRONMENT')
  if (environment !== undefined) {
    const v = environment.toLowerCase()
    if (!isOneOf(ENVIRONMENTS, v)) throw fail('ENVIRONMENT', `one of ${ENVIRONMENTS.join(', ')}`, environment)
    o.environment = v
  }
  const level = get('LOG_LEVEL')
  if (level !== undefined) {
    const v = level.toLowerCase()
    if (!isOneOf(LOG_LEVELS, v)) throw fail('LOG_LEVEL', `one of ${LOG_LEVELS.join(', ')}`, level)
    o.log_level = v
  }
  const magistral = get('MAGISTRAL_FRAGMENTS')
  const mistral = get('MISTRAL_7B_FRAGMENTS')
  if (magistral !== undefined || mistral !== undefined) o.fragments = {magistral, mistral_7b: mistral}

  const timeout = get('NETWORK_TIMEOUT')
  if (timeout !== undefined) {
    const v = Number(timeout)
    if (!/^\d*\.?\d+$/.test(timeout) || !(v > 0) || v > 86400) throw fail('NETWORK_TIMEOUT', 'a number of seconds above 0 and at most 86400', timeout)
    o.timeout = v
  }
  const retries = get('MAX_RETRIES')
  if (retries !== undefined) {
    if (!/^\d+$/.test(retries) || Number(retries) > 100) throw fail('MAX_RETRIES', 'a whole number from 0 to 100', retries)
    o.retry_attempts = Number(retries)
  }
  const enabled = get('METRICS_ENABLED')
  if (enabled !== undefined) {
    const v = parseBool(enabled)
    if (v === undefined) throw fail('METRICS_ENABLED', 'true or false (also 1/0, yes/no, on/off)', enabled)
    o.metrics_enabled = v
  }
  const port = get('METRICS_PORT')
  if (port !== undefined) {
    if (!/^\d+$/.test(port) || Number(port) > 65535) throw fail('METRICS_PORT', 'a port number from 0 to 65535', port)
    o.metrics_port = Number(port)
  }
  return o
}

function isOneOf<T extends string>(allowed: readonly T[], v: string): v is T {
  return (allowed as readonly string[]).includes(v)
}

function parseBool(s: string): boolean | undefined {
  const v = s.toLowerCase()
  if (['true', '1', 'yes', 'on'].includes(v)) return true
  if (['false', '0', 'no', 'off'].includes(v)) return false
  return undefined
}
