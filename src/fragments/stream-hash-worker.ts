/**
 * Worker side of StreamHasher (stream-hash.ts): keeps sha256 contexts for many byte streams and
 * feeds them ranges of the shared chunk buffers the main thread reads files into, so hashing runs
 * on another core while the main thread reads and writes. Messages are handled in order, so a
 * digest request sees every update posted before it.
 *
 * workerData: {slots: SharedArrayBuffer[]} (the chunk buffers; tsxEntry when run from source)
 * Protocol:
 *   main → worker  {type: 'batch', id, ops}       ops: [stream, slot, start, end] ranges of a slot,
 *                                                  or [stream, -1, zeroBytes, 0] for zero padding
 *                  {type: 'digest', id, streams}  finishes and forgets those streams
 *   worker → main  {type: 'done', id, seconds}    seconds spent hashing the batch
 *                  {type: 'digests', id, digests} hex, in the order asked
 *                  {type: 'error', id, message}
 */
import {createHash, type Hash} from 'node:crypto'
import {parentPort, workerData} from 'node:worker_threads'

/** [stream, slot, start, end]; slot -1 means `start` zero bytes. */
export type HashOp = readonly [number, number, number, number]

export type ToHashWorker =
  | {readonly type: 'batch'; readonly id: number; readonly ops: readonly HashOp[]}
  | {readonly type: 'digest'; readonly id: number; readonly streams: readonly number[]}

export type FromHashWorker =
  | {readonly type: 'done'; readonly id: number; readonly seconds: number}
  | {readonly type: 'digests'; readonly id: number; readonly digests: string[]}
  | {readonly type: 'error'; readonly id: number; readonly message: string}

export interface HashWorkerData {
  readonly slots: readonly SharedArrayBuffer[]
}

const ZEROS = new Uint8Array(1 << 16)

function main(): void {
  const port = parentPort
  if (!port) return
  const slots = (workerData as HashWorkerData).slots.map((b) => new Uint8Array(b))
  const streams = new Map<number, Hash>()
  const stream = (id: number): Hash => {
    let h = streams.get(id)
    if (!h) streams.set(id, h = createHash('sha256'))
    return h
  }
  const post = (m: FromHashWorker): void => port.postMessage(m)
  port.on('message', (m: ToHashWorker) => {
    try {
      if (m.type === 'batch') {
        const t0 = performance.now()
        for (const [id, slot, start, end] of m.ops) {
          const h = stream(id)
          if (slot < 0) {
            for (let left = start; left > 0; left -= ZEROS.length) h.update(ZEROS.subarray(0, Math.min(left, ZEROS.length)))
          } else {
            h.update(slots[slot].subarray(start, end))
          }
        }
        post({type: 'done', id: m.id, seconds: (performance.now() - t0) / 1000})
      } else {
        const digests = m.streams.map((id) => {
          const d = stream(id).digest('hex')
          streams.delete(id)
          return d
        })
        post({type: 'digests', id: m.id, digests})
      }
    } catch (err) {
      post({type: 'error', id: m.id, message: (err as Error).message ?? String(err)})
    }
  })
}

main()
