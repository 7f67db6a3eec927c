/**
 * The speed anchor and the seed's targets, as data (issue 4): llama.cpp's `llama-bench` on this
 * kind of machine (2 cores, AVX-512, quiet, 5 repetitions, weights in RAM) on synthetic models of
 * each profile, and the ratios llmfrag must reach at 2 threads. Bench prints every figure beside
 * its anchor and says whether the target is met.
 */

export interface Anchor {
  readonly profile: string // detected profile of the model benchmarked
  readonly test: 'pp' | 'tg'
  readonly n: number // llama-bench's n_prompt (pp) or n_gen (tg)
  readonly threads: number
  readonly tokensPerSecond: number
}

export const LLAMA_CPP_ANCHORS: readonly Anchor[] = [
  {profile: 'mistral_7b', test: 'pp', n: 64, threads: 2, tokensPerSecond: 16.9},
  {profile: 'mistral_7b', test: 'tg', n: 32, threads: 2, tokensPerSecond: 7.45},
  {profile: 'mistral_7b', test: 'pp', n: 64, threads: 1, tokensPerSecond: 9.9},
  {profile: 'mistral_7b', test: 'tg', n: 32, threads: 1, tokensPerSecond: 4.5},
  {profile: 'magistral', test: 'tg', n: 8, threads: 2, tokensPerSecond: 1.93},
]

/** Fraction of llama.cpp's tokens/s to reach (issue 4: generation >= 0.7x, prompt processing >= 0.4x). */
export const TARGET_RATIO: Readonly<Record<'pp' | 'tg', number>> = {pp: 0.4, tg: 0.7}
/** The goal is stated at this thread count; other counts show their ratio without a target. */
export const TARGET_THREADS = 2
/** Peak RSS may exceed the model's size plus the KV cache by this fraction. */
export const RSS_HEADROOM = 0.1

/** llama.cpp's figure for a test on a profile at a thread count (test lengths need not match: the rates are per token). */
export function anchorFor(profile: string, test: 'pp' | 'tg', threads: number): Anchor | undefined {
  return LLAMA_CPP_ANCHORS.find((a) => a.profile === profile && a.test === test && a.threads === threads)
}
