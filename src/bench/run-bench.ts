/**
 * `llmfrag bench`'s core: load a model once, then for each thread count and cache depth run
 * llama-bench's tests (pp: n_prompt random tokens in batches of n_batch; tg: n_gen single-token
 * steps; from an empty cache, or from position d with -d; one warm-up run first, as llama-bench)
 * `iterations` times, plus the micro-measurements (micro.ts) and this machine's memory-read rate,
 * and set every figure beside llama.cpp's anchor and the seed's targets (targets.ts).
 */
import {cpus, totalmem} from 'node:os'

import {LlmfragError} from '../errors.js'
import {GGMLType} from '../gguf/ggml-types.js'
import {Metadata} from '../gguf/metadata.js'
import type {RelaxedSimdChoice} from '../kernels/wasm/relaxed.js'
import {type KernelChoice, loadTransformer} from '../model/load.js'
import {createFastMatmul} from '../model/matmul-fast.js'
import {RunState} from '../model/state.js'
import {Transformer} from '../model/transformer.js'
import {openModelSource} from '../source/open.js'
import type {ModelSource} from '../source/model-source.js'
import {measureMemoryRead} from './memory-read.js'
import {frameRates, kernelRates, opLatencies, sha256Rate} from './micro.js'
import {anchorFor, RSS_HEADROOM, TARGET_RATIO, TARGET_THREADS} from './targets.js'
import {mean, stddev} from './timing.js'
import type {BenchModelInfo, BenchResult, BenchTest, KernelRate, MemoryReadRate, OpLatency} from './types.js'

export interface BenchOptions {
  readonly model: string // a .gguf file or fragment set directory
  readonly synthetic: boolean
  readonly nPrompt: number // 0: no pp test
  readonly nGen: number // 0: no tg test
  /** Cache depths (llama-bench -d): each test runs after that many positions are in the cache (default [0]). */
  readonly depths?: readonly number[]
  readonly threads: readonly number[]
  readonly iterations: number
  readonly batch: number // n_batch: prompt positions per forward call
  readonly kernels: KernelChoice
  /** Relaxed SIMD for the fast kernels (model/load.ts; default `auto`). */
  readonly relaxedSimd?: RelaxedSimdChoice
  readonly verify: boolean
  /** Kernel rates, op latencies, frames and sha256 (default true). */
  readonly micro?: boolean
  readonly version: string
  /** Stage notes (`loading`, `pp64 @ 2 threads 3/5`) for a progress line. */
  readonly onStage?: (stage: string) => void
  readonly onLoadProgress?: (done: number, total: number) => void
}

/** Pseudo-random token ids in [0, vocab) (llama-bench feeds random tokens too); fixed seed, so runs compare. */
function randomTokens(n: number, vocab: number, seed = 1): number[] {
  let s = seed >>> 0
  return Array.from({length: n}, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s % vocab
  })
}

function check(o: BenchOptions): void {
  const bad = (flag: string, why: string): LlmfragError => new LlmfragError('BAD_INPUT', `${flag}: ${why}`)
  if (!Number.isInteger(o.nPrompt) || o.nPrompt < 0) throw bad('-p/--n-prompt', `must be a whole number >= 0, got ${o.nPrompt}`)
  if (!Number.isInteger(o.nGen) || o.nGen < 0) throw bad('-n/--n-gen', `must be a whole number >= 0, got ${o.nGen}`)
  if (o.nPrompt === 0 && o.nGen === 0) throw bad('-p/-n', 'both are 0: nothing to measure')
  if (!Number.isInteger(o.iterations) || o.iterations < 1) throw bad('--iterations', `must be a whole number >= 1, got ${o.iterations}`)
  if (o.threads.length === 0 || o.threads.some((t) => !Number.isInteger(t) || t < 1 || t > 64)) throw bad('-t/--threads', `must be whole numbers from 1 to 64, got ${o.threads.join(',')}`)
  const depths = o.depths ?? [0]
  if (depths.length === 0 || depths.some((d) => !Number.isInteger(d) || d < 0)) throw bad('-d/--n-depth', `must be whole numbers >= 0, got ${depths.join(',')}`)
  if (o.kernels === 'reference' && o.threads.some((t) => t !== 1)) throw bad('-t/--threads', 'the reference kernels run on one thread: use -t 1')
}

function modelInfo(source: ModelSource, m: Transformer, synthetic: boolean): BenchModelInfo {
  const md = new Metadata(source.path, source.kv)
  const params = source.tensors.reduce((s, t) => s + t.dims.reduce((a, d) => a * d, 1), 0)
  const counts = new Map<GGMLType, number>()
  for (const t of source.tensors) counts.set(t.type, (counts.get(t.type) ?? 0) + t.bytes)
  const ftype = md.optNumber('general.file_type')
  const c = m.config
  const name = c.profile === 'llama-family (custom)' ? `${c.architecture} ${c.layers}L` : c.profile
  return {
    path: source.path, kind: source.kind, architecture: c.architecture, profile: c.profile,
    type: `${name} ${ftype === 15 ? 'Q4_K_M' : ftype === 14 ? 'Q4_K_S' : [...counts.keys()].map((t) => GGMLType[t]).join('+')}`,
    size_bytes: source.totalBytes, params, layers: c.layers,
    synthetic: synthetic || (md.optString('general.name') ?? '').startsWith('synth'),
  }
}

export async function runBench(o: BenchOptions): Promise<BenchResult> {
  check(o)
  const stage = o.onStage ?? (() => {})
  const threadCounts = [...new Set(o.threads)]
  stage('measuring memory read rate')
  const memoryRead = await measureMemoryRead([...new Set([1, 2, ...threadCounts])].sort((a, b) => a - b))
  const readAt = (t: number): number => memoryRead.find((r) => r.threads === t)?.gbps ?? 0

  stage('loading')
  const source = openModelSource(o.model)
  const depths = [...new Set(o.depths ?? [0])]
  const maxDepth = Math.max(...depths)
  const ctx = maxDepth + Math.max(o.nPrompt, o.nGen, 1)
  const t0 = performance.now()
  const {model, report} = await loadTransformer(source, {ctx, maxBatch: Math.min(o.batch, ctx), kernels: o.kernels, relaxedSimd: o.relaxedSimd, threads: threadCounts[0],
    verify: o.verify, onProgress: o.onLoadProgress})
  const loadSeconds = (performance.now() - t0) / 1000
  const load = {seconds: loadSeconds, gbps: report.bytes / loadSeconds / 1e9, verified: report.verified, hash_seconds: report.hashSeconds,
    rss_bytes: process.memoryUsage().rss}
  const info = modelInfo(source, model, o.synthetic)

  const tests: BenchTest[] = []
  const kernels: KernelRate[] = []
  const ops: OpLatency[] = []
  try {
    for (const threads of threadCounts) {
      const m = threads === threadCounts[0] ? model
        : new Transformer(model.config, model.weights, model.state, await createFastMatmul(model.weights, model.state, {threads, relaxedSimd: model.matmul.kernels === 'relaxed'}))
      try {
        const record = (test: 'pp' | 'tg', n: number, depth: number, samplesMs: number[]): void => {
          tests.push(testRecord(info, m, test, n, depth, samplesMs, readAt(threads)))
        }
        const vocab = m.config.vocab
        m.forward(randomTokens(Math.min(8, m.maxBatch), vocab, 7), 0) // warm-up: JIT tiers and first-use costs
        if (maxDepth > 0 && threads === threadCounts[0]) {
          // The cache filled once, not timed, for every depth and thread count: a test at depth d
          // rewrites slots d.., which hold the model's keys and values of other tokens for later tests.
          stage(`filling the KV cache to depth ${maxDepth}`)
          const fill = randomTokens(maxDepth, vocab, 11)
          for (let pos = 0; pos < maxDepth; pos += m.maxBatch) m.forward(fill.slice(pos, pos + m.maxBatch), pos)
        }
        for (const depth of depths) {
          const at = depth > 0 ? ` @ d${depth}` : ''
          if (o.nPrompt > 0) {
            const tokens = randomTokens(o.nPrompt, vocab)
            record('pp', o.nPrompt, depth, await repeat(o.iterations, `pp${o.nPrompt}${at} @ ${threads} thread(s)`, stage, () => {
              for (let pos = 0; pos < tokens.length; pos += m.maxBatch) m.forward(tokens.slice(pos, pos + m.maxBatch), depth + pos)
            }))
          }
          if (o.nGen > 0) {
            const tokens = randomTokens(o.nGen, vocab, 3)
            const one = [0]
            record('tg', o.nGen, depth, await repeat(o.iterations, `tg${o.nGen}${at} @ ${threads} thread(s)`, stage, () => {
              for (let i = 0; i < tokens.length; i++) {
                one[0] = tokens[i]
                m.forward(one, depth + i)
              }
            }))
          }
        }
        if (o.micro ?? true) {
          stage(`kernels and op latencies @ ${threads} thread(s)`)
          kernels.push(...kernelRates(m, readAt(threads)))
          ops.push(...opLatencies(m, ctx - 1))
        }
      } finally {
        if (m !== model) await m.close()
      }
    }
    stage('frames and sha256')
    const micro = o.micro ?? true
    const frames = micro ? await frameRates(model, source.tensors, Math.max(1, Math.min(o.nPrompt, model.maxBatch))) : []
    const sha256 = micro ? sha256Rate(model) : {bytes: 0, gbps: 0}
    const kvBytes = RunState.kvCacheBytes(model.config, ctx)
    const peak = process.resourceUsage().maxRSS * 1024
    const limit = (info.size_bytes + kvBytes) * (1 + RSS_HEADROOM)
    const memory = {peak_rss_bytes: peak, model_bytes: info.size_bytes, kv_cache_bytes: kvBytes, limit_bytes: limit, met: peak <= limit}
    const targets = [
      ...tests.filter((t) => t.target !== null && t.ratio !== null).map((t) => ({
        name: `${t.test} @ ${t.n_threads} threads >= ${t.target?.target}x llama.cpp`, value: t.ratio ?? 0, target: t.target?.target ?? 0, met: t.target?.met ?? false,
      })),
      {name: `peak RSS <= (model + KV cache) x ${1 + RSS_HEADROOM} (bytes)`, value: peak, target: limit, met: memory.met},
    ]
    return {
      tool: {name: 'llmfrag', version: o.version, node: process.version},
      machine: {cpus: cpus().length, cpu_model: cpus()[0]?.model ?? 'unknown', total_memory_bytes: totalmem()},
      model: info, iterations: o.iterations, memory_read: memoryRead as MemoryReadRate[], load, tests, kernels, ops, frames, sha256, memory, targets,
    }
  } finally {
    await model.close()
  }
}

/** Runs fn `n` times, yielding to the event loop between runs (Ctrl-C, progress); returns each run's ms. */
async function repeat(n: number, label: string, stage: (s: string) => void, fn: () => void): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    stage(`${label} ${i + 1}/${n}`)
    await new Promise((resolve) => setImmediate(resolve))
    const t0 = performance.now()
    fn()
    out.push(performance.now() - t0)
  }
  return out
}

function testRecord(info: BenchModelInfo, m: Transformer, test: 'pp' | 'tg', n: number, depth: number, samplesMs: number[], readGbps: number): BenchTest {
  const threads = m.matmul.threads
  const samplesTs = samplesMs.map((ms) => (n * 1000) / ms)
  const avgTs = mean(samplesTs)
  const anchor = depth === 0 ? anchorFor(info.profile, test, threads) : undefined // the anchors are from an empty cache
  const ratio = anchor ? avgTs / anchor.tokensPerSecond : null
  const weightsGbps = (info.size_bytes * avgTs) / 1e9
  return {
    model_filename: info.path, model_type: info.type, model_size: info.size_bytes, model_n_params: info.params,
    n_batch: m.maxBatch, n_threads: threads, n_prompt: test === 'pp' ? n : 0, n_gen: test === 'tg' ? n : 0, n_depth: depth,
    test_time: new Date().toISOString(),
    avg_ns: mean(samplesMs) * 1e6, stddev_ns: stddev(samplesMs) * 1e6, avg_ts: avgTs, stddev_ts: stddev(samplesTs),
    samples_ns: samplesMs.map((ms) => Math.round(ms * 1e6)), samples_ts: samplesTs,
    test: `${test}${n}${depth > 0 ? ` @ d${depth}` : ''}`, kernels: m.matmul.kernels, ms_per_token: 1000 / avgTs, weights_gbps: weightsGbps,
    bandwidth_fraction: test === 'tg' && readGbps > 0 ? weightsGbps / readGbps : null,
    llama_cpp: anchor ? {test: `${anchor.test}${anchor.n}`, n_threads: anchor.threads, avg_ts: anchor.tokensPerSecond} : null,
    ratio,
    target: anchor && ratio !== null && threads === TARGET_THREADS ? {target: TARGET_RATIO[test], met: ratio >= TARGET_RATIO[test]} : null,
  }
}
