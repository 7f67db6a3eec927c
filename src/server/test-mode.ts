/**
 * `llmfrag run --test-mode`: a smoke test of a deployment. For the model that production mode
 * would serve first: run the checks of `llmfrag verify` (with the configured architecture), load
 * it, generate a few greedy tokens, and report each step. With --emergency-fallback a model that
 * fails is replaced by the next configured one, as in production mode. The report is data; the
 * command prints it and exits 1 unless `ok`.
 */
import {loadConfig, type Env} from '../config/index.js'
import {LlmfragError} from '../errors.js'
import {verify} from '../fragments/verify.js'
import type {RelaxedSimdChoice} from '../kernels/wasm/relaxed.js'
import type {LoadProgress} from './backend.js'
import {EngineBackend} from './engine-backend.js'
import {planModels, type PlannedModel} from './models.js'

export interface TestModeOptions {
  readonly config?: string
  readonly envFile?: string
  readonly modelPath?: string
  readonly ctx?: number
  readonly threads?: number
  readonly safeMode?: boolean
  /** Relaxed SIMD for the fast kernels (--relaxed-simd / --no-relaxed-simd; default `auto`). */
  readonly relaxedSimd?: RelaxedSimdChoice
  readonly singleArchitecture?: boolean
  readonly emergencyFallback?: boolean
  /** Prompt text (default "Hello"). */
  readonly prompt?: string
  /** Tokens to generate (default 8). */
  readonly tokens?: number
  readonly env?: Env
  readonly onProgress?: LoadProgress
}

export interface TestStep {
  readonly name: string
  readonly ok: boolean
  readonly detail: string
}

export interface ModelTest {
  readonly model: string
  readonly path: string
  readonly architecture: string | null
  readonly steps: TestStep[]
  readonly ok: boolean
  readonly generation?: {readonly prompt: string; readonly text: string; readonly tokens: number; readonly tokensPerSecond: number}
}

export interface TestModeReport {
  readonly ok: boolean
  /** Every model tried, in order (more than one only after an emergency fallback). */
  readonly models: ModelTest[]
}

export async function runTestMode(options: TestModeOptions): Promise<TestModeReport> {
  const config = loadConfig({file: options.config, envFile: options.envFile, env: options.env})
  const plan = planModels(config, options.modelPath, true)
  const candidates = options.emergencyFallback ? [plan.serve[0], ...plan.backups] : [plan.serve[0]]
  const models: ModelTest[] = []
  for (const m of candidates) {
    const t = await testModel(m, options)
    models.push(t)
    if (t.ok) break
  }
  return {ok: models.at(-1)?.ok ?? false, models}
}

async function testModel(m: PlannedModel, options: TestModeOptions): Promise<ModelTest> {
  const steps: TestStep[] = []
  const v = await verify(m.path, {expectedArchitecture: m.expectedArchitecture})
  for (const c of v.checks) {
    const problems = c.problems.map((p) => p.message).join('; ')
    steps.push({name: `verify: ${c.name}`, ok: c.ok, detail: c.skipped ? 'skipped' : problems ? `${c.detail}: ${problems}` : c.detail})
  }
  const base = {model: m.id, path: m.path, architecture: v.architecture ?? null}
  if (!v.ok) return {...base, steps, ok: false}

  const backend = new EngineBackend({id: m.id, path: m.path, ctx: options.ctx, threads: options.threads, kernels: options.safeMode ? 'reference' : 'fast', relaxedSimd: options.relaxedSimd})
  const t0 = performance.now()
  try {
    const info = await backend.load(options.onProgress)
    steps.push({name: 'load', ok: true, detail: `${info.blocksResident} blocks, context ${info.nCtx}, ${info.kernels}${info.relaxedSimd ? ' (relaxed SIMD)' : ''} kernels, ${((performance.now() - t0) / 1000).toFixed(2)} s`})
    const prompt = options.prompt ?? 'Hello'
    const tokens = backend.prepare({kind: 'completion', text: prompt})
    let text = ''
    const r = await backend.generate({
      tokens, input: {kind: 'completion', text: prompt}, chat: false, signal: new AbortController().signal, onText: (e) => { text += e.text },
      sampling: {temperature: 0, maxTokens: Math.min(options.tokens ?? 8, info.nCtx - tokens.length), stop: []},
    })
    const tps = r.generateMs > 0 ? (r.completionTokens / r.generateMs) * 1000 : 0
    const ok = r.completionTokens > 0 || r.finishReason === 'stop'
    steps.push({name: 'generate', ok, detail: `${r.completionTokens} tokens at ${tps.toFixed(1)} tokens/s (${r.finishReason})`})
    return {...base, steps, ok, generation: {prompt, text, tokens: r.completionTokens, tokensPerSecond: Math.round(tps * 10) / 10}}
  } catch (err) {
    if (!(err instanceof LlmfragError)) throw err
    steps.push({name: steps.some((s) => s.name === 'load') ? 'generate' : 'load', ok: false, detail: err.message})
    return {...base, steps, ok: false}
  } finally {
    await backend.close()
  }
}
