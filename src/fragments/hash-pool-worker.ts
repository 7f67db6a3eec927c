/**
 * Worker side of the hash pool (hash-pool.ts): sha256 of whole files or of byte ranges, read with
 * readSync into one reused buffer (PLATFORM.md: fresh memory is slow to touch, and 4-16 MiB updates
 * keep node:crypto near 1.4 GB/s per core; stream piping is much slower).
 *
 * Protocol (one job at a time per worker):
 *   worker → main  {type: 'ready'}                     once loaded; the main thread then sends jobs
 *   main → worker  {type: 'job', id, path, ranges?}   ranges: [{start, length}] in file bytes
 *   worker → main  {type: 'progress', id, bytes}       bytes hashed since the last progress message
 *                  {type: 'done', id, digests, bytes}  one hex digest per range (or one for the file)
 *                  {type: 'error', id, message}
 */
import {createHash} from 'node:crypto'
import {closeSync, fstatSync, openSync, readSync} from 'node:fs'
import {parentPort} from 'node:worker_threads'

export interface HashRange {
  readonly start: number
  readonly length: number
}

export type ToWorker = {readonly type: 'job'; readonly id: number; readonly path: string; readonly ranges?: readonly HashRange[]}

export type FromWorker =
  | {readonly type: 'ready'}
  | {readonly type: 'progress'; readonly id: number; readonly bytes: number}
  | {readonly type: 'done'; readonly id: number; readonly digests: string[]; readonly bytes: number}
  | {readonly type: 'error'; readonly id: number; readonly message: string}

const CHUNK = 8 << 20 // 8 MiB: large enough for full hash speed, small enough for smooth progress

let buffer: Buffer | undefined

function hashRange(fd: number, start: number, length: number, id: number, post: (m: FromWorker) => void): string {
  buffer ??= Buffer.allocUnsafe(CHUNK)
  const hash = createHash('sha256')
  let done = 0
  while (done < length) {
    const want = Math.min(CHUNK, length - done)
    const n = readSync(fd, buffer, 0, want, start + done)
    if (n === 0) throw new Error(`unexpected end of file at byte ${start + done} (expected ${start + length})`)
    hash.update(buffer.subarray(0, n))
    done += n
    post({type: 'progress', id, bytes: n})
  }
  return hash.digest('hex')
}

function run(job: ToWorker, post: (m: FromWorker) => void): void {
  let fd: number | undefined
  try {
    fd = openSync(job.path, 'r')
    const ranges = job.ranges ?? [{start: 0, length: fstatSync(fd).size}]
    const digests: string[] = []
    let bytes = 0
    for (const r of ranges) {
      digests.push(hashRange(fd, r.start, r.length, job.id, post))
      bytes += r.length
    }
    post({type: 'done', id: job.id, digests, bytes})
  } catch (err) {
    post({type: 'error', id: job.id, message: (err as Error).message ?? String(err)})
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

const port = parentPort
if (port) {
  const post = (m: FromWorker): void => port.postMessage(m)
  port.on('message', (job: ToWorker) => run(job, post))
  post({type: 'ready'})
}
