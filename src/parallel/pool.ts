/**
 * A pool of compute threads over shared memory: the main thread plus `threads - 1` workers, all
 * running the same chunk loop (thread-context.ts) over a job written into a SharedArrayBuffer
 * control block (protocol.ts). `run()` is synchronous: it starts the workers with Atomics.notify,
 * takes chunks itself, and waits (Atomics.wait) until every worker is done, so a forward pass stays
 * a plain function call. The main thread is blocked meanwhile: callers yield to the event loop
 * between tokens.
 *
 * Workers are created once per engine and unref'd (they never keep the process alive); `close()`
 * stops them.
 */
import {Worker} from 'node:worker_threads'

import {LlmfragError} from '../errors.js'
import type {SharedWasmMemory} from '../kernels/wasm/kernels-wasm.js'
import {CONTROL_BYTES, ERR_TEXT, ERRLEN, ERROR, GEN, J, MAX_THREADS, NEXT, PENDING, STOP, type FromWorker, type WorkerInit} from './protocol.js'
import {spawnWorker} from './spawn.js'
import {segmentStart, ThreadContext} from './thread-context.js'

export interface PoolOptions {
  /** Compute threads, the main thread included (>= 1). */
  readonly threads: number
  /** The memories kernels run in (weights, prepared activations, output scratch). */
  readonly memories: readonly SharedWasmMemory[]
  /** Shared buffers that outputs are copied into. */
  readonly buffers: readonly SharedArrayBuffer[]
  /** Microseconds a waiting thread spins before sleeping (default DEFAULT_SPIN_MICROS; 0 sleeps at once). */
  readonly spinMicros?: number
  /** Instantiate the relaxed-SIMD build of the kernels (kernels-wasm.ts; default false). */
  readonly relaxedSimd?: boolean
}

/**
 * How long a waiting thread spins before it sleeps in Atomics.wait. Between the jobs of a decode
 * step the main thread works alone for tens to hundreds of µs (norms, RoPE, attention); a worker
 * asleep by then costs the main thread ~30 µs in Atomics.notify and starts late. Measured, 7B
 * decode step at 2 threads, alternating runs: 20 µs 200.5 / 205.0 / 202.7 ms, 300 µs 193.9 / 200.9
 * / 197.2 (100 and 1000 µs alike to 300). Between tokens the worker still goes to sleep.
 */
const DEFAULT_SPIN_MICROS = 300
/**
 * Milliseconds after a job within which the next finds the workers quick to start (ComputePool.warm):
 * 7B, 2 threads, a one-position product of gate and up after 2 ms of nothing took 2725 µs in blocks
 * (matmul-fast.ts) and 2909 in even chunks; after 20 ms, 3056 and 2894.
 */
const WARM_MS = 5

/** How long close() waits for a worker to leave its loop before terminating it. */
const CLOSE_TIMEOUT_MS = 2000

function whenReady(w: Worker, index: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (why: string): void => reject(new LlmfragError('INTERNAL', `compute worker ${index} failed to start: ${why}`))
    w.once('message', (m: FromWorker) => (m.type === 'ready' ? resolve() : fail(m.message)))
    w.once('error', (err) => fail(err.message))
    w.once('exit', (code) => fail(`exited with code ${code}`))
  })
}

export class ComputePool {
  private closed = false
  private lastEnd = -Infinity // performance.now() when the last job ended

  private constructor(
    /** The main thread's context: its kernels prepare activations; its job view is filled before run(). */
    readonly main: ThreadContext,
    private readonly workers: readonly Worker[],
    private readonly spinMicros: number,
  ) {}

  static async create(o: PoolOptions): Promise<ComputePool> {
    if (!Number.isInteger(o.threads) || o.threads < 1 || o.threads > MAX_THREADS) {
      throw new LlmfragError('BAD_INPUT', `thread count ${o.threads} must be a whole number from 1 to ${MAX_THREADS}`, {hints: ['pass -t/--threads N with 1 <= N <= 64']})
    }
    const spinMicros = o.spinMicros ?? DEFAULT_SPIN_MICROS
    const control = new SharedArrayBuffer(CONTROL_BYTES)
    const relaxedSimd = o.relaxedSimd ?? false
    const main = new ThreadContext(0, control, o.memories, o.buffers, relaxedSimd)
    const workers = Array.from({length: o.threads - 1}, (_, i) =>
      spawnWorker(import.meta.url, 'worker', {index: i + 1, control, memories: o.memories, buffers: o.buffers, spinMicros, relaxedSimd} satisfies WorkerInit))
    try {
      await Promise.all(workers.map((w, i) => whenReady(w, i + 1)))
    } catch (err) {
      await Promise.all(workers.map((w) => w.terminate()))
      throw err
    }
    for (const w of workers) {
      w.removeAllListeners()
      w.on('error', () => {}) // a failure inside a job is reported through the control block
      w.unref()
    }
    return new ComputePool(main, workers, spinMicros)
  }

  /** Compute threads, the main thread included. */
  get threads(): number {
    return this.workers.length + 1
  }

  /**
   * Whether the last job ended less than WARM_MS ago, so that a job written now starts on every
   * thread within a few microseconds; after a longer pause the workers sleep deeply, and the first
   * to wake may be late by a millisecond or more.
   */
  get warm(): boolean {
    return performance.now() - this.lastEnd < WARM_MS
  }

  /** The job area to fill before run() (protocol.ts, JOB). */
  get job(): Uint32Array {
    return this.main.job
  }

  /**
   * Runs the job in `job` on every thread (with `local`: on the calling thread alone, the same
   * chunk code, for jobs too small to be worth waking the workers) and returns when all chunks are done.
   */
  run(local = false): void {
    if (this.closed) throw new LlmfragError('INTERNAL', 'the compute pool is closed')
    const ctl = this.main.ctl
    const job = this.main.job
    const threads = local ? 1 : this.threads
    const workers = local ? 0 : this.workers.length
    job[J.threads] = threads
    for (let t = 0; t < threads; t++) Atomics.store(ctl, NEXT + t, segmentStart(t, job[J.totalChunks], threads))
    Atomics.store(ctl, ERROR, 0)
    if (workers > 0) {
      Atomics.store(ctl, PENDING, workers)
      Atomics.add(ctl, GEN, 1)
      Atomics.notify(ctl, GEN)
    }
    try {
      this.main.runChunks()
    } catch (err) {
      this.main.fail(err)
    }
    if (workers > 0) this.waitForWorkers(ctl)
    if (!local) this.lastEnd = performance.now()
    const failed = Atomics.load(ctl, ERROR)
    if (failed !== 0) {
      const text = new TextDecoder().decode(new Uint8Array(ctl.buffer, ERR_TEXT, Atomics.load(ctl, ERRLEN)).slice())
      throw new LlmfragError('INTERNAL', `compute thread ${failed - 1} failed: ${text}`)
    }
  }

  private waitForWorkers(ctl: Int32Array): void {
    const until = performance.now() + this.spinMicros / 1000
    while (Atomics.load(ctl, PENDING) !== 0 && performance.now() < until) { /* spin: the last chunks end within microseconds */ }
    for (let left = Atomics.load(ctl, PENDING); left !== 0; left = Atomics.load(ctl, PENDING)) Atomics.wait(ctl, PENDING, left)
  }

  /** Stops the workers (idempotent). */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    const ctl = this.main.ctl
    Atomics.store(ctl, STOP, 1)
    Atomics.add(ctl, GEN, 1)
    Atomics.notify(ctl, GEN)
    await Promise.all(this.workers.map((w) => new Promise<void>((resolve) => {
      const timer = setTimeout(() => void w.terminate().then(() => resolve()), CLOSE_TIMEOUT_MS)
      w.once('exit', () => {
        clearTimeout(timer)
        resolve()
      })
    })))
  }
}
