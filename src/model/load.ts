/**
 * From a model source to a ready Transformer: read the config, place the weights in the arena,
 * allocate the run state, set up the matrix products (the fast WebAssembly kernels on a pool of
 * threads, or the reference kernels). Context, batch size, kernels and threads default here and
 * nowhere else.
 */
import {availableParallelism} from 'node:os'

import {LlmfragError} from '../errors.js'
import {type RelaxedSimdChoice, resolveRelaxedSimd} from '../kernels/wasm/relaxed.js'
import type {LoadOptions, LoadReport, ModelSource} from '../source/model-source.js'
import {Arena} from './arena.js'
import {readModelConfig} from './config.js'
import {referenceMatmul} from './matmul.js'
import {createFastMatmul} from './matmul-fast.js'
import {RunState} from './state.js'
import {Transformer} from './transformer.js'
import {loadWeights} from './weights.js'

/** llama.cpp's default context size (`-c 4096`), used unless the model's own is smaller. */
export const DEFAULT_CTX = 4096
/** llama.cpp's default physical batch (`-ub 512`): prompt positions evaluated per forward call. */
export const DEFAULT_BATCH = 512

/** `fast`: WebAssembly SIMD, 8-bit activations, a thread pool. `reference`: scalar kernels, float activations, one thread (--safe-mode). */
export type KernelChoice = 'fast' | 'reference'

export interface ModelLoadOptions extends LoadOptions {
  /** Context size in tokens (default: min(4096, the model's context length)). */
  readonly ctx?: number
  /** Prompt positions per forward call (default 512, never more than ctx). */
  readonly maxBatch?: number
  /** Which kernels run the matrix products (default `fast`). */
  readonly kernels?: KernelChoice
  /** Compute threads for the fast kernels, the calling thread included (default: the cores available). */
  readonly threads?: number
  /** Weight bytes per WebAssembly memory (default DEFAULT_REGION_BYTES); smaller values spread a small model over several memories, as a 14 GB one is. */
  readonly regionBytes?: number
  /** Columns from which one position of a Q6_K product reads byte activations (default: kernels-wasm.ts BYTE_ACTIVATION_MIN_COLS; tests lower it to run that path on tiny models). */
  readonly byteActivationMinCols?: number
  /**
   * Q4_K and Q6_K products on the relaxed-SIMD kernels (kernels/wasm/relaxed.ts): true (--relaxed-simd;
   * turns V8's flag on where needed), false, or `auto` (default): on where the runtime ships relaxed SIMD.
   */
  readonly relaxedSimd?: RelaxedSimdChoice
}

/** The default thread count: the cores this process may use. */
export function defaultThreads(): number {
  return availableParallelism()
}

export async function loadTransformer(source: ModelSource, options: ModelLoadOptions = {}): Promise<{model: Transformer; report: LoadReport}> {
  const config = readModelConfig(source.path, source.kv, source.tensors)
  const ctx = options.ctx ?? Math.min(DEFAULT_CTX, config.contextLength)
  if (!Number.isInteger(ctx) || ctx < 1) {
    throw new LlmfragError('BAD_INPUT', `context size ${ctx} must be a positive whole number`, {hints: ['pass -c/--ctx-size N with N >= 1']})
  }
  const threads = options.threads ?? defaultThreads()
  if (!Number.isInteger(threads) || threads < 1) {
    throw new LlmfragError('BAD_INPUT', `thread count ${threads} must be a whole number >= 1`, {hints: ['pass -t/--threads N with N >= 1']})
  }
  const maxBatch = Math.min(options.maxBatch ?? DEFAULT_BATCH, ctx)
  // A fragment set checks each fragment's sha256 as it streams in unless told not to (a .gguf has no checksums to check).
  const {weights, report} = await loadWeights(source, config, {...options, verify: options.verify ?? true}, new Arena(options.regionBytes))
  const state = new RunState(config, {ctx, maxBatch})
  const matmul = options.kernels === 'reference' ? referenceMatmul(state)
    : await createFastMatmul(weights, state, {threads, byteMinCols: options.byteActivationMinCols, relaxedSimd: resolveRelaxedSimd(options.relaxedSimd)})
  return {model: new Transformer(config, weights, state, matmul), report}
}
