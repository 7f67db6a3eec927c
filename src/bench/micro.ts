/**
 * Bench's micro-measurements on a loaded model: the matrix-vector product per weight type (GB/s of
 * weights, on the model's own largest matrix of that type, through the same Matmul and thread pool
 * as generation), the latencies of one decoding step's other operations, a hidden state through
 * the tensor frames (DESIGN section 11) and back, and sha256 over resident weights.
 */
import {createHash} from 'node:crypto'

import {decodeFrame, encodeFrame, type Codec} from '../frames/frame.js'
import {modelFingerprint} from '../frames/fingerprint.js'
import {GGMLType, ggmlTypeName} from '../gguf/ggml-types.js'
import {rmsnorm, rope, ropeAngles, swiglu} from '../model/ops.js'
import type {Transformer} from '../model/transformer.js'
import type {WeightTensor} from '../model/weights.js'
import type {SourceTensor} from '../source/model-source.js'
import {median, sampleMs} from './timing.js'
import type {FrameRate, KernelRate, OpLatency} from './types.js'

/** A state buffer of at least n floats to use as scratch input or output. */
function scratchOf(m: Transformer, n: number, not?: Float32Array): Float32Array {
  const s = m.state
  const found = [s.hb, s.hb2, s.logits, s.xb, s.q].find((b) => b.length >= n && b !== not)
  if (!found) throw new RangeError(`no run-state buffer holds ${n} floats`)
  return found
}

function matrices(m: Transformer): WeightTensor[] {
  const w = m.weights
  return [...w.layers.flatMap((l) => [l.wq, l.wk, l.wv, l.wo, l.gate, l.up, l.down]), w.output]
}

/** One matrix-vector product per weight type the model has, on its largest matrix of that type. */
export function kernelRates(m: Transformer, readGbps: number): KernelRate[] {
  const largest = new Map<GGMLType, WeightTensor>()
  for (const w of matrices(m)) {
    const have = largest.get(w.type)
    if (!have || w.rows * w.rowBytes > have.rows * have.rowBytes) largest.set(w.type, w)
  }
  return [...largest.values()].map((w) => {
    const out = scratchOf(m, w.rows)
    const x = scratchOf(m, w.cols, out)
    for (let i = 0; i < w.cols; i++) x[i] = Math.sin(i * 0.37)
    const bytes = w.rows * w.rowBytes
    const best = Math.min(...sampleMs(() => m.matmul.run([w], x, [out], 1), 300, 5))
    const gbps = bytes / best / 1e6
    return {type: ggmlTypeName(w.type), tensor: w.name, rows: w.rows, cols: w.cols, bytes, threads: m.matmul.threads, gbps,
      bandwidth_fraction: readGbps > 0 ? gbps / readGbps : 0}
  })
}

/**
 * Median latency of each operation of one decoding step at position `pos` (layer 0's matrices;
 * attention over pos + 1 cached positions).
 */
export function opLatencies(m: Transformer, pos: number): OpLatency[] {
  const c = m.config
  const s = m.state
  const L = m.weights.layers[0]
  const threads = m.matmul.threads
  const out: OpLatency[] = []
  const time = (op: string, shape: string, fn: () => void): void => {
    out.push({op, shape, threads, us: median(sampleMs(fn, 100, 5)) * 1000})
  }
  const mm = m.matmul
  const e = m.weights.tokenEmbd
  time('embedding row (dequantize)', `${ggmlTypeName(e.type)} ${c.dim}`, () => e.kernel.dequantizeRow(e.data, 0, c.dim, s.x, 0))
  time('rmsnorm', `${c.dim}`, () => rmsnorm(s.xb, 0, s.x, 0, L.attnNorm, c.dim, c.normEps))
  time('matmul q, k, v (one job)', `${c.dim} -> ${c.qDim} + ${c.kvDim} + ${c.kvDimV}`, () => mm.run([L.wq, L.wk, L.wv], s.xb, [s.q, s.k, s.v], 1))
  time('rope angles + q, k', `${c.heads} + ${c.kvHeads} heads x ${c.ropeDims}`, () => {
    ropeAngles(pos, c.ropeBase, c.ropeDims, c.ropeScale, s.ropeCos, s.ropeSin, 0)
    rope(s.q, 0, c.heads, c.headDim, c.ropeDims, s.ropeCos, s.ropeSin, 0)
    rope(s.k, 0, c.kvHeads, c.headDim, c.ropeDims, s.ropeCos, s.ropeSin, 0)
  })
  time('attention', `${c.heads} heads over ${pos + 1} positions`, () => mm.attention(0, 1, pos))
  time('matmul attn_output', `${c.attnOutDim} -> ${c.dim}`, () => mm.run([L.wo], s.attOut, [s.xb], 1))
  time('matmul gate, up (one job)', `${c.dim} -> 2 x ${c.ffnHidden}`, () => mm.run([L.gate, L.up], s.xb, [s.hb, s.hb2], 1))
  time('swiglu', `${c.ffnHidden}`, () => swiglu(s.hb, s.hb2, c.ffnHidden))
  time('gate, up and swiglu (one gated job)', `${c.dim} -> ${c.ffnHidden}`, () => mm.glu(L.gate, L.up, s.xb, s.hb, s.hb2, 1))
  time('matmul ffn_down', `${c.ffnHidden} -> ${c.dim}`, () => mm.run([L.down], s.hb, [s.xb], 1))
  time('matmul output (logits)', `${c.dim} -> ${c.vocab}`, () => mm.run([m.weights.output], s.xb, [s.logits], 1))
  return out
}

/**
 * A hidden state (dim x positions float32, taken from the residual stream) encoded into a tensor
 * frame for this model and decoded back, with each codec.
 */
export async function frameRates(m: Transformer, tensors: readonly SourceTensor[], positions: number): Promise<FrameRate[]> {
  const c = m.config
  const n = Math.max(1, Math.min(positions, m.state.maxBatch))
  const data = new Uint8Array(n * c.dim * 4)
  data.set(new Uint8Array(m.state.x.buffer, m.state.x.byteOffset, data.byteLength))
  const model = {architecture: c.profile === 'llama-family (custom)' ? c.architecture : c.profile, fingerprint: modelFingerprint(tensors)}
  const tensor = {name: 'hidden_state', dtype: GGMLType.F32, dims: [c.dim, n], data}
  const rates: FrameRate[] = []
  for (const codec of ['raw', 'zstd'] as Codec[]) {
    let frame = await encodeFrame(tensor, model, codec)
    const enc: number[] = []
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now()
      frame = await encodeFrame(tensor, model, codec)
      enc.push(performance.now() - t0)
    }
    const dec = sampleMs(() => decodeFrame(frame, model), 100, 3)
    const encodeMs = median(enc)
    const decodeMs = median(dec)
    rates.push({codec, shape: [c.dim, n], tensor_bytes: data.byteLength, frame_bytes: frame.byteLength, encode_ms: encodeMs, decode_ms: decodeMs,
      encode_gbps: data.byteLength / encodeMs / 1e6, decode_gbps: data.byteLength / decodeMs / 1e6})
  }
  return rates
}

/** sha256 (node:crypto, one thread, 16 MiB updates) over up to 256 MiB of the resident weights. */
export function sha256Rate(m: Transformer): {bytes: number; gbps: number} {
  const mem = m.weights.arena.memories[0]
  const bytes = Math.min(256 << 20, mem.buffer.byteLength)
  const view = new Uint8Array(mem.buffer, 0, bytes)
  const step = 16 << 20
  const best = Math.min(...sampleMs(() => {
    const h = createHash('sha256')
    for (let at = 0; at < bytes; at += step) h.update(view.subarray(at, Math.min(bytes, at + step)))
    h.digest()
  }, 300, 2))
  return {bytes, gbps: bytes / best / 1e6}
}
