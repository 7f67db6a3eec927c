/**
 * The serving modes of `llmfrag run` (DESIGN section 8): flags, and the dispatch to the core
 * (src/server/production.ts, src/server/test-mode.ts) with a small renderer for the test report.
 * Kept apart from run.ts so that command only spreads the flags and calls `runServingMode`.
 */
import {Flags} from '@oclif/core'
import {chalkStderr} from 'chalk'

import {loadConfig, selectModel} from '../config/index.js'
import {LlmfragError} from '../errors.js'
import {runProduction, type ProductionSummary} from '../server/production.js'
import {runTestMode, type TestModeReport} from '../server/test-mode.js'
import {kernelChoice} from './kernel-flags.js'
import {progressBar} from './progress.js'

export const servingFlags = {
  config: Flags.string({description: 'config/production.json (models, network, monitoring, server)', helpGroup: 'SERVING'}),
  'env-file': Flags.string({description: 'a .env file of overrides (the process environment wins)', helpGroup: 'SERVING'}),
  'production-mode': Flags.boolean({description: 'serve the OpenAI-compatible API and monitoring until SIGINT/SIGTERM', helpGroup: 'SERVING', exclusive: ['test-mode']}),
  'test-mode': Flags.boolean({description: 'verify, load, generate a few tokens, report, exit (1 if a step fails)', helpGroup: 'SERVING'}),
  port: Flags.integer({description: 'API port (0: any free port) [default: server.port, else 8080]', min: 0, max: 65535, helpGroup: 'SERVING'}),
  'metrics-port': Flags.integer({description: '/health and /metrics port [default: METRICS_PORT, else 9090]', min: 0, max: 65535, helpGroup: 'SERVING'}),
  'log-file': Flags.string({description: 'append JSON-lines logs here (level from LOG_LEVEL)', helpGroup: 'SERVING'}),
  alerts: Flags.string({description: 'alerts.yml rules [default: alerts.yml beside --config]', helpGroup: 'SERVING'}),
  'prompt-cache': Flags.string({description: 'keep system-prompt KV caches in this directory across restarts (tensor frames)', helpGroup: 'SERVING'}),
  'single-architecture-mode': Flags.boolean({description: 'serve only the model of --fragments-dir/--model (or the default) even if the config names more', helpGroup: 'SERVING'}),
  'safe-mode': Flags.boolean({description: 'verify every checksum before loading; reference kernels', helpGroup: 'SERVING'}),
  'emergency-fallback': Flags.boolean({description: 'if a model fails to load or verify, retry with reference kernels, then fall back to the next configured model', helpGroup: 'SERVING'}),
}

export interface ServingFlagValues {
  config?: string
  'env-file'?: string
  'production-mode'?: boolean
  'test-mode'?: boolean
  port?: number
  'metrics-port'?: number
  'log-file'?: string
  alerts?: string
  'prompt-cache'?: string
  'single-architecture-mode'?: boolean
  'safe-mode'?: boolean
  'relaxed-simd'?: boolean
  'emergency-fallback'?: boolean
  model?: string
  'fragments-dir'?: string
  'ctx-size'?: number
  threads?: number
  prompt?: string
  'n-predict'?: number
}

export function servingModeRequested(f: ServingFlagValues): boolean {
  return Boolean(f['production-mode'] || f['test-mode'])
}

/** The model path for a plain run: the flag, else the config's default model. */
export function modelPathFromFlags(f: ServingFlagValues): string {
  const given = f.model ?? f['fragments-dir']
  if (given !== undefined) return given
  if (f.config === undefined && f['env-file'] === undefined) {
    throw new LlmfragError('BAD_INPUT', 'no model given', {hints: ['pass --model FILE or --fragments-dir DIR, or --config with a default model']})
  }
  const m = selectModel(loadConfig({file: f.config, envFile: f['env-file']}))
  return m.fragments_dir ?? m.model ?? ''
}

/** Runs --production-mode or --test-mode; `note` writes a line to stderr. */
export async function runServingMode(f: ServingFlagValues, note: (line: string) => void): Promise<ProductionSummary | TestModeReport> {
  const common = {
    config: f.config, envFile: f['env-file'], modelPath: f.model ?? f['fragments-dir'], ctx: f['ctx-size'], threads: f.threads,
    safeMode: f['safe-mode'], relaxedSimd: kernelChoice(f).relaxedSimd, singleArchitecture: f['single-architecture-mode'], emergencyFallback: f['emergency-fallback'],
  }
  if (f['production-mode']) {
    const summary = await runProduction({
      ...common, alerts: f.alerts, promptCacheDir: f['prompt-cache'], port: f.port, metricsPort: f['metrics-port'], logFile: f['log-file'],
      logStream: process.stderr, note,
    })
    note(`stopped after ${summary.requests} requests, ${summary.uptimeSeconds} s`)
    return summary
  }
  const bar = progressBar('loading')
  let report: TestModeReport
  try {
    report = await runTestMode({...common, prompt: f.prompt, tokens: f['n-predict'] !== undefined && f['n-predict'] > 0 ? f['n-predict'] : undefined, onProgress: bar.update})
  } finally {
    bar.stop()
  }
  for (const m of report.models) {
    note(`${m.model} (${m.path})`)
    for (const s of m.steps) note(`${s.ok ? '✅' : '❌'} ${s.name} (${s.detail})`)
    if (m.generation) note(`   ${JSON.stringify(m.generation.prompt)} → ${JSON.stringify(m.generation.text)}`)
  }
  note(report.ok ? chalkStderr.green('test mode: ok') : chalkStderr.red('test mode: failed'))
  if (!report.ok) process.exitCode = 1
  return report
}
