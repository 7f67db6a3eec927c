/**
 * Bounded random-access byte sources for the GGUF parser: a file read through a descriptor in
 * chunks (never the whole file), or a buffer already in memory.
 */
import {closeSync, fstatSync, openSync, readSync} from 'node:fs'

import {ioError} from '../errors.js'

export interface ByteSource {
  readonly name: string
  readonly size: number
  /** Reads exactly `length` bytes at `position` into `target` at `targetOffset`; the caller checks bounds. */
  readInto(position: number, length: number, target: Uint8Array, targetOffset: number): void
  close(): void
}

const MAX_READ = 1 << 30 // readSync reads at most 2^31-1 bytes per call

export class FileSource implements ByteSource {
  readonly size: number
  private fd: number

  constructor(readonly name: string) {
    try {
      this.fd = openSync(name, 'r')
      this.size = fstatSync(this.fd).size
    } catch (err) {
      throw ioError(err, name, 'open')
    }
  }

  readInto(position: number, length: number, target: Uint8Array, targetOffset: number): void {
    let done = 0
    while (done < length) {
      const n = readSync(this.fd, target, targetOffset + done, Math.min(length - done, MAX_READ), position + done)
      if (n === 0) throw ioError(new Error(`unexpected end of file at byte ${position + done}`), this.name, 'read')
      done += n
    }
  }

  close(): void {
    closeSync(this.fd)
  }
}

export class BufferSource implements ByteSource {
  readonly size: number

  constructor(readonly name: string, private readonly data: Uint8Array) {
    this.size = data.byteLength
  }

  readInto(position: number, length: number, target: Uint8Array, targetOffset: number): void {
    target.set(this.data.subarray(position, position + length), targetOffset)
  }

  close(): void {}
}
