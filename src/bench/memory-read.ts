/**
 * This machine's memory-read rate, measured beside the model's figures so each can be read as a
 * fraction of the bandwidth limit: a plain sequential scan (Buffer#indexOf for a byte that is not
 * there: memchr, SIMD, as fast as a C read loop) over a buffer larger than the caches, by 1..N
 * threads at once, each over its own buffer (`bytes` in all, shared out). Best of `reps`; the rate
 * of a multi-thread rep is all bytes over the time from the first start to the last end. The
 * threads are worker threads that own their buffers and are ended before this returns.
 */
import type {Worker} from 'node:worker_threads'

import {spawnWorker} from '../parallel/spawn.js'
import type {FromReader, ToReader} from './memory-read-worker.js'
import type {MemoryReadRate} from './types.js'

/** 256 MiB: eight times this machine's 32 MiB L3. */
export const READ_BUFFER_BYTES = 256 << 20

/** A worker and its replies in order (one permanent listener pair, however many messages). */
class Reader {
  private readonly waiting: Array<{resolve: (m: FromReader) => void; reject: (e: Error) => void}> = []
  private failure: Error | undefined

  constructor(readonly worker: Worker) {
    worker.on('message', (m: FromReader) => this.waiting.shift()?.resolve(m))
    worker.on('error', (err) => {
      this.failure = err
      for (const w of this.waiting.splice(0)) w.reject(err)
    })
  }

  /** The next message (ask before it can arrive). */
  next(): Promise<FromReader> {
    if (this.failure) return Promise.reject(this.failure)
    return new Promise((resolve, reject) => this.waiting.push({resolve, reject}))
  }
}

export async function measureMemoryRead(threadCounts: readonly number[], reps = 5, bytes = READ_BUFFER_BYTES): Promise<MemoryReadRate[]> {
  const control = new SharedArrayBuffer(4)
  const ctl = new Int32Array(control)
  const most = Math.max(...threadCounts)
  // Thread i scans at most bytes / (i + 1): the first one alone scans everything.
  const workers = Array.from({length: most}, (_, i) => new Reader(spawnWorker(import.meta.url, 'memory-read-worker', {bytes: Math.ceil(bytes / (i + 1)), control})))
  let go = 0
  try {
    await Promise.all(workers.map((w) => w.next()))
    const rates: MemoryReadRate[] = []
    for (const threads of threadCounts) {
      const share = Math.floor(bytes / threads)
      const used = workers.slice(0, threads)
      let best = 0
      for (let r = 0; r < reps; r++) {
        go++
        const armed = used.map((w) => w.next())
        used.forEach((w) => w.worker.postMessage({type: 'arm', length: share, go} satisfies ToReader))
        await Promise.all(armed)
        const done = used.map((w) => w.next())
        Atomics.store(ctl, 0, go)
        Atomics.notify(ctl, 0)
        const spans = (await Promise.all(done)).flatMap((m) => (m.type === 'done' ? [m] : []))
        const ms = Math.max(...spans.map((s) => s.endMs)) - Math.min(...spans.map((s) => s.startMs))
        best = Math.max(best, (share * threads) / ms / 1e6)
      }
      rates.push({threads, gbps: best})
    }
    return rates
  } finally {
    await Promise.all(workers.map((w) => w.worker.terminate()))
  }
}
