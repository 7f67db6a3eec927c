/** Helpers for the kernel tests: a seeded generator and error measures. Not a test file itself. */
import {f32ToFp16} from '../../src/kernels/fp16.js'
import {Q8_K_BLOCK_BYTES, quantizeRowQ8K} from '../../src/kernels/q8_k.js'

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

  /** Copies the floats of v in (put's offset). */
  putFloats(v: Float32Array, misalign = 0): number {
    return this.put(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), misalign)
  }

  /** A copy of the n floats at `at`. */
  floatsAt(at: number, n: number): Float32Array {
    return new Float32Array(this.heap.slice(at, at + 4 * n).buffer)
  }
}

/** A Q*_K x Q8_K reference dot (vecDotQ4KQ8K, vecDotQ6KQ8K). */
type KDot = (w: Uint8Array, wOffset: number, n: number, y: Uint8Array, yOffset: number) => number

/** Each row of the matrix w (rows of n values in blocks of blockBytes) . each of nPos positions of x, as vecDot: [position][row]. */
export function referenceDots(vecDot: KDot, blockBytes: number, w: Uint8Array, rows: number, n: number, x: Float32Array, nPos: number): number[][] {
  const q8 = new Uint8Array((n / 256) * Q8_K_BLOCK_BYTES)
  return Array.from({length: nPos}, (_, p) => {
    quantizeRowQ8K(x, p * n, n, q8, 0)
    return Array.from({length: rows}, (_, r) => vecDot(w, r * (n / 256) * blockBytes, n, q8, 0))
  })
}

/**
 * Q4_K blocks at their integer extremes in rows 0-3 of w (rows of `blocks` blocks): every scale
 * and min 63, every nibble 15, d 1, dmin 1 in rows 0-1 and 0 in rows 2-3.
 */
export function setExtremeQ4K(w: Uint8Array, blocks: number): void {
  for (let r = 0; r < 4; r++) {
    for (let b = 0; b < blocks; b++) {
      const at = (r * blocks + b) * 144
      w.fill(0xff, at + 4, at + 144)
      putU16(w, at, 0x3c00)
      putU16(w, at + 2, r < 2 ? 0x3c00 : 0)
    }
  }
}

/** Three positions of n activations that quantize to magnitude 127: all -127, alternating, and alternating by 16. */
export function extremeActivations(n: number): Float32Array {
  const x = new Float32Array(n * 3)
  for (let i = 0; i < n; i++) {
    x[i] = 1 // all -127 once quantized
    x[n + i] = i % 2 === 0 ? 1 : -1
    x[2 * n + i] = (i >> 4) % 2 === 0 ? -1 : 1
  }
  return x
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
