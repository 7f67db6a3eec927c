/** Q8_0 weights (block_q8_0, 34 bytes / 32 values) against Q80X activations (bit-exact with vecDotQ8_0Q8_0). */
import {dot, half, hsum, POS_TILE} from './common'

@inline function q8_0Block(b: usize, x: usize, sumf: f32): f32 {
  const lo = v128.load(b, 2)
  const hi = v128.load(b, 18)
  let acc = dot(i16x8.extend_low_i8x16_s(lo), v128.load(x, 16))
  acc = i32x4.add(acc, dot(i16x8.extend_high_i8x16_s(lo), v128.load(x, 32)))
  acc = i32x4.add(acc, dot(i16x8.extend_low_i8x16_s(hi), v128.load(x, 48)))
  acc = i32x4.add(acc, dot(i16x8.extend_high_i8x16_s(hi), v128.load(x, 64)))
  return sumf + (half(load<u16>(b)) * load<f32>(x)) * <f32>hsum(acc)
}

/** As q4k_matmul for Q8_0 weights (rowBytes / 34 blocks a row) and Q80X activations. */
export function q8_0_matmul(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  const nb = <usize>(rowBytes / 34)
  const rb = <usize>rowBytes
  const xStride = nb * 80
  for (let p0 = 0; p0 < nPos; p0 += POS_TILE) {
    const p1 = min<i32>(nPos, p0 + POS_TILE)
    for (let r = 0; r < rows; r++) {
      const w0 = wPtr + <usize>r * rb
      for (let p = p0; p < p1; p++) {
        const x = xPtr + <usize>p * xStride
        let s0: f32 = 0
        for (let i: usize = 0; i < nb; i++) s0 = q8_0Block(w0 + i * 34, x + i * 80, s0)
        store<f32>(outPtr + (<usize>(p * rows + r) << 2), s0)
      }
    }
  }
}
