/**
 * Which models a server serves, from the configuration and the command line:
 * - `--model FILE` / `--fragments-dir DIR` names a model; it is served first (the default model),
 *   under the config's name for that path if there is one, else the file or directory name;
 * - the config's other models are served too, unless `--single-architecture-mode`, where only the
 *   named model (or the config's default) is served and the others become the emergency backups.
 */
import {basename, resolve} from 'node:path'

import type {LlmfragConfig, ModelEntry} from '../config/index.js'
import {LlmfragError} from '../errors.js'

export interface PlannedModel {
  readonly id: string
  /** A .gguf file or fragment set directory. */
  readonly path: string
  /** The profile the config expects, or undefined (`auto`, or a model given only on the command line). */
  readonly expectedArchitecture?: string
  /** Tensors leaving the process (the prompt cache on disk) as frames (use_binary), zstd-compressed (use_compression). */
  readonly frames: {readonly binary: boolean; readonly compression: boolean}
}

export interface ModelPlan {
  readonly serve: readonly PlannedModel[]
  /** Tried in order, with --emergency-fallback, in place of a served model that fails. */
  readonly backups: readonly PlannedModel[]
}

function entryPath(e: ModelEntry): string | undefined {
  return e.fragments_dir ?? e.model
}

function planned(e: ModelEntry): PlannedModel | undefined {
  const path = entryPath(e)
  if (path === undefined) return undefined
  return {
    id: e.name, path, frames: {binary: e.use_binary, compression: e.use_compression},
    ...(e.architecture === 'auto' ? {} : {expectedArchitecture: e.architecture}),
  }
}

/** `path` from the command line; undefined when none was given. */
export function planModels(config: LlmfragConfig, path: string | undefined, singleArchitecture: boolean): ModelPlan {
  const configured = Object.values(config.models).map(planned).filter((m): m is PlannedModel => m !== undefined)
  let first: PlannedModel | undefined
  if (path !== undefined) {
    const abs = resolve(path)
    first = configured.find((m) => m.path === abs) ?? {id: basename(abs).replace(/\.gguf$/i, ''), path: abs, frames: {binary: true, compression: false}}
  } else {
    const name = config.default_model
    first = configured.find((m) => m.id === name) ?? configured[0]
  }
  if (!first) {
    throw new LlmfragError('CONFIG', 'no model to serve: the configuration names none with a fragments_dir or model path', {
      hints: ['pass --model FILE or --fragments-dir DIR', 'or configure models in config/production.json, or set MAGISTRAL_FRAGMENTS / MISTRAL_7B_FRAGMENTS'],
    })
  }
  const others = configured.filter((m) => m.path !== first.path && m.id !== first.id)
  return singleArchitecture ? {serve: [first], backups: others} : {serve: [first, ...others], backups: []}
}
