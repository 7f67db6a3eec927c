/**
 * Which model `chat` opens: --model / --fragments-dir if given, else one from the config. When the
 * config names several models and the chat runs on a terminal, a menu (@inquirer/prompts) lets
 * the user pick one, the config's default first; without a terminal the default is taken.
 */
import {select} from '@inquirer/prompts'

import {loadConfig, type ModelEntry, selectModel} from '../config/index.js'
import {LlmfragError} from '../errors.js'

export interface ModelChoiceFlags {
  readonly model?: string
  readonly 'fragments-dir'?: string
  readonly config?: string
  readonly 'env-file'?: string
}

export interface ModelChoice {
  readonly path: string
  /** The config's name for it (undefined when given by a flag). */
  readonly name?: string
}

/** The model to open; undefined when the user closed the menu (Ctrl-C). */
export async function chooseModel(f: ModelChoiceFlags, interactive: boolean): Promise<ModelChoice | undefined> {
  const given = f.model ?? f['fragments-dir']
  if (given !== undefined) return {path: given}
  if (f.config === undefined && f['env-file'] === undefined) {
    throw new LlmfragError('BAD_INPUT', 'no model given', {hints: ['pass --model FILE or --fragments-dir DIR, or --config with models']})
  }
  const config = loadConfig({file: f.config, envFile: f['env-file']})
  const names = Object.keys(config.models)
  let entry: ModelEntry
  if (names.length > 1 && interactive) {
    const first = config.default_model
    const ordered = first === undefined ? names : [first, ...names.filter((n) => n !== first)]
    let picked: string
    try {
      picked = await select({
        message: 'Model',
        choices: ordered.map((n) => {
          const m = config.models[n]
          return {name: `${n} (${m.architecture})`, value: n, description: pathOf(m) ?? '(no path configured)'}
        }),
      })
    } catch (err) {
      if (err instanceof Error && err.name === 'ExitPromptError') return undefined
      throw err
    }
    entry = selectModel(config, picked)
  } else entry = selectModel(config)
  const path = pathOf(entry)
  if (path === undefined) {
    throw new LlmfragError('CONFIG', `${config.sources.file ?? 'the configuration'}: model ${JSON.stringify(entry.name)} has neither fragments_dir nor model`, {
      hints: [`set models.${entry.name}.fragments_dir or models.${entry.name}.model`],
    })
  }
  return {path, name: entry.name}
}

function pathOf(m: ModelEntry): string | undefined {
  return m.fragments_dir ?? m.model
}
