/**
 * sha256 of many byte streams at once on worker threads, fed from shared chunk buffers (the
 * ChunkRing's slots). Split hashes every byte three times (the source file, its fragment, its
 * tensor) and join twice; at ~2 GB/s per core for sha256, that work has to leave the thread doing
 * the I/O and spread over the cores. Each stream lives on one worker (the least loaded when it is
 * opened, by expected bytes, unless the caller places it), so its updates stay in order. A stream
 * may also be `local`: hashed at once on the calling thread (which then stops reading and writing
 * meanwhile: split gives its third hash a third worker instead, and lets the kernel share the
 * cores). The protocol is documented in stream-hash-worker.ts.
 */
import {createHash, type Hash} from 'node:crypto'
import {availableParallelism} from 'node:os'
import {Worker} from 'node:worker_threads'

import {LlmfragError} from '../errors.js'
import type {FromHashWorker, HashOp, HashWorkerData, ToHashWorker} from './stream-hash-worker.js'
import type {ChunkRing} from './chunk-ring.js'

interface Waiter {
  resolve(value: FromHashWorker): void
  reject(err: Error): void
}

/**
 * The worker module next to this one: .js when built; .ts under tsx (tests), through the shared
 * bootstrap that registers tsx's hooks in the worker first (Node 20 workers do not inherit them).
 */
function startWorker(data: HashWorkerData): Worker {
  if (import.meta.url.endsWith('.ts')) {
    const tsxEntry = new URL('./stream-hash-worker.ts', import.meta.url).href
    return new Worker(new URL('./tsx-worker-bootstrap.mjs', import.meta.url), {workerData: {...data, tsxEntry}})
  }
  return new Worker(new URL('./stream-hash-worker.js', import.meta.url), {workerData: data})
}

export class StreamHasher {
  private readonly workers: Worker[]
  private readonly load: number[]
  private readonly queues: HashOp[][]
  private readonly owner = new Map<number, number>() // stream id -> worker index
  private readonly local = new Map<number, Hash>() // streams hashed on this thread
  private readonly slots: readonly Uint8Array[]
  private localMs = 0
  private readonly waiters = new Map<number, Waiter>() // message id -> its reply
  private nextMessage = 0
  private nextStream = 0
  private failure: Error | undefined
  private workerSeconds = 0

  /** `slots`: the shared buffers updates refer to by index. */
  constructor(slots: readonly SharedArrayBuffer[], threads = Math.min(2, availableParallelism())) {
    const n = Math.max(1, threads)
    this.slots = slots.map((b) => new Uint8Array(b))
    this.workers = Array.from({length: n}, () => startWorker({slots}))
    this.load = new Array<number>(n).fill(0)
    this.queues = Array.from({length: n}, () => [])
    this.workers.forEach((w) => {
      w.on('message', (m: FromHashWorker) => this.onMessage(m))
      w.on('error', (err) => this.fail(err))
      // Any exit before close() (even code 0) would leave replies pending forever: fail them.
      w.on('exit', (code) => this.fail(new LlmfragError('INTERNAL', `hash worker exited with code ${code}`)))
    })
  }

  private onMessage(m: FromHashWorker): void {
    const w = this.waiters.get(m.id)
    if (!w) return
    this.waiters.delete(m.id)
    if (m.type === 'error') w.reject(new LlmfragError('INTERNAL', `hash worker: ${m.message}`))
    else w.resolve(m)
  }

  private fail(err: Error): void {
    this.failure ??= err
    for (const w of this.waiters.values()) w.reject(err)
    this.waiters.clear()
  }

  private send(worker: number, make: (id: number) => ToHashWorker): Promise<FromHashWorker> {
    if (this.failure) return Promise.reject(this.failure)
    const id = this.nextMessage++
    const reply = new Promise<FromHashWorker>((resolve, reject) => this.waiters.set(id, {resolve, reject}))
    this.workers[worker].postMessage(make(id))
    return reply
  }

  /**
   * A new stream: on worker `place` (modulo the worker count), on this thread (`'local'`), or by
   * default on the worker with the fewest expected bytes.
   */
  open(expectedBytes: number, place?: number | 'local'): number {
    const id = this.nextStream++
    if (place === 'local') {
      this.local.set(id, createHash('sha256'))
      return id
    }
    let w = 0
    if (place !== undefined) w = place % this.workers.length
    else for (let i = 1; i < this.load.length; i++) if (this.load[i] < this.load[w]) w = i
    this.load[w] += expectedBytes
    this.owner.set(id, w)
    return id
  }

  private queueOf(stream: number): HashOp[] {
    const w = this.owner.get(stream)
    if (w === undefined) throw new LlmfragError('INTERNAL', `hash stream ${stream} is not open`)
    return this.queues[w]
  }

  /** Queues bytes [start, end) of slot `slot` for `stream` (sent by the next flush()), or hashes them now if local. */
  update(stream: number, slot: number, start: number, end: number): void {
    const h = this.local.get(stream)
    if (h) {
      const t0 = performance.now()
      h.update(this.slots[slot].subarray(start, end))
      this.localMs += performance.now() - t0
    } else if (end > start) {
      this.queueOf(stream).push([stream, slot, start, end])
    }
  }

  /** Queues `n` zero bytes (alignment padding) for `stream`. */
  zeros(stream: number, n: number): void {
    const h = this.local.get(stream)
    if (h) h.update(Buffer.alloc(n))
    else if (n > 0) this.queueOf(stream).push([stream, -1, n, 0])
  }

  /** Seconds spent hashing, workers and this thread summed. */
  get hashSeconds(): number {
    return this.workerSeconds + this.localMs / 1000
  }

  /** Sends the queued updates; resolves when the workers have hashed them (their slots may be reused). */
  flush(): Promise<void> {
    const sent: Array<Promise<FromHashWorker>> = []
    this.queues.forEach((ops, w) => {
      if (ops.length === 0) return
      this.queues[w] = []
      sent.push(this.send(w, (id) => ({type: 'batch', id, ops})))
    })
    if (sent.length === 0) return Promise.resolve()
    return Promise.all(sent).then((replies) => {
      for (const reply of replies) if (reply.type === 'done') this.workerSeconds += reply.seconds
    })
  }

  /**
   * Flushes, then finishes `streams` and returns their hex digests in the same order. The requests
   * go out at once, behind the flushed updates (a worker handles its messages in order), so a
   * digest costs no extra round trip and the caller may go on queueing other streams meanwhile.
   */
  async digest(streams: readonly number[]): Promise<string[]> {
    const flushed = this.flush()
    flushed.catch(() => {}) // awaited below, after the digest requests are out
    const byWorker = new Map<number, number[]>()
    const found = new Map<number, string>()
    for (const s of streams) {
      const h = this.local.get(s)
      if (h) {
        found.set(s, h.digest('hex'))
        this.local.delete(s)
        continue
      }
      const w = this.owner.get(s)
      if (w === undefined) throw new LlmfragError('INTERNAL', `hash stream ${s} is not open`)
      this.owner.delete(s)
      byWorker.set(w, [...(byWorker.get(w) ?? []), s])
    }
    const asked = [...byWorker].map(async ([w, ids]) => {
      const reply = await this.send(w, (id) => ({type: 'digest', id, streams: ids}))
      if (reply.type === 'digests') ids.forEach((s, i) => found.set(s, reply.digests[i]))
    })
    await Promise.all([flushed, ...asked])
    return streams.map((s) => found.get(s) ?? '')
  }

  async close(): Promise<void> {
    this.fail(new LlmfragError('INTERNAL', 'the hasher was closed'))
    await Promise.all(this.workers.map((w) => w.terminate()))
  }
}

/**
 * Feeds bytes that live outside the ring (a GGUF header built in memory) to a hash stream: copied
 * through the ring's shared slots, so the hash workers see them, chunk by chunk.
 */
export async function hashThroughRing(ring: ChunkRing, hasher: StreamHasher, stream: number, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length; at += ring.size) {
    const n = Math.min(ring.size, bytes.length - at)
    const slot = await ring.acquire()
    slot.bytes.set(bytes.subarray(at, at + n))
    hasher.update(stream, slot.index, 0, n)
    ring.hold(slot, hasher.flush())
  }
}
