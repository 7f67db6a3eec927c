/**
 * A memory-read thread (memory-read.ts). It owns its buffer, so the memory is returned when the
 * thread ends (before the model loads: the buffer never adds to the run's peak RSS with the model).
 * Protocol, postMessage:
 *   start           workerData `{bytes, control}`: allocate and fill `bytes`, then `{type: 'ready'}`
 *   main -> worker  `{type: 'arm', length, go}`: scan bytes [0, length) once control[0] (Int32)
 *                   reaches `go` (Atomics.wait, so every thread starts together)
 *   worker -> main  `{type: 'armed'}` just before waiting, then `{type: 'done', startMs, endMs}`
 *                   (absolute times: performance.timeOrigin + performance.now())
 */
import {parentPort, workerData} from 'node:worker_threads'

export type ToReader = {readonly type: 'arm'; readonly length: number; readonly go: number}
export type FromReader = {readonly type: 'ready'} | {readonly type: 'armed'} | {readonly type: 'done'; readonly startMs: number; readonly endMs: number}

const {bytes, control} = workerData as {bytes: number; control: SharedArrayBuffer}
const ctl = new Int32Array(control)
const buffer = Buffer.alloc(bytes)
buffer.fill(0) // first touch (slow on these machines), outside the timing
markPages(buffer)
const port = parentPort
port?.postMessage({type: 'ready'} satisfies FromReader)
port?.on('message', (m: ToReader) => {
  port.postMessage({type: 'armed'} satisfies FromReader)
  // Wait on the value just compared: a store between the comparison and the wait then returns at once.
  for (let v = Atomics.load(ctl, 0); v < m.go; v = Atomics.load(ctl, 0)) Atomics.wait(ctl, 0, v)
  const startMs = performance.timeOrigin + performance.now()
  buffer.subarray(0, m.length).indexOf(1)
  port.postMessage({type: 'done', startMs, endMs: performance.timeOrigin + performance.now()} satisfies FromReader)
})

/**
 * Gives every 4 KiB page distinct bytes (its number in base 254, digits 2..255; never the byte 1
 * that the scan looks for): a hypervisor that merges identical pages would otherwise back all of
 * a zero-filled buffer with one cached page and the scan would measure the cache.
 */
function markPages(b: Buffer): void {
  for (let page = 0, at = 0; at + 4 <= b.length; page++, at += 4096) {
    for (let d = 0, v = page; d < 4; d++, v = Math.floor(v / 254)) b[at + d] = 2 + (v % 254)
  }
}
