/** F32 and F16 weights against plain f32 activations (float sums, within 1e-5 of the references). */
import {fsum, half, halves, POS_TILE} from './common'

/**
 * out[p * rows + r] = sum_i W[r, i] * x[p * cols + i] for F32 weights (cols = rowBytes / 4,
 * any value): f32x4 lanes with two accumulators, the remainder in scalar.
 */
export function f32_matmul(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  const cols = <usize>(rowBytes >> 2)
  const body = cols & ~(<usize>7)
  for (let p0 = 0; p0 < nPos; p0 += POS_TILE) {
    const p1 = min<i32>(nPos, p0 + POS_TILE)
    for (let r = 0; r < rows; r++) {
      const w = wPtr + <usize>r * <usize>rowBytes
      for (let p = p0; p < p1; p++) {
        const x = xPtr + ((<usize>p * cols) << 2)
        let a = f32x4.splat(0)
        let c = f32x4.splat(0)
        let i: usize = 0
        for (; i < body; i += 8) {
          a = f32x4.add(a, f32x4.mul(v128.load(w + (i << 2)), v128.load(x + (i << 2))))
          c = f32x4.add(c, f32x4.mul(v128.load(w + (i << 2), 16), v128.load(x + (i << 2), 16)))
        }
        let s = fsum(f32x4.add(a, c))
        for (; i < cols; i++) s += load<f32>(w + (i << 2)) * load<f32>(x + (i << 2))
        store<f32>(outPtr + (<usize>(p * rows + r) << 2), s)
      }
    }
  }
}

/** As f32_matmul for F16 weights (cols = rowBytes / 2). */
export function f16_matmul(wPtr: usize, rowBytes: i32, rows: i32, xPtr: usize, nPos: i32, outPtr: usize): void {
  const cols = <usize>(rowBytes >> 1)
  const body = cols & ~(<usize>7)
  for (let p0 = 0; p0 < nPos; p0 += POS_TILE) {
    const p1 = min<i32>(nPos, p0 + POS_TILE)
    for (let r = 0; r < rows; r++) {
      const w = wPtr + <usize>r * <usize>rowBytes
      for (let p = p0; p < p1; p++) {
        const x = xPtr + ((<usize>p * cols) << 2)
        let a = f32x4.splat(0)
        let c = f32x4.splat(0)
        let i: usize = 0
        for (; i < body; i += 8) {
          const h = v128.load(w + (i << 1))
          a = f32x4.add(a, f32x4.mul(halves(h, false), v128.load(x + (i << 2))))
          c = f32x4.add(c, f32x4.mul(halves(h, true), v128.load(x + (i << 2), 16)))
        }
        let s = fsum(f32x4.add(a, c))
        for (; i < cols; i++) s += half(load<u16>(w + (i << 1))) * load<f32>(x + (i << 2))
        store<f32>(outPtr + (<usize>(p * rows + r) << 2), s)
      }
    }
  }
}
