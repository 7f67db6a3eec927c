/**
 * The seeded PRNG of sampling: xoshiro128** (Blackman & Vigna 2018) with its 128-bit state filled
 * by splitmix32 from the seed, so the same seed draws the same numbers on every platform and the
 * same seed gives the same text.
 */
export class Rng {
  private s0: number
  private s1: number
  private s2: number
  private s3: number

  /** seed: any integer in [0, 2^53); the high and low 32-bit halves both feed the state. */
  constructor(readonly seed: number) {
    let x = (seed >>> 0) ^ Math.imul(Math.floor(seed / 2 ** 32) >>> 0, 0x9e3779b9)
    const next = (): number => {
      // splitmix32
      x = (x + 0x9e3779b9) | 0
      let z = x
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
      return (z ^ (z >>> 16)) >>> 0
    }
    this.s0 = next()
    this.s1 = next()
    this.s2 = next()
    this.s3 = next()
  }

  /** The next 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0
    const t = this.s1 << 9
    this.s2 ^= this.s0
    this.s3 ^= this.s1
    this.s1 ^= this.s2
    this.s0 ^= this.s3
    this.s2 ^= t
    this.s3 = rotl(this.s3, 11)
    return result
  }

  /** A uniform float in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextU32() >>> 5 // 27 bits
    const lo = this.nextU32() >>> 6 // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k))
}
