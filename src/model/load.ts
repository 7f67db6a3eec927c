/**
 * From a model source to a ready Transformer: read the config, place the weights in the arena,
 * allocate the run state. Context and batch sizes default here and nowhere else.
 */
import {LlmfragError} from '../errors.js'
import type {LoadOptions, LoadReport, ModelSource} from '../source/model-source.js'
import {readModelConfig} from './config.js'
import {Transformer} from './transformer.js'
import {loadWeights} from './weights.js'

/** llama.cpp's default context size (`-c 4096`), used unless the model's own is smaller. */
export const DEFAULT_CTX = 4096
/** llama.cpp's default physical batch (`-ub 512`): prompt positions evaluated per forward call. */
export const DEFAULT_BATCH = 512

export interface ModelLoadOptions extends LoadOptions {
  /** Context size in tokens (default: min(4096, the model's context length)). */
  readonly ctx?: number
  /** Prompt positions per forward call (default 512, never more than ctx). */
  readonly maxBatch?: number
}

export async function loadTransformer(source: ModelSource, options: ModelLoadOptions = {}): Promise<{model: Transformer; report: LoadReport}> {
  const config = readModelConfig(source.path, source.kv, source.tensors)
  const ctx = options.ctx ?? Math.min(DEFAULT_CTX, config.contextLength)
  if (!Number.isInteger(ctx) || ctx < 1) {
    throw new LlmfragError('BAD_INPUT', `context size ${ctx} must be a positive whole number`, {hints: ['pass -c/--ctx-size N with N >= 1']})
  }
  const maxBatch = Math.min(options.maxBatch ?? DEFAULT_BATCH, ctx)
  const {weights, report} = await loadWeights(source, config, options)
  return {model: new Transformer(config, weights, {ctx, maxBatch}), report}
}
