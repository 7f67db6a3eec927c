/**
 * loadConfig: the config file (validated against schemas/config.schema.json), then an env file
 * (`--env-file`), then the process environment, with every default from types.ts. The process
 * environment wins over the env file, as dotenv does; both win over the config file.
 */
import {readFileSync} from 'node:fs'
import {resolve} from 'node:path'

import {ioError, LlmfragError} from '../errors.js'
import {PROFILE_NAMES} from '../profiles/profiles.js'
import {readEnvFile} from './env-file.js'
import {type Env, readEnvOverrides} from './env.js'
import {validateConfigDocument} from './schema.js'
import {DEFAULTS, type Environment, type LlmfragConfig, type LogLevel, type ModelEntry} from './types.js'

export interface LoadConfigOptions {
  /** config/production.json; without it the config is the defaults plus the environment. */
  file?: string
  /** A .env file whose variables apply where the process environment does not set them. */
  envFile?: string
  /** Default process.env. */
  env?: Env
  /** Relative paths (fragments_dir, model) are taken from here; default process.cwd(). */
  cwd?: string
}

/** The file's shape as the schema guarantees it (every field optional). */
interface ConfigDocument {
  environment?: Environment
  log_level?: LogLevel
  default_model?: string
  models?: Record<string, {fragments_dir?: string; model?: string; architecture: string; use_binary?: boolean; use_compression?: boolean; collect_metrics?: boolean}>
  network?: Partial<LlmfragConfig['network']>
  monitoring?: Partial<Omit<LlmfragConfig['monitoring'], 'alert_thresholds'>> & {alert_thresholds?: Partial<LlmfragConfig['monitoring']['alert_thresholds']>}
  server?: Partial<LlmfragConfig['server']>
}

/** Architectures a model entry may name: the profiles, or `auto` for whatever detection finds. */
export const CONFIG_ARCHITECTURES: readonly string[] = [...PROFILE_NAMES, 'auto']

function configError(file: string, path: string, message: string, hints: string[] = []): LlmfragError {
  return new LlmfragError('CONFIG', `${file}: ${path}: ${message}`, {
    hints: [...hints, 'compare with examples/config/production.json; the schema is schemas/config.schema.json'],
    details: {file, path},
  })
}

function readDocument(file: string): ConfigDocument {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw ioError(err, file, 'read the config file')
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new LlmfragError('CONFIG', `${file}: not valid JSON: ${(err as Error).message}`, {hints: ['check for trailing commas and unquoted keys'], details: {file}})
  }
  validateConfigDocument(value, file)
  const doc = value as ConfigDocument
  // What the schema cannot know: the profile names and the model names.
  for (const [name, m] of Object.entries(doc.models ?? {})) {
    if (!CONFIG_ARCHITECTURES.includes(m.architecture)) {
      throw configError(file, `/models/${name}/architecture`, `must be one of ${CONFIG_ARCHITECTURES.map((a) => JSON.stringify(a)).join(', ')}, got ${JSON.stringify(m.architecture)}`)
    }
  }
  if (doc.default_model !== undefined && !Object.hasOwn(doc.models ?? {}, doc.default_model)) {
    throw configError(file, '/default_model', `names no model under /models: ${JSON.stringify(doc.default_model)}`, [`models: ${Object.keys(doc.models ?? {}).join(', ') || '(none)'}`])
  }
  return doc
}

export function loadConfig(options: LoadConfigOptions = {}): LlmfragConfig {
  const cwd = options.cwd ?? process.cwd()
  const processEnv = options.env ?? process.env
  const doc = options.file === undefined ? {} : readDocument(options.file)
  const fileVars = options.envFile === undefined ? {} : readEnvFile(options.envFile)
  // dotenv's rule: a variable the process already has (even empty) is not taken from the file.
  const env: Env = {...fileVars, ...definedOnly(processEnv)}
  const origin = (name: string): string | undefined => (processEnv[name] === undefined && name in fileVars ? options.envFile : undefined)
  const o = readEnvOverrides(env, origin)

  const models: Record<string, ModelEntry> = {}
  for (const [name, m] of Object.entries(doc.models ?? {})) {
    models[name] = {
      name,
      architecture: m.architecture,
      ...(m.fragments_dir === undefined ? {} : {fragments_dir: resolve(cwd, m.fragments_dir)}),
      ...(m.model === undefined ? {} : {model: resolve(cwd, m.model)}),
      use_binary: m.use_binary ?? DEFAULTS.model.use_binary,
      use_compression: m.use_compression ?? DEFAULTS.model.use_compression,
      collect_metrics: m.collect_metrics ?? DEFAULTS.model.collect_metrics,
    }
  }
  // MAGISTRAL_FRAGMENTS / MISTRAL_7B_FRAGMENTS point the model of that name at a fragment set,
  // adding it (with its profile as architecture) when the file does not name it.
  for (const [name, dir] of Object.entries(o.fragments ?? {})) {
    if (dir === undefined) continue
    const base: ModelEntry = models[name] ?? {name, architecture: name, ...DEFAULTS.model}
    models[name] = {...base, fragments_dir: resolve(cwd, dir)}
  }

  const mon = doc.monitoring ?? {}
  return {
    environment: o.environment ?? doc.environment ?? DEFAULTS.environment,
    log_level: o.log_level ?? doc.log_level ?? DEFAULTS.log_level,
    default_model: doc.default_model ?? Object.keys(models)[0],
    models,
    network: {
      ...DEFAULTS.network,
      ...doc.network,
      ...(o.timeout === undefined ? {} : {timeout: o.timeout}),
      ...(o.retry_attempts === undefined ? {} : {retry_attempts: o.retry_attempts}),
    },
    monitoring: {
      ...DEFAULTS.monitoring,
      ...mon,
      ...(o.metrics_enabled === undefined ? {} : {enabled: o.metrics_enabled}),
      ...(o.metrics_port === undefined ? {} : {metrics_port: o.metrics_port}),
      alert_thresholds: {...DEFAULTS.monitoring.alert_thresholds, ...mon.alert_thresholds},
    },
    server: {...DEFAULTS.server, ...doc.server},
    sources: {
      ...(options.file === undefined ? {} : {file: options.file}),
      ...(options.envFile === undefined ? {} : {envFile: options.envFile}),
      overrides: o.applied,
    },
  }
}

function definedOnly(env: Env): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v
  return out
}

/**
 * The model entry to use: `name` if given, else the config's default. Fails naming the known
 * models when there is no such entry.
 */
export function selectModel(config: LlmfragConfig, name?: string): ModelEntry {
  const wanted = name ?? config.default_model
  const known = Object.keys(config.models)
  const entry = wanted === undefined || !Object.hasOwn(config.models, wanted) ? undefined : config.models[wanted]
  if (entry) return entry
  const where = config.sources.file ?? 'the configuration'
  throw new LlmfragError('CONFIG', wanted === undefined
    ? `${where} names no model`
    : `${where} has no model named ${JSON.stringify(wanted)}`, {
    hints: known.length > 0
      ? [`configured models: ${known.join(', ')}`]
      : ['add one under "models" in the config, set MAGISTRAL_FRAGMENTS or MISTRAL_7B_FRAGMENTS, or pass --model / --fragments-dir'],
    details: {model: wanted, known},
  })
}
