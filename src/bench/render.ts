/**
 * The human report of a bench result: llama-bench's markdown table (model | size | params |
 * threads | test | t/s) with llama.cpp's figure, the ratio and the target beside each row, then
 * the micro-measurements and the memory check. Returns lines; the command prints them.
 */
import {KERNEL_LABELS} from '../model/matmul.js'
import {RSS_HEADROOM} from './targets.js'
import type {BenchResult} from './types.js'

const GiB = 1024 ** 3
const OK = '✅'
const FAIL = '❌'

function table(header: readonly string[], align: readonly ('l' | 'r')[], rows: readonly string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => (align[i] === 'r' ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`
  const rule = `| ${widths.map((w, i) => (align[i] === 'r' ? '-'.repeat(w - 1) + ':' : '-'.repeat(w))).join(' | ')} |`
  return [line(header), rule, ...rows.map(line)]
}

const gib = (b: number): string => `${(b / GiB).toFixed(2)} GiB`
const fixed = (v: number, d = 2): string => v.toFixed(d)

export function renderBench(r: BenchResult): string[] {
  const m = r.model
  const out: string[] = []
  out.push(`model: ${m.path} (${m.type}${m.synthetic ? ', synthetic' : ''}; ${m.kind}; ${gib(m.size_bytes)}, ${fixed(m.params / 1e9)} B params, ${m.layers} layers)`)
  out.push(`machine: ${r.machine.cpus} cpus (${r.machine.cpu_model}), ${gib(r.machine.total_memory_bytes)}; Node ${r.tool.node}; llmfrag ${r.tool.version}`)
  out.push(`memory read (sequential scan over 256 MiB): ${r.memory_read.map((x) => `${x.threads} thread${x.threads > 1 ? 's' : ''} ${fixed(x.gbps, 1)} GB/s`).join(', ')}`)
  const l = r.load
  out.push(`load: ${fixed(l.seconds)} s (${fixed(l.gbps)} GB/s), ${l.verified ? `fragment sha256 verified while loading (${fixed(l.hash_seconds)} s of hashing on worker threads)` : 'no checksums verified'}, RSS after load ${gib(l.rss_bytes)}`)
  if (r.tests.length > 0) out.push(`kernels: ${KERNEL_LABELS[r.tests[0].kernels]}`)
  out.push('')
  out.push(...table(
    ['model', 'size', 'params', 'threads', 'test', 't/s', 'ms/token', 'weights GB/s', 'llama.cpp t/s', 'ratio', 'target'],
    ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
    r.tests.map((t) => [
      t.model_type, gib(t.model_size), `${fixed(t.model_n_params / 1e9)} B`, String(t.n_threads), t.test,
      `${fixed(t.avg_ts)} ± ${fixed(t.stddev_ts)}`, fixed(t.ms_per_token, 1),
      t.bandwidth_fraction === null ? fixed(t.weights_gbps, 1) : `${fixed(t.weights_gbps, 1)} (${Math.round(t.bandwidth_fraction * 100)}% of read)`,
      t.llama_cpp ? `${fixed(t.llama_cpp.avg_ts)} (${t.llama_cpp.test})` : '-',
      t.ratio === null ? '-' : `${fixed(t.ratio)}x`,
      t.target ? `>= ${t.target.target}x ${t.target.met ? OK : FAIL}` : t.llama_cpp ? '(goal is at 2 threads)' : '-',
    ]),
  ))
  if (r.kernels.length > 0) {
    out.push('', 'kernels: one matrix-vector product, 8-bit activations (GB/s of weights)')
    out.push(...table(['type', 'tensor', 'rows x cols', 'MB', 'threads', 'GB/s', 'of read rate'], ['l', 'l', 'r', 'r', 'r', 'r', 'r'],
      r.kernels.map((k) => [k.type, k.tensor, `${k.rows} x ${k.cols}`, fixed(k.bytes / 1e6, 1), String(k.threads), fixed(k.gbps), `${Math.round(k.bandwidth_fraction * 100)}%`])))
  }
  if (r.ops.length > 0) {
    out.push('', 'tensor ops: one decoding step (median µs)')
    out.push(...table(['op', 'shape', 'threads', 'µs'], ['l', 'l', 'r', 'r'], r.ops.map((o) => [o.op, o.shape, String(o.threads), fixed(o.us, 1)])))
  }
  for (const f of r.frames) {
    out.push(`${f === r.frames[0] ? '\n' : ''}hidden state frame [${f.shape.join(', ')}] f32, ${fixed(f.tensor_bytes / 1024 ** 2)} MiB, ${f.codec}: ${fixed(f.frame_bytes / 1024 ** 2)} MiB framed; encode ${fixed(f.encode_ms)} ms (${fixed(f.encode_gbps)} GB/s), decode ${fixed(f.decode_ms)} ms (${fixed(f.decode_gbps)} GB/s)`)
  }
  if (r.sha256.bytes > 0) out.push(`sha256: ${fixed(r.sha256.gbps)} GB/s (one thread, ${fixed(r.sha256.bytes / 1024 ** 2, 0)} MiB of resident weights)`)
  const mem = r.memory
  out.push('', `peak RSS ${gib(mem.peak_rss_bytes)}; limit (model ${gib(mem.model_bytes)} + KV cache ${gib(mem.kv_cache_bytes)}) x ${1 + RSS_HEADROOM} = ${gib(mem.limit_bytes)} ${mem.met ? OK : FAIL}`)
  const met = r.targets.filter((t) => t.met).length
  out.push(`targets: ${met} of ${r.targets.length} met${r.targets.length > met ? ` (missed: ${r.targets.filter((t) => !t.met).map((t) => t.name).join('; ')})` : ''}`)
  return out
}
