/**
 * A compute pool worker (protocol in ./protocol.ts): instantiates the kernels over every memory,
 * says `ready`, then loops: wait for GEN to move (a short spin, then Atomics.wait), take chunks
 * until none are left, count itself out of PENDING (the last one wakes the main thread).
 */
import {parentPort, workerData} from 'node:worker_threads'

import {GEN, PENDING, STOP, type FromWorker, type WorkerInit} from './protocol.js'
import {ThreadContext} from './thread-context.js'

const init = workerData as WorkerInit
const port = parentPort
if (!port) throw new Error('the compute worker must run as a worker thread')

let ctx: ThreadContext | undefined
let seen = 0
try {
  ctx = new ThreadContext(init.index, init.control, init.memories, init.buffers, init.relaxedSimd)
  // Read GEN before saying ready: the first job may be posted the moment `ready` arrives.
  seen = Atomics.load(ctx.ctl, GEN)
  port.postMessage({type: 'ready'} satisfies FromWorker)
} catch (err) {
  port.postMessage({type: 'error', message: err instanceof Error ? err.message : String(err)} satisfies FromWorker)
}
if (ctx) loop(ctx, seen)

function loop(t: ThreadContext, generation: number): void {
  const ctl = t.ctl
  let seen = generation
  for (;;) {
    seen = waitForChange(ctl, seen, init.spinMicros)
    if (Atomics.load(ctl, STOP) !== 0) break
    try {
      t.runChunks()
    } catch (err) {
      t.fail(err)
    }
    if (Atomics.sub(ctl, PENDING, 1) === 1) Atomics.notify(ctl, PENDING)
  }
  port?.close()
}

/** Returns GEN once it differs from `seen`: spins up to spinMicros (jobs come in quick bursts), then sleeps. */
function waitForChange(ctl: Int32Array, seen: number, spinMicros: number): number {
  if (spinMicros > 0) {
    const until = performance.now() + spinMicros / 1000
    do {
      const g = Atomics.load(ctl, GEN)
      if (g !== seen) return g
    } while (performance.now() < until)
  }
  for (;;) {
    Atomics.wait(ctl, GEN, seen)
    const g = Atomics.load(ctl, GEN)
    if (g !== seen) return g
  }
}
