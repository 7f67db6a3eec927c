/** Timing helpers for bench: repeated runs, mean and sample standard deviation. */

/** Runs fn once to warm up, then until `minMs` have passed and at least `minReps` runs; returns each run's ms. */
export function sampleMs(fn: () => void, minMs = 200, minReps = 3): number[] {
  fn()
  const out: number[] = []
  let spent = 0
  while (out.length < minReps || spent < minMs) {
    const t0 = performance.now()
    fn()
    const ms = performance.now() - t0
    out.push(ms)
    spent += ms
  }
  return out
}

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length
}

/** Sample standard deviation (n - 1), 0 for fewer than two values (as llama-bench). */
export function stddev(xs: readonly number[]): number {
  if (xs.length < 2) return 0
  const m = mean(xs)
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1))
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const h = s.length >> 1
  return s.length === 0 ? 0 : s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2
}
