/**
 * Parallel sha256 over files (or byte ranges of files) on worker threads, one per core by default,
 * largest job first so both cores finish together. Each worker reads through one reused buffer
 * (hash-pool-worker.ts documents the message protocol); the main thread only schedules and sums
 * progress. A job that fails (missing file, short read) is reported, not thrown, so verify can name it.
 */
import {availableParallelism} from 'node:os'
import {Worker} from 'node:worker_threads'

import type {FromWorker, HashRange, ToWorker} from './hash-pool-worker.js'

export type {HashRange} from './hash-pool-worker.js'

export interface HashJob {
  readonly path: string
  /** Bytes the job will hash (the file size, or the sum of the ranges): for scheduling and progress. */
  readonly bytes: number
  /** Hash these ranges separately instead of the whole file. */
  readonly ranges?: readonly HashRange[]
}

export type HashResult =
  | {readonly path: string; readonly ok: true; readonly digests: readonly string[]; readonly bytes: number}
  | {readonly path: string; readonly ok: false; readonly error: string}

export interface HashOptions {
  /** Worker threads (default: the core count, at most the number of jobs). */
  readonly threads?: number
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void
}

export interface HashReport {
  /** One result per job, in the order of the jobs given. */
  readonly results: readonly HashResult[]
  /** Bytes hashed. */
  readonly bytes: number
  /** Wall time from the first worker starting to the last job's end. */
  readonly seconds: number
}

/**
 * The worker module next to this one: .js when built; .ts when run from source (tests under tsx),
 * where a bootstrap registers tsx's hooks first (Node 20 workers do not inherit them).
 */
function startWorker(): Worker {
  if (import.meta.url.endsWith('.ts')) {
    const tsxEntry = new URL('./hash-pool-worker.ts', import.meta.url).href
    return new Worker(new URL('./tsx-worker-bootstrap.mjs', import.meta.url), {workerData: {tsxEntry}})
  }
  return new Worker(new URL('./hash-pool-worker.js', import.meta.url))
}

export async function hashFiles(jobs: readonly HashJob[], options: HashOptions = {}): Promise<HashReport> {
  // Timed from the first worker ready, so throughput figures exclude thread start-up.
  let started = 0
  const results: HashResult[] = new Array(jobs.length)
  const total = jobs.reduce((s, j) => s + j.bytes, 0)
  if (jobs.length === 0) return {results, bytes: 0, seconds: 0}
  const order = jobs.map((_, i) => i).sort((a, b) => jobs[b].bytes - jobs[a].bytes)
  const threads = Math.max(1, Math.min(options.threads ?? availableParallelism(), jobs.length))
  let next = 0
  let done = 0
  let hashed = 0

  const runWorker = (): Promise<void> => new Promise((resolve, reject) => {
    const worker = startWorker()
    let current = -1
    const dispatch = (): void => {
      if (next >= order.length) {
        current = -1
        void worker.terminate().then(() => resolve(), reject)
        return
      }
      current = order[next++]
      const job = jobs[current]
      const msg: ToWorker = {type: 'job', id: current, path: job.path, ...(job.ranges ? {ranges: job.ranges} : {})}
      worker.postMessage(msg)
    }
    worker.on('message', (m: FromWorker) => {
      switch (m.type) {
        case 'ready':
          if (started === 0) started = performance.now()
          return dispatch()
        case 'progress':
          done += m.bytes
          options.onProgress?.(done, total)
          return
        case 'done':
          hashed += m.bytes
          results[m.id] = {path: jobs[m.id].path, ok: true, digests: m.digests, bytes: m.bytes}
          return dispatch()
        case 'error':
          results[m.id] = {path: jobs[m.id].path, ok: false, error: m.message}
          return dispatch()
      }
    })
    worker.on('error', (err) => {
      if (current >= 0) results[current] = {path: jobs[current].path, ok: false, error: err.message}
      reject(err)
    })
  })

  await Promise.all(Array.from({length: threads}, runWorker))
  return {results, bytes: hashed, seconds: (performance.now() - started) / 1000}
}
