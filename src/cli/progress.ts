/**
 * Progress bars for long work: a cli-progress bar on stderr when it is a TTY, nothing otherwise.
 * The core reports progress through a plain callback; this turns it into a bar.
 */
import cliProgress from 'cli-progress'

export type ProgressFn = (done: number, total: number) => void

export interface ProgressBar {
  update: ProgressFn
  stop(): void
}

const GiB = 1024 ** 3

export function progressBar(label: string, unit: 'bytes' | 'items' = 'bytes'): ProgressBar {
  if (!process.stderr.isTTY) return {update: () => {}, stop: () => {}}
  const bar = new cliProgress.SingleBar({
    stream: process.stderr,
    format: unit === 'bytes'
      ? `${label} [{bar}] {percentage}% | {doneGiB}/{totalGiB} GiB | {eta_formatted}`
      : `${label} [{bar}] {percentage}% | {value}/{total} | {eta_formatted}`,
    hideCursor: true,
    clearOnComplete: true,
    etaBuffer: 50,
  }, cliProgress.Presets.shades_classic)
  let started = false
  return {
    update(done, total) {
      const payload = {doneGiB: (done / GiB).toFixed(2), totalGiB: (total / GiB).toFixed(2)}
      if (!started) {
        bar.start(total, done, payload)
        started = true
      } else {
        bar.setTotal(total)
        bar.update(done, payload)
      }
    },
    stop() {
      if (started) bar.stop()
    },
  }
}
