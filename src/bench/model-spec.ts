/**
 * What `bench --model X` benchmarks: a path (a .gguf file or a fragment set), else a model named in
 * the configuration (--config / MISTRAL_7B_FRAGMENTS / MAGISTRAL_FRAGMENTS), else a profile's
 * synthetic model in the cache directory -- written there by `--synthetic` if it is not there yet.
 * Without `--synthetic` a profile name with nothing behind it fails with the commands that make one.
 */
import {existsSync} from 'node:fs'
import {mkdir} from 'node:fs/promises'
import {homedir} from 'node:os'
import {join} from 'node:path'

import {loadConfig, type LlmfragConfig} from '../config/index.js'
import {LlmfragError} from '../errors.js'
import {PROFILE_NAMES} from '../profiles/profiles.js'
import {planSynth, synthesize, type SynthProgress, type SynthResult} from '../synth/index.js'

export interface ModelSpecOptions {
  readonly config?: string
  readonly envFile?: string
  /** Synthesize a profile's model into cacheDir when it is not there. */
  readonly synthetic: boolean
  readonly cacheDir: string
  /** Progress of a synthesis. */
  readonly onSynth?: SynthProgress
  /** Writes the model (tests pass a stand-in; default `synthesize`). */
  readonly synth?: (architecture: string, output: string, onProgress: SynthProgress) => Promise<SynthResult>
}

export interface ResolvedModel {
  readonly path: string
  readonly synthetic: boolean
  /** How the name was resolved, for the report's first line. */
  readonly via: 'path' | 'config' | 'cache' | 'synthesized'
}

/** `$XDG_CACHE_HOME/llmfrag`, else `~/.cache/llmfrag`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'llmfrag')
}

/** The cached synthetic model of a profile. */
export function syntheticModelPath(cacheDir: string, profile: string): string {
  return join(cacheDir, `${profile}-synth.gguf`)
}

export async function resolveBenchModel(spec: string | undefined, o: ModelSpecOptions): Promise<ResolvedModel> {
  const config = (): LlmfragConfig => loadConfig({file: o.config, envFile: o.envFile})
  if (spec === undefined) {
    const c = config()
    const name = c.default_model
    const entry = name === undefined ? undefined : c.models[name]
    const path = entry?.fragments_dir ?? entry?.model
    if (path !== undefined) return {path, synthetic: false, via: 'config'}
    throw new LlmfragError('BAD_INPUT', 'no model to benchmark', {
      hints: ['pass --model FILE|DIR, or a profile name (mistral_7b, magistral) with --synthetic', 'or give --config with a default model'],
    })
  }
  if (existsSync(spec)) return {path: spec, synthetic: false, via: 'path'}
  const entry = config().models[spec]
  const configured = entry?.fragments_dir ?? entry?.model
  if (configured !== undefined) return {path: configured, synthetic: false, via: 'config'}
  if (!PROFILE_NAMES.includes(spec)) {
    throw new LlmfragError('IO', `--model ${spec}: no such file or directory, configured model or architecture profile`, {
      hints: [`profiles: ${PROFILE_NAMES.join(', ')} (their synthetic models: add --synthetic)`, 'configured models come from --config, MISTRAL_7B_FRAGMENTS or MAGISTRAL_FRAGMENTS'],
    })
  }
  const cached = syntheticModelPath(o.cacheDir, spec)
  if (existsSync(cached)) return {path: cached, synthetic: true, via: 'cache'}
  if (!o.synthetic) {
    const plan = planSynth({architecture: spec})
    const gb = ((plan.header.length + plan.dataBytes) / 1e9).toFixed(2)
    throw new LlmfragError('BAD_INPUT', `--model ${spec} names no configured model, and no synthetic ${spec} model is cached in ${o.cacheDir}`, {
      hints: [
        `make one: llmfrag synth --architecture ${spec} -o ${cached}   (${gb} GB)`,
        `or let bench make it there: llmfrag bench --model ${spec} --synthetic`,
        `or configure a real one: --config FILE (models.${spec}) or ${spec.toUpperCase()}_FRAGMENTS=DIR`,
      ],
      details: {model: spec, cacheDir: o.cacheDir},
    })
  }
  await mkdir(o.cacheDir, {recursive: true})
  const write = o.synth ?? ((architecture: string, output: string, onProgress: SynthProgress) => synthesize({architecture, output}, onProgress))
  await write(spec, cached, o.onSynth ?? (() => {}))
  return {path: cached, synthetic: true, via: 'synthesized'}
}
