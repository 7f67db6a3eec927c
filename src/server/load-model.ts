/**
 * Loading one model for the server, with the emergency fallback of --emergency-fallback: a model
 * that fails with the fast kernels is retried with the reference kernels, and one that still fails
 * is logged, noted for /health and skipped (the caller moves on to a backup) instead of stopping
 * the start-up. A loaded model whose architecture is not the configured one is refused.
 */
import {LlmfragError} from '../errors.js'
import type {Logger} from '../log/logger.js'
import type {FallbackNote} from '../monitoring/health.js'
import type {ServerMetrics} from '../monitoring/server-metrics.js'
import type {Backend, ModelInfo} from './backend.js'

export interface ModelSpec {
  /** Name used in the API's `model` field. */
  readonly id: string
  /** Architecture the configuration expects (a different detection is refused), if any. */
  readonly expectedArchitecture?: string
  /** A backend for this model using the fast or the reference kernels. */
  readonly create: (kernels: 'fast' | 'reference', hooks: BackendHooks) => Backend
}

/** What a backend may report to the server while it runs. */
export interface BackendHooks {
  /** Something made for another model was refused (a cached KV frame): counted and logged. */
  readonly architectureMismatch: (where: string, detail: string) => void
}

export interface LoadContext {
  readonly emergencyFallback: boolean
  /** Only the reference kernels (--safe-mode). */
  readonly referenceKernels: boolean
  readonly metrics: ServerMetrics
  readonly logger: Logger
  /** Fallbacks taken, for /health. */
  readonly fallbacks: FallbackNote[]
  readonly onProgress: (done: number, total: number) => void
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/**
 * Loads one model. With emergency fallback, a failure with the fast kernels is retried with the
 * reference kernels, and a model that still fails is logged and answered with undefined (the
 * caller moves on to a backup) instead of stopping the start-up.
 */
export async function loadModel(spec: ModelSpec, ctx: LoadContext): Promise<{info: ModelInfo; backend: Backend} | undefined> {
  const {metrics, logger, fallbacks, onProgress} = ctx
  const attempts: Array<'fast' | 'reference'> = ctx.referenceKernels ? ['reference'] : ctx.emergencyFallback ? ['fast', 'reference'] : ['fast']
  let lastError: unknown
  for (const kernels of attempts) {
    const backend = spec.create(kernels, {
      architectureMismatch: (where, detail) => {
        metrics.archMismatches.inc({where})
        logger.warn('architecture mismatch', {model: spec.id, where, detail})
      },
    })
    const started = performance.now()
    logger.info('loading model', {model: spec.id, kernels_requested: kernels})
    let info: ModelInfo
    try {
      info = await backend.load(onProgress)
    } catch (err) {
      lastError = err
      const mismatch = err instanceof LlmfragError && err.code === 'ARCH_MISMATCH'
      if (mismatch) metrics.archMismatches.inc({where: 'load'})
      if (!ctx.emergencyFallback) throw err
      logger.error('model failed to load', {model: spec.id, kernels, error: err})
      await backend.close().catch(() => {})
      if (mismatch) break // other kernels would load the same wrong model
      continue
    }
    if (spec.expectedArchitecture !== undefined && info.architecture !== spec.expectedArchitecture) {
      metrics.archMismatches.inc({where: 'load'})
      await backend.close().catch(() => {})
      lastError = new LlmfragError('ARCH_MISMATCH', `Architecture mismatch: expected ${spec.expectedArchitecture}, got ${info.architecture}`, {
        hints: [`the configuration says model ${spec.id} is ${spec.expectedArchitecture}; check its fragments_dir`],
      })
      if (!ctx.emergencyFallback) throw lastError
      logger.error('model failed to load', {model: spec.id, kernels, error: lastError})
      break
    }
    logger.info('model loaded', {
      model: info.id, architecture: info.architecture, blocks_resident: info.blocksResident, n_ctx: info.nCtx,
      kernels: info.kernels, seconds: Math.round(performance.now() - started) / 1000,
    })
    if (kernels !== attempts[0]) {
      fallbacks.push({failed: `${spec.id} with the fast kernels`, reason: errorText(lastError), serving: `${spec.id} with the reference kernels`})
      logger.warn('emergency fallback: serving with the reference kernels', {model: spec.id, reason: errorText(lastError)})
    }
    return {info, backend}
  }
  fallbacks.push({failed: spec.id, reason: errorText(lastError), serving: 'the next configured model, if any'})
  logger.error('emergency fallback: skipping model', {model: spec.id, reason: errorText(lastError)})
  return undefined
}
