/**
 * Llama-family architecture detection (DESIGN section 6). Hyper-parameters are read from metadata
 * under the `general.architecture` prefix (`llama.*`, or `mistral3.*` in newer Magistral
 * conversions), checked against the tensor shapes, and matched against the PROFILES table; a model
 * that matches no row is `llama-family (custom)` and still runs. `expectedTensorShapes` is the one
 * statement of a llama-family model's tensors, shared by verify and the engine's loader.
 */
import {LlmfragError} from '../errors.js'
import {describeProblem, formatShape, type Problem} from '../fragments/problems.js'
import {Metadata} from '../gguf/metadata.js'
import type {GGUFKV} from '../gguf/types.js'
import {type ArchitectureProfile, PROFILES} from './profiles.js'

/** `general.architecture` values whose tensors follow llama.cpp's `llama` graph. */
export const LLAMA_FAMILY: readonly string[] = ['llama', 'mistral3']
export const CUSTOM_PROFILE = 'llama-family (custom)'

/** Hyper-parameters of a llama-family model, as llama.cpp's `llm_load_hparams` reads them. */
export interface LlamaDims {
  readonly dim: number // embedding_length
  readonly ffnHidden: number // feed_forward_length
  readonly layers: number // block_count
  readonly heads: number // attention.head_count
  readonly kvHeads: number // attention.head_count_kv (default: heads)
  readonly headDim: number // attention.key_length (default: dim / heads)
  readonly valueDim: number // attention.value_length (default: headDim)
  readonly vocab: number // vocab_size, else the tokenizer's token count, else token_embd's rows
  readonly contextLength: number // context_length
  readonly ropeBase: number // rope.freq_base (default 10000)
  readonly ropeDim: number // rope.dimension_count (default: headDim)
  readonly rmsEps: number // attention.layer_norm_rms_epsilon
}

/** The structural fields a profile must match (rope base changes no shape, so it is not one). */
const MATCHED: ReadonlyArray<[keyof LlamaDims & keyof ArchitectureProfile, string]> = [
  ['dim', 'dim'], ['ffnHidden', 'ffn hidden'], ['layers', 'layers'], ['heads', 'heads'],
  ['kvHeads', 'kv heads'], ['headDim', 'head dim'], ['vocab', 'vocab'],
]

export interface Detection {
  /** The value of `general.architecture` (the metadata prefix). */
  readonly architecture: string
  /** The matching profile, or undefined for a custom llama-family model. */
  readonly profile: ArchitectureProfile | undefined
  /** Profile name, or `llama-family (custom)`. */
  readonly name: string
  readonly dims: LlamaDims
  /** No `output.weight`: the output projection reuses `token_embd.weight`. */
  readonly tiedOutput: boolean
  /** For a custom model: the closest profile and how this model differs from it. */
  readonly nearest?: {readonly profile: string; readonly differences: readonly string[]}
}

export interface TensorShape {
  readonly name: string
  readonly dims: readonly number[]
  /** The fragment file holding the tensor, named in problems when known. */
  readonly fragment?: string
}

export interface ArchitectureAnalysis {
  /** Undefined when the metadata does not describe a llama-family model. */
  readonly detection: Detection | undefined
  /** Missing or inconsistent hyper-parameters, unsupported architecture. */
  readonly metadataProblems: readonly Problem[]
  /** Tensors missing, unexpected, or of the wrong shape for the hyper-parameters. */
  readonly shapeProblems: readonly Problem[]
}

/**
 * Every tensor of a llama-family model and its shape in ggml order (dims[0] is the row length):
 * `token_embd` [dim, vocab]; per block `attn_norm`/`ffn_norm` [dim], `attn_q` [dim, heads*headDim],
 * `attn_k` [dim, kvHeads*headDim], `attn_v` [dim, kvHeads*valueDim], `attn_output`
 * [heads*valueDim, dim], `ffn_gate`/`ffn_up` [dim, ffn], `ffn_down` [ffn, dim]; `output_norm` [dim];
 * `output` [dim, vocab] unless tied. Order as llama.cpp's loader creates them.
 */
export function expectedTensorShapes(d: LlamaDims, tiedOutput: boolean): Map<string, readonly number[]> {
  const m = new Map<string, readonly number[]>()
  m.set('token_embd.weight', [d.dim, d.vocab])
  m.set('output_norm.weight', [d.dim])
  if (!tiedOutput) m.set('output.weight', [d.dim, d.vocab])
  for (let i = 0; i < d.layers; i++) {
    const b = `blk.${i}.`
    m.set(`${b}attn_norm.weight`, [d.dim])
    m.set(`${b}attn_q.weight`, [d.dim, d.heads * d.headDim])
    m.set(`${b}attn_k.weight`, [d.dim, d.kvHeads * d.headDim])
    m.set(`${b}attn_v.weight`, [d.dim, d.kvHeads * d.valueDim])
    m.set(`${b}attn_output.weight`, [d.heads * d.valueDim, d.dim])
    m.set(`${b}ffn_norm.weight`, [d.dim])
    m.set(`${b}ffn_gate.weight`, [d.dim, d.ffnHidden])
    m.set(`${b}ffn_down.weight`, [d.ffnHidden, d.dim])
    m.set(`${b}ffn_up.weight`, [d.dim, d.ffnHidden])
  }
  return m
}

/** Reads the hyper-parameters under `prefix`; a missing or malformed key becomes a problem. */
export function readLlamaDims(
  kv: readonly GGUFKV[], tensors: readonly TensorShape[], prefix: string,
): {dims: LlamaDims | undefined; problems: Problem[]} {
  const meta = new Metadata('model', kv)
  const problems: Problem[] = []
  const num = (key: string, fallback?: number): number => {
    const field = `${prefix}.${key}`
    try {
      const v = meta.optNumber(field)
      if (v !== undefined) {
        if (Number.isFinite(v) && v > 0) return v
        problems.push({code: 'metadata', field, expected: 'a positive number', actual: v})
        return Number.NaN
      }
    } catch {
      problems.push({code: 'metadata', field, expected: 'a number', actual: String(meta.raw(field))})
      return Number.NaN
    }
    if (fallback !== undefined) return fallback
    problems.push({code: 'metadata', field, expected: 'a number', actual: 'missing'})
    return Number.NaN
  }
  const dim = num('embedding_length')
  const ffnHidden = num('feed_forward_length')
  const layers = num('block_count')
  const heads = num('attention.head_count')
  const kvHeads = num('attention.head_count_kv', heads)
  const contextLength = num('context_length')
  const rmsEps = num('attention.layer_norm_rms_epsilon')
  const ropeBase = num('rope.freq_base', 10000)
  let headDim = num('attention.key_length', 0)
  if (headDim === 0) {
    headDim = dim / heads
    if (Number.isFinite(headDim) && !Number.isInteger(headDim)) {
      problems.push({code: 'metadata', field: `${prefix}.attention.key_length`, expected: `a value (embedding_length ${dim} is not a multiple of head_count ${heads})`, actual: 'missing'})
    }
  }
  const valueDim = num('attention.value_length', headDim)
  const ropeDim = num('rope.dimension_count', headDim)
  if (heads % kvHeads !== 0) {
    problems.push({code: 'metadata', field: `${prefix}.attention.head_count_kv`, expected: `a divisor of head_count ${heads}`, actual: kvHeads})
  }
  const vocab = readVocab(meta, tensors, prefix, problems)
  if (problems.length > 0) return {dims: undefined, problems}
  return {dims: {dim, ffnHidden, layers, heads, kvHeads, headDim, valueDim, vocab, contextLength, ropeBase, ropeDim, rmsEps}, problems}
}

/** `vocab_size` if present, else the tokenizer's token count, else token_embd's row count; they must agree. */
function readVocab(meta: Metadata, tensors: readonly TensorShape[], prefix: string, problems: Problem[]): number {
  const field = `${prefix}.vocab_size`
  let fromKey: number | undefined
  try {
    fromKey = meta.optNumber(field)
  } catch {
    problems.push({code: 'metadata', field, expected: 'a number', actual: String(meta.raw(field))})
  }
  const tokens = meta.optArray('tokenizer.ggml.tokens')?.items.length
  if (fromKey !== undefined && tokens !== undefined && fromKey !== tokens) {
    problems.push({code: 'metadata', field, expected: `${tokens} (the length of tokenizer.ggml.tokens)`, actual: fromKey})
  }
  const vocab = fromKey ?? tokens ?? tensors.find((t) => t.name === 'token_embd.weight')?.dims[1]
  if (vocab === undefined) problems.push({code: 'metadata', field, expected: 'a vocabulary size (key, tokenizer.ggml.tokens or token_embd.weight)', actual: 'missing'})
  return vocab ?? Number.NaN
}

/** The profile whose structural dims all equal these, if any. */
export function matchProfile(d: LlamaDims): ArchitectureProfile | undefined {
  return PROFILES.find((p) => MATCHED.every(([k]) => p[k] === d[k]))
}

/** The profile with the fewest differing structural dims, and the differences in words. */
function nearestProfile(d: LlamaDims): {profile: string; differences: string[]} | undefined {
  let best: {profile: string; differences: string[]} | undefined
  for (const p of PROFILES) {
    const differences = MATCHED.filter(([k]) => p[k] !== d[k]).map(([k, label]) => `${label} ${d[k]} (${p.name}: ${p[k]})`)
    if (!best || differences.length < best.differences.length) best = {profile: p.name, differences}
  }
  return best
}

/** Compares every tensor's shape with `expectedTensorShapes`: wrong shapes, missing and unexpected tensors. */
export function checkTensorShapes(d: LlamaDims, tensors: readonly TensorShape[]): Problem[] {
  const tiedOutput = !tensors.some((t) => t.name === 'output.weight')
  const expected = expectedTensorShapes(d, tiedOutput)
  const problems: Problem[] = []
  const seen = new Set<string>()
  for (const t of tensors) {
    seen.add(t.name)
    const want = expected.get(t.name)
    const at = t.fragment === undefined ? {} : {fragment: t.fragment}
    if (want === undefined) {
      problems.push({code: 'tensor_unexpected', tensor: t.name, ...at, expected: 'no such tensor', actual: formatShape(t.dims)})
    } else if (!sameShape(want, t.dims)) {
      problems.push({code: 'shape', tensor: t.name, ...at, expected: formatShape(want), actual: formatShape(t.dims)})
    }
  }
  for (const [name, shape] of expected) {
    if (!seen.has(name)) problems.push({code: 'tensor_missing', tensor: name, expected: formatShape(shape), actual: 'missing'})
  }
  return problems
}

/** ggml drops trailing 1s of a shape in some writers: [dim] and [dim, 1] are the same tensor. */
function sameShape(a: readonly number[], b: readonly number[]): boolean {
  const n = Math.max(a.length, b.length)
  for (let i = 0; i < n; i++) if ((a[i] ?? 1) !== (b[i] ?? 1)) return false
  return true
}

/** Detection with its problems as data, for verify and inspect (which report rather than throw). */
export function analyzeArchitecture(kv: readonly GGUFKV[], tensors: readonly TensorShape[]): ArchitectureAnalysis {
  const archKV = kv.find((e) => e.key === 'general.architecture')
  const architecture = typeof archKV?.value === 'string' ? archKV.value : undefined
  if (architecture === undefined || !LLAMA_FAMILY.includes(architecture)) {
    return {
      detection: undefined,
      metadataProblems: [{code: 'architecture_unsupported', field: 'general.architecture', expected: LLAMA_FAMILY.join(' or '), actual: architecture ?? 'missing'}],
      shapeProblems: [],
    }
  }
  const {dims, problems} = readLlamaDims(kv, tensors, architecture)
  if (!dims) return {detection: undefined, metadataProblems: problems, shapeProblems: []}
  const profile = matchProfile(dims)
  const detection: Detection = {
    architecture,
    profile,
    name: profile?.name ?? CUSTOM_PROFILE,
    dims,
    tiedOutput: !tensors.some((t) => t.name === 'output.weight'),
    ...(profile ? {} : {nearest: nearestProfile(dims)}),
  }
  return {detection, metadataProblems: [], shapeProblems: checkTensorShapes(dims, tensors)}
}

/**
 * Detects the architecture of a model header for code that needs a usable model (the engine, split's
 * manifest): throws UNSUPPORTED naming the first problems when metadata or shapes do not fit.
 */
export function detectArchitecture(header: {readonly kv: readonly GGUFKV[]; readonly tensors: readonly TensorShape[]}, file = 'model'): Detection {
  const a = analyzeArchitecture(header.kv, header.tensors)
  const problems = [...a.metadataProblems, ...a.shapeProblems]
  if (a.detection && problems.length === 0) return a.detection
  const first = problems.slice(0, 5).map(describeProblem).join('; ')
  throw new LlmfragError('UNSUPPORTED', `${file}: not a usable llama-family model: ${first}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}`, {
    hints: ['run `llmfrag inspect` on the file to see its metadata and tensors', 'supported: general.architecture llama or mistral3 with the standard llama tensor names'],
    details: {file, problems},
  })
}

/** `dim 5120, hidden 32768, 40 layers`: the dims shown beside a detected architecture. */
export function summarizeDims(d: LlamaDims): string {
  return `dim ${d.dim}, hidden ${d.ffnHidden}, ${d.layers} layers`
}
