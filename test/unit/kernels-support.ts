/** Helpers for the kernel tests: a seeded generator and error measures. Not a test file itself. */
import {f32ToFp16} from '../../src/kernels/fp16.js'

/** mulberry32: a small seeded generator of uniform floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** n normal values N(0, sigma^2) from a seeded generator (Box-Muller). */
export function gaussian(n: number, seed: number, sigma = 1): Float32Array {
  const r = rng(seed)
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) {
    const u = 1 - r()
    out[i] = sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r())
  }
  return out
}

/**
 * A bump allocator over a kernel test's memory: alloc returns an offset `misalign` bytes past a
 * 64-byte boundary; `top` is where the next one starts (set it back to reuse the space).
 */
export class TestHeap {
  static readonly START = 1024
  top = TestHeap.START

  constructor(private readonly heap: Uint8Array) {}

  alloc(bytes: number, misalign = 0): number {
    const at = Math.ceil(this.top / 64) * 64 + misalign
    this.top = at + bytes
    if (this.top > this.heap.length) throw new Error('test memory exhausted')
    return at
  }

  /** Copies `bytes` in at a new offset (alloc's). */
  put(bytes: Uint8Array, misalign = 0): number {
    const at = this.alloc(bytes.length, misalign)
    this.heap.set(bytes, at)
    return at
  }
}

/** Random k-quant / Q8_0 rows: random bytes (every nibble and scale pattern) with sane fp16 scales at the offsets halfAt of each block. */
export function randomQuantRows(blockBytes: number, halfAt: number[], blocks: number, seed: number): Uint8Array {
  const w = randomBytes(blocks * blockBytes, seed)
  const s = gaussian(blocks * 2, seed + 7, 0.01)
  for (let b = 0; b < blocks; b++) halfAt.forEach((f, i) => putU16(w, b * blockBytes + f, f32ToFp16(Math.abs(s[2 * b + i]))))
  return w
}

/** n random bytes from a seeded generator. */
export function randomBytes(n: number, seed: number): Uint8Array {
  const r = rng(seed)
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = Math.floor(r() * 256)
  return out
}

/** sqrt(mean((a - b)^2)) / sqrt(mean(a^2)): the RMS error relative to the signal. */
export function relRms(a: Float32Array, b: Float32Array): number {
  let e = 0, s = 0
  for (let i = 0; i < a.length; i++) {
    e += (a[i] - b[i]) ** 2
    s += a[i] ** 2
  }
  return Math.sqrt(e / s)
}

/** f64 dot product. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i] * b[i]
  return s
}

/** Writes fp16 bits little-endian. */
export function putU16(buf: Uint8Array, at: number, v: number): void {
  buf[at] = v & 0xff
  buf[at + 1] = v >> 8
}
