/**
 * The result of `llmfrag bench`: what `--json` prints and `--output` writes, validated by
 * schemas/bench.schema.json. `tests` holds one record per (threads, test) with llama-bench's field
 * names (model_filename, model_type, model_size, model_n_params, n_batch, n_threads, n_prompt,
 * n_gen, test_time, avg_ns, stddev_ns, avg_ts, stddev_ts, samples_ns, samples_ts) and ours beside
 * them. Sizes are bytes, rates GB/s (1e9 bytes) or tokens/s, times as named.
 */
import type {KernelsInUse} from '../model/matmul.js'

export interface BenchModelInfo {
  readonly path: string
  readonly kind: 'gguf' | 'fragments'
  readonly architecture: string // general.architecture
  readonly profile: string // detected profile or `llama-family (custom)`
  readonly type: string // llama-bench's model_type, e.g. `mistral_7b Q4_K_M`
  readonly size_bytes: number // tensor data
  readonly params: number
  readonly layers: number
  readonly synthetic: boolean // made by `llmfrag synth` (bench --synthetic, or general.name synth-*)
}

export interface MemoryReadRate {
  readonly threads: number
  readonly gbps: number // a plain sequential scan (memchr) over a buffer larger than the caches
}

export interface BenchLoad {
  readonly seconds: number
  readonly gbps: number // tensor bytes placed per second
  readonly verified: boolean // fragment sha256 checked while loading
  readonly hash_seconds: number // of hashing (on worker threads), 0 when not verified
  readonly rss_bytes: number // resident memory right after loading
}

export interface TargetCheck {
  readonly target: number // the ratio (or limit) to reach
  readonly met: boolean
}

export interface BenchTest {
  // llama-bench fields
  readonly model_filename: string
  readonly model_type: string
  readonly model_size: number
  readonly model_n_params: number
  readonly n_batch: number
  readonly n_threads: number
  readonly n_prompt: number
  readonly n_gen: number
  /** Cache positions filled before the test (llama-bench -d): the test runs from position n_depth. */
  readonly n_depth: number
  readonly test_time: string // ISO 8601
  readonly avg_ns: number
  readonly stddev_ns: number
  readonly avg_ts: number
  readonly stddev_ts: number
  readonly samples_ns: number[]
  readonly samples_ts: number[]
  // ours
  readonly test: string // `pp512`, `tg128`, `tg128 @ d1024` (llama-bench's names)
  readonly kernels: KernelsInUse
  readonly ms_per_token: number
  /** Weight bytes read per second (tg: model size x t/s; pp: the same per position, though a batch reads them once). */
  readonly weights_gbps: number
  /** weights_gbps over the memory-read rate at this thread count (tg only: decoding is bandwidth-bound at best). */
  readonly bandwidth_fraction: number | null
  readonly llama_cpp: {readonly test: string; readonly n_threads: number; readonly avg_ts: number} | null
  readonly ratio: number | null // avg_ts / llama.cpp's
  readonly target: TargetCheck | null // only at the thread count the goal names
}

export interface KernelRate {
  readonly type: string // weight type, e.g. Q4_K
  readonly tensor: string // the model's matrix used
  readonly rows: number
  readonly cols: number
  readonly bytes: number
  readonly threads: number
  readonly gbps: number // weight bytes per second of one matrix-vector product (8-bit activations)
  readonly bandwidth_fraction: number
}

export interface OpLatency {
  readonly op: string
  readonly shape: string
  readonly threads: number
  readonly us: number // median over repetitions
}

export interface FrameRate {
  readonly codec: 'raw' | 'zstd'
  readonly shape: number[] // ggml order: [dim, positions]
  readonly tensor_bytes: number
  readonly frame_bytes: number
  readonly encode_ms: number
  readonly decode_ms: number
  readonly encode_gbps: number
  readonly decode_gbps: number
}

export interface BenchMemory {
  readonly peak_rss_bytes: number
  readonly model_bytes: number
  readonly kv_cache_bytes: number
  readonly limit_bytes: number // (model + KV cache) x (1 + RSS_HEADROOM)
  readonly met: boolean
}

export interface BenchResult {
  readonly tool: {readonly name: 'llmfrag'; readonly version: string; readonly node: string}
  readonly machine: {readonly cpus: number; readonly cpu_model: string; readonly total_memory_bytes: number}
  readonly model: BenchModelInfo
  readonly iterations: number
  readonly memory_read: readonly MemoryReadRate[]
  readonly load: BenchLoad
  readonly tests: readonly BenchTest[]
  readonly kernels: readonly KernelRate[]
  readonly ops: readonly OpLatency[]
  readonly frames: readonly FrameRate[]
  readonly sha256: {readonly bytes: number; readonly gbps: number}
  readonly memory: BenchMemory
  /** Every target in one list: `tg32 @ 2 threads >= 0.7x llama.cpp`, `peak RSS <= model + KV + 10%`. */
  readonly targets: ReadonlyArray<{readonly name: string; readonly value: number; readonly target: number; readonly met: boolean}>
}
