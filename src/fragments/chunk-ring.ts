/**
 * A few large shared buffers reused round-robin for streaming a file through the process: read a
 * chunk into the next slot, hand it to hashing workers and writers, move on while they work. A
 * slot is reused only after everything holding it has finished. The buffers are allocated once:
 * fresh memory is slow to touch on these machines (PLATFORM.md), reused memory is fast.
 */
import {readSync, writeSync} from 'node:fs'

import {ioError, LlmfragError} from '../errors.js'

export interface Slot {
  /** Index in `ChunkRing.buffers` (what hash workers are told). */
  readonly index: number
  /** View of the whole slot. */
  readonly bytes: Uint8Array
}

const noop = (): void => {}

/**
 * Reads exactly `length` bytes at `position` of `fd` into `target` (synchronously: from the page
 * cache this takes about a millisecond per 16 MiB, while hashing and writing go on elsewhere).
 */
export function readFully(fd: number, path: string, target: Uint8Array, length: number, position: number): number {
  let done = 0
  while (done < length) {
    let n: number
    try {
      n = readSync(fd, target, done, length - done, position + done)
    } catch (err) {
      throw ioError(err, path, 'read')
    }
    if (n === 0) {
      throw new LlmfragError('IO', `${path}: unexpected end of file at byte ${position + done} (expected ${position + length})`, {
        hints: ['the file was truncated or changed while being read'],
      })
    }
    done += n
  }
  return done
}

/**
 * The largest single write. On these VMs, large writes fill the page cache several times more
 * slowly than small ones (copying the 4.4 GB model under the same conditions: 16 MiB writes
 * 3.9-11 s, nearly all of it in the kernel's copy into fresh page-cache memory; 128 KiB writes
 * 1.1-5.5 s; cp 1.3-2.7 s). Probably the large page-cache folios a large write asks for come from
 * memory the host has taken back (free page reporting), while small ones reuse recently freed pages.
 */
export const WRITE_PIECE = 128 << 10

/**
 * Writes all of `bytes` at `position` of `fd`, synchronously, in pieces of at most WRITE_PIECE
 * bytes. Synchronous on purpose: one writer at a time (parallel writes to one file only contend
 * for its lock), and no thread-pool round trip per piece.
 */
export function writeFully(fd: number, path: string, bytes: Uint8Array, position: number): void {
  for (let done = 0; done < bytes.length;) {
    try {
      done += writeSync(fd, bytes, done, Math.min(WRITE_PIECE, bytes.length - done), position + done)
    } catch (err) {
      throw ioError(err, path, 'write')
    }
  }
}

export class ChunkRing {
  readonly buffers: readonly SharedArrayBuffer[]
  private readonly slots: Slot[]
  private readonly pending: Array<Promise<unknown>>
  private next = 0

  /** `count` slots of `size` bytes each. */
  constructor(count: number, readonly size: number) {
    this.buffers = Array.from({length: count}, () => new SharedArrayBuffer(size))
    this.slots = this.buffers.map((b, index) => ({index, bytes: new Uint8Array(b)}))
    this.pending = this.slots.map(() => Promise.resolve())
  }

  /** The next slot, once the work that last held it has settled (a failure of that work throws here). */
  async acquire(): Promise<Slot> {
    const i = this.next
    this.next = (i + 1) % this.slots.length
    await this.pending[i]
    this.pending[i] = Promise.resolve()
    return this.slots[i]
  }

  /** Keeps `slot` busy until `work` settles. */
  hold(slot: Slot, work: Promise<unknown>): void {
    // Mark the rejection handled now; acquire() or drain() still sees it when it awaits.
    work.catch(noop)
    this.pending[slot.index] = Promise.all([this.pending[slot.index], work])
    this.pending[slot.index].catch(noop)
  }

  /** Waits for all held work; throws the first failure. */
  async drain(): Promise<void> {
    await Promise.all(this.pending)
  }
}
