/**
 * Sampling flags with llama.cpp's names (`--temp`, `--top-k`, ...), shared by `run` and `chat`,
 * and their conversion to SamplingParams. Defaults are not set here: a flag left out keeps the
 * engine's llama.cpp default (src/sampling/params.ts).
 */
import {Flags} from '@oclif/core'

import type {SamplingParams} from '../sampling/index.js'

const float = Flags.custom<number>({
  async parse(input) {
    const v = Number(input)
    if (input.trim() === '' || !Number.isFinite(v)) throw new Error(`expected a number, got "${input}"`)
    return v
  },
})

export const samplingFlags = {
  temp: float({description: 'temperature; 0 = greedy [default: 0.8]', helpGroup: 'SAMPLING'}),
  'top-k': Flags.integer({description: 'keep the k most likely tokens; 0 = off [default: 40]', helpGroup: 'SAMPLING'}),
  'top-p': float({description: 'nucleus sampling threshold; 1 = off [default: 0.95]', helpGroup: 'SAMPLING'}),
  'min-p': float({description: 'drop tokens below min-p x the top probability; 0 = off [default: 0.05]', helpGroup: 'SAMPLING'}),
  'repeat-penalty': float({description: 'penalise recent tokens; 1 = off [default: 1.0]', helpGroup: 'SAMPLING'}),
  'repeat-last-n': Flags.integer({description: 'tokens the penalty looks back over; 0 = off, -1 = context [default: 64]', min: -1, helpGroup: 'SAMPLING'}),
  seed: Flags.integer({description: 'PRNG seed; -1 = random [default: -1]', min: -1, helpGroup: 'SAMPLING'}),
}

export interface SamplingFlagValues {
  temp?: number
  'top-k'?: number
  'top-p'?: number
  'min-p'?: number
  'repeat-penalty'?: number
  'repeat-last-n'?: number
  seed?: number
}

export function samplingFromFlags(f: SamplingFlagValues): Partial<SamplingParams> {
  return {
    temperature: f.temp,
    topK: f['top-k'],
    topP: f['top-p'],
    minP: f['min-p'],
    repeatPenalty: f['repeat-penalty'],
    repeatLastN: f['repeat-last-n'],
    seed: f.seed === undefined || f.seed < 0 ? undefined : f.seed,
  }
}
