/**
 * The project's deterministic PRNG (synthetic weights, sampling): xoshiro128** (Blackman and Vigna, 2018), 32-bit
 * state words, seeded through splitmix32 from (seed, stream) so every tensor gets an independent
 * stream and a file's bytes depend only on the seed, never on chunk sizes or write order.
 */

/** splitmix32 step: a well-mixed 32-bit value from a 32-bit counter. */
function mix32(x: number): number {
  x = (x + 0x9e3779b9) | 0
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b)
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35)
  return (x ^ (x >>> 16)) >>> 0
}

export class Prng {
  private a: number
  private b: number
  private c: number
  private d: number

  /** `seed` and `stream` are taken modulo 2^32. */
  constructor(seed: number, stream = 0) {
    let s = mix32((seed >>> 0) ^ mix32(stream >>> 0))
    this.a = s = mix32(s)
    this.b = s = mix32(s)
    this.c = s = mix32(s)
    this.d = mix32(s)
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1 // the all-zero state is a fixed point
  }

  /** Next uniform 32-bit unsigned integer. */
  nextU32(): number {
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9)
    const t = this.b << 9
    this.c ^= this.a
    this.d ^= this.b
    this.b ^= this.c
    this.a ^= this.d
    this.c ^= t
    this.d = rotl(this.d, 11)
    return r >>> 0
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextU32() / 4294967296
  }

  /** Uniform integer in [lo, hi] (inclusive; hi - lo < 2^32). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1))
  }

  /** Standard normal (Box-Muller; one of the pair is discarded: only used for small tensors). */
  normal(): number {
    const u = 1 - this.next() // (0, 1]
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next())
  }

  /**
   * Fills out[start, end) with uniform 32-bit words: the hot loop of the synthesizer, so the state
   * lives in locals for its duration (the same sequence as calling nextU32 repeatedly).
   */
  fill(out: Uint32Array, start = 0, end = out.length): void {
    let a = this.a, b = this.b, c = this.c, d = this.d
    for (let i = start; i < end; i++) {
      out[i] = Math.imul(rotl(Math.imul(b, 5), 7), 9)
      const t = b << 9
      c ^= a
      d ^= b
      b ^= c
      a ^= d
      c ^= t
      d = (d << 11) | (d >>> 21)
    }
    this.a = a; this.b = b; this.c = c; this.d = d
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k))
}
