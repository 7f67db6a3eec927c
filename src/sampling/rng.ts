/**
 * The seeded PRNG of sampling: the project's xoshiro128** (src/util/prng.ts) seeded from the low
 * 32 bits of the seed, with the high bits choosing the stream, so the same seed draws the same
 * numbers on every platform and gives the same text.
 */
import {Prng} from '../util/prng.js'

export class Rng {
  private readonly prng: Prng

  /** seed: any integer in [0, 2^53); the high and low 32-bit halves both feed the state. */
  constructor(readonly seed: number) {
    this.prng = new Prng(seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0)
  }

  /** The next 32-bit unsigned integer. */
  nextU32(): number {
    return this.prng.nextU32()
  }

  /** A uniform float in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.prng.nextU32() >>> 5 // 27 bits
    const lo = this.prng.nextU32() >>> 6 // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992
  }
}
