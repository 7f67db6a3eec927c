/**
 * Timings of a run, and their rendering in the shape of llama.cpp's `llama_perf_context_print`
 * lines so the figures read side by side with llama-cli's.
 */
export interface Timings {
  readonly loadMs: number // opening and placing the weights (0 when already loaded)
  readonly promptTokens: number // prompt positions evaluated (a reused cache prefix is not counted)
  readonly promptMs: number
  readonly promptTokensPerSecond: number
  readonly generatedTokens: number // tokens sampled
  readonly evalRuns: number // single-token forward passes during generation (generatedTokens - 1 at most)
  readonly evalMs: number
  readonly evalTokensPerSecond: number
  readonly sampleMs: number
  readonly totalMs: number
}

/** Tokens per second, 0 when nothing was timed. */
export function perSecond(tokens: number, ms: number): number {
  return tokens > 0 && ms > 0 ? (tokens * 1000) / ms : 0
}

/** The perf lines printed to stderr at the end of `llmfrag run`. */
export function formatPerf(t: Timings): string[] {
  const line = (label: string, ms: number, n: number, unit: string): string => {
    const per = n > 0 ? `(${(ms / n).toFixed(2).padStart(8)} ms per token, ${perSecond(n, ms).toFixed(2).padStart(8)} tokens per second)` : ''
    return `llmfrag_perf: ${label.padStart(16)} = ${ms.toFixed(2).padStart(10)} ms / ${String(n).padStart(5)} ${unit} ${per}`.trimEnd()
  }
  return [
    `llmfrag_perf: ${'load time'.padStart(16)} = ${t.loadMs.toFixed(2).padStart(10)} ms`,
    line('prompt eval time', t.promptMs, t.promptTokens, 'tokens'),
    line('eval time', t.evalMs, t.evalRuns, 'runs  '),
    line('sampling time', t.sampleMs, t.generatedTokens, 'tokens'),
    `llmfrag_perf: ${'total time'.padStart(16)} = ${t.totalMs.toFixed(2).padStart(10)} ms / ${String(t.promptTokens + t.evalRuns).padStart(5)} tokens`,
  ]
}
