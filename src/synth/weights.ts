/**
 * Random but valid quantized blocks, generated straight into a reused buffer. Values are uniform
 * within each sub-block, centred on zero, with a chosen standard deviation (0.02 for matrices, like
 * the N(0, 0.02) init of the fixtures), so a forward pass over them gives finite, spread logits.
 *
 * Speed: the quant bytes are raw PRNG output (uniform 4- and 6-bit codes); only the per-block
 * header (scales, d) is patched in, picked from a small table of valid headers made per tensor.
 */
import {f32ToFp16} from '../kernels/fp16.js'
import {packScaleMinK4} from '../kernels/k-common.js'
import type {Prng} from '../util/prng.js'

export const Q4_K_BYTES = 144 // fp16 d, fp16 dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles
export const Q6_K_BYTES = 210 // 128 ql, 64 qh, 16 int8 scales, fp16 d
const HEADERS = 64 // header variants per tensor (a power of two: picked by the low bits of a random word)

const Q4_CODE_STD = Math.sqrt((16 * 16 - 1) / 12) // std of a uniform code in 0..15
const Q6_CODE_STD = Math.sqrt((64 * 64 - 1) / 12) // std of a uniform code in -32..31

function rms(xs: readonly number[]): number {
  return Math.sqrt(xs.reduce((s, x) => s + x * x, 0) / xs.length)
}

/**
 * Q4_K block headers (4 little-endian words each = bytes 0..15 of a block). Sub-block j decodes to
 * d*sc_j*q - dmin*m_j; with m_j = sc_j and dmin = 7.5 d that is d*sc_j*(q - 7.5), centred on zero.
 */
export function q4kHeaders(std: number, rng: Prng): Uint32Array {
  const out = new Uint8Array(HEADERS * 16)
  for (let h = 0; h < HEADERS; h++) {
    const sc = Array.from({length: 8}, () => rng.int(32, 63)) // 6-bit scales
    const d = (std / (Q4_CODE_STD * rms(sc))) * (0.8 + 0.4 * rng.next())
    const dh = f32ToFp16(d), mh = f32ToFp16(7.5 * d)
    const at = h * 16
    out[at] = dh & 0xff; out[at + 1] = dh >> 8
    out[at + 2] = mh & 0xff; out[at + 3] = mh >> 8
    packScaleMinK4(sc, sc, out, at + 4)
  }
  return new Uint32Array(out.buffer)
}

/** Q6_K block tails (18 bytes each = bytes 192..209: 16 int8 scales, fp16 d); random scale signs centre the values. */
export function q6kHeaders(std: number, rng: Prng): Uint8Array {
  const out = new Uint8Array(HEADERS * 18)
  for (let h = 0; h < HEADERS; h++) {
    const sc = Array.from({length: 16}, () => rng.int(4, 15) * (rng.next() < 0.5 ? -1 : 1))
    const d = (std / (Q6_CODE_STD * rms(sc))) * (0.8 + 0.4 * rng.next())
    const dh = f32ToFp16(d)
    const at = h * 18
    for (let j = 0; j < 16; j++) out[at + j] = sc[j] & 0xff
    out[at + 16] = dh & 0xff; out[at + 17] = dh >> 8
  }
  return out
}

/** Fills `blocks` Q4_K blocks at words[0 ..] (bytes 0 .. 144*blocks). */
export function fillQ4K(words: Uint32Array, blocks: number, rng: Prng, headers: Uint32Array): void {
  const W = Q4_K_BYTES / 4
  rng.fill(words, 0, blocks * W)
  for (let b = 0, w = 0; b < blocks; b++, w += W) {
    const h = (words[w] & (HEADERS - 1)) * 4 // the word being replaced picks the variant
    words[w] = headers[h]; words[w + 1] = headers[h + 1]; words[w + 2] = headers[h + 2]; words[w + 3] = headers[h + 3]
  }
}

/** Fills `blocks` Q6_K blocks at bytes[0 .. 210*blocks); `words` views the same memory (may write 2 bytes past the end). */
export function fillQ6K(bytes: Uint8Array, words: Uint32Array, blocks: number, rng: Prng, headers: Uint8Array): void {
  rng.fill(words, 0, Math.ceil((blocks * Q6_K_BYTES) / 4))
  for (let b = 0, at = 192; b < blocks; b++, at += Q6_K_BYTES) {
    const h = (bytes[at] & (HEADERS - 1)) * 18
    for (let j = 0; j < 18; j++) bytes[at + j] = headers[h + j]
  }
}

/** An RMSNorm weight: 1 + N(0, std) per value (the fixtures' norms use std 0.05). */
export function fillNorm(out: Float32Array, n: number, std: number, rng: Prng): void {
  for (let i = 0; i < n; i++) out[i] = 1 + std * rng.normal()
}
