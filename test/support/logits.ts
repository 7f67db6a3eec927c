/**
 * Logits comparison for the conformance tests, shared by the float32 path and the 8-bit path:
 * the fixtures' float32 LE [n_pos, n_vocab] files, per-position max abs / RMS / cosine, and the
 * whole-sequence RMS that the fixtures' `llama_cpp_vs_exact.rms_diff` uses. Also reads a fixture
 * folder's sequences and sidecars (test/fixtures/README.md).
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures')

/** A float32 little-endian logits file, row-major (n_pos, n_vocab). */
export function readLogits(path: string): Float32Array {
  const b = readFileSync(path)
  const out = new Float32Array(b.byteLength / 4)
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength)
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true)
  return out
}

export interface PositionStats {
  readonly maxAbs: number // max |a - b| over the vocabulary
  readonly rms: number // sqrt(mean((a - b)^2))
  readonly cosine: number // a.b / (|a| |b|)
  readonly argmaxA: number
  readonly argmaxB: number
}

/** Statistics of a against b for each of the n = a.length / vocab positions (computed in float64). */
export function comparePositions(a: Float32Array, b: Float32Array, vocab: number): PositionStats[] {
  if (a.length !== b.length || a.length % vocab !== 0) throw new Error(`logits of ${a.length} and ${b.length} values do not both hold whole rows of ${vocab}`)
  const out: PositionStats[] = []
  for (let p = 0; p < a.length / vocab; p++) {
    let maxAbs = 0, ss = 0, ab = 0, aa = 0, bb = 0, argmaxA = 0, argmaxB = 0
    const o = p * vocab
    for (let i = 0; i < vocab; i++) {
      const x = a[o + i], y = b[o + i], d = x - y
      if (Math.abs(d) > maxAbs) maxAbs = Math.abs(d)
      ss += d * d
      ab += x * y
      aa += x * x
      bb += y * y
      if (x > a[o + argmaxA]) argmaxA = i
      if (y > b[o + argmaxB]) argmaxB = i
    }
    out.push({maxAbs, rms: Math.sqrt(ss / vocab), cosine: ab / Math.sqrt(aa * bb), argmaxA, argmaxB})
  }
  return out
}

/** Max |a - b| over all values. */
export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]))
  return m
}

/** RMS of a - b over all values of all positions (the fixtures' `rms_diff`). */
export function rmsDiff(a: Float32Array, b: Float32Array): number {
  let ss = 0
  for (let i = 0; i < a.length; i++) ss += (a[i] - b[i]) ** 2
  return Math.sqrt(ss / a.length)
}

/** Index of the largest value in row p (lowest index on ties). */
export function argmaxRow(logits: Float32Array, p: number, vocab: number): number {
  let best = 0
  for (let i = 1; i < vocab; i++) if (logits[p * vocab + i] > logits[p * vocab + best]) best = i
  return best
}

export interface GreedyReference {
  readonly tokens: readonly number[]
  readonly margin: readonly number[] // top-1 minus top-2 logit of the reference at each step
}

export interface FixtureSequence {
  readonly name: string // seq001, seq007, seq033
  readonly tokens: readonly number[]
  readonly exact: Float32Array // (n_pos, n_vocab) exact float64 reference, rounded to float32
  readonly llamaCpp: Float32Array // (n_pos, n_vocab) llama.cpp's logits
  readonly vocab: number
  readonly greedyExact: GreedyReference // greedy_continuation_exact_f64
  readonly greedyLlamaCpp: GreedyReference // greedy_continuation (llama.cpp)
  readonly llamaCppVsExactRms: number // llama_cpp_vs_exact.rms_diff
}

export interface Fixture {
  readonly name: string // tiny-mistral, tiny-magistral
  readonly model: string // path of the .gguf
  readonly sequences: readonly FixtureSequence[]
}

interface Sidecar {
  token_ids: number[]
  n_vocab: number
  greedy_continuation: GreedyReference
  greedy_continuation_exact_f64: GreedyReference
  llama_cpp_vs_exact: {rms_diff: number}
}

export function readFixture(name: string): Fixture {
  const dir = join(FIXTURES, name)
  const lines = readFileSync(join(dir, 'seqs.txt'), 'utf8').trim().split('\n')
  const sequences = lines.map((line) => {
    const [seq] = line.split(/\s+/)
    const j = JSON.parse(readFileSync(join(dir, `${seq}.json`), 'utf8')) as Sidecar
    return {
      name: seq, tokens: j.token_ids, vocab: j.n_vocab,
      exact: readLogits(join(dir, `${seq}.exact-f64.logits.f32`)),
      llamaCpp: readLogits(join(dir, `${seq}.llamacpp.logits.f32`)),
      greedyExact: j.greedy_continuation_exact_f64, greedyLlamaCpp: j.greedy_continuation,
      llamaCppVsExactRms: j.llama_cpp_vs_exact.rms_diff,
    }
  })
  return {name, model: join(dir, `${name}-Q4_K_M.gguf`), sequences}
}

/** How many leading steps to compare: up to (not including) the first whose reference margin is below minMargin. */
export function comparableSteps(ref: GreedyReference, minMargin: number): number {
  const i = ref.margin.findIndex((m) => m < minMargin)
  return i < 0 ? ref.tokens.length : i
}
