/**
 * Sampling parameters with llama.cpp's names, meanings and defaults (common/common.h
 * `common_params_sampling`), checked in one place so the CLI, chat and server agree.
 */
import {LlmfragError} from '../errors.js'

export interface SamplingParams {
  /** Temperature; <= 0 is greedy (argmax after the penalties). */
  readonly temperature: number
  /** Keep the k most likely tokens; <= 0 keeps all. */
  readonly topK: number
  /** Keep the smallest most-likely set whose probability reaches p; >= 1 keeps all. */
  readonly topP: number
  /** Drop tokens less likely than minP times the most likely one; <= 0 keeps all. */
  readonly minP: number
  /** Repetition penalty on tokens in the last repeatLastN: logit / penalty if > 0, else * penalty; 1 = off. */
  readonly repeatPenalty: number
  /** How many recent tokens (prompt included) the penalties look at; 0 = none, -1 = the context size. */
  readonly repeatLastN: number
  /** OpenAI-style penalties over the same window: logit -= count * frequency + (count > 0) * presence. */
  readonly frequencyPenalty: number
  readonly presencePenalty: number
  /** PRNG seed (0 .. 2^53-1); undefined draws a random one (reported in the result). */
  readonly seed?: number
}

export const DEFAULT_SAMPLING: SamplingParams = Object.freeze({
  temperature: 0.8,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  repeatPenalty: 1.0,
  repeatLastN: 64,
  frequencyPenalty: 0,
  presencePenalty: 0,
})

/** Greedy decoding: the same text every time, no PRNG. */
export const GREEDY: SamplingParams = Object.freeze({...DEFAULT_SAMPLING, temperature: 0})

/** Defaults filled in and every value range-checked (BAD_INPUT naming the parameter). */
export function resolveSampling(p: Partial<SamplingParams> = {}): SamplingParams {
  const r: SamplingParams = {...DEFAULT_SAMPLING, ...stripUndefined(p)}
  const bad = (name: string, expected: string, actual: number): LlmfragError =>
    new LlmfragError('BAD_INPUT', `sampling parameter ${name} is ${actual}, expected ${expected}`, {details: {name, expected, actual}})
  for (const [name, v] of Object.entries(r) as Array<[string, number | undefined]>) {
    if (v !== undefined && !Number.isFinite(v)) throw bad(name, 'a finite number', v)
  }
  if (!Number.isInteger(r.topK)) throw bad('topK', 'a whole number', r.topK)
  if (r.topP < 0) throw bad('topP', 'a number >= 0', r.topP)
  if (r.minP < 0 || r.minP > 1) throw bad('minP', 'a number in [0, 1]', r.minP)
  if (r.repeatPenalty <= 0) throw bad('repeatPenalty', 'a number > 0 (1 = off)', r.repeatPenalty)
  if (!Number.isInteger(r.repeatLastN) || r.repeatLastN < -1) throw bad('repeatLastN', 'a whole number >= -1', r.repeatLastN)
  if (r.seed !== undefined && (!Number.isSafeInteger(r.seed) || r.seed < 0)) throw bad('seed', 'a whole number in [0, 2^53)', r.seed)
  return Object.freeze(r)
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
