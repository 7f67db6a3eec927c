/**
 * `--logits-out FILE`: the logits of every evaluated position as float32 little-endian, row-major
 * (n_positions, n_vocab) -- the layout of the fixtures' `seqNNN.*.logits.f32`. Rows are written
 * as they are computed to `FILE.partial-<pid>` and renamed into place when complete.
 */
import {closeSync, openSync, renameSync, rmSync, writeSync} from 'node:fs'
import {endianness} from 'node:os'

import {ioError} from '../errors.js'
import type {LogitsCallback} from './engine.js'

export interface LogitsWriter {
  readonly onLogits: LogitsCallback
  /** Closes and renames the file into place; returns the positions written. */
  finish(): number
  /** Closes and removes the partial file (after a failure). */
  abort(): void
}

export function createLogitsWriter(path: string): LogitsWriter {
  const partial = `${path}.partial-${process.pid}`
  let fd: number
  try {
    fd = openSync(partial, 'w')
  } catch (err) {
    throw ioError(err, partial, 'create')
  }
  let positions = 0
  let open = true
  const close = (): void => {
    if (open) closeSync(fd)
    open = false
  }
  return {
    onLogits(logits, _pos, n) {
      const bytes = new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength)
      if (endianness() === 'BE') {
        const le = new DataView(new ArrayBuffer(logits.byteLength))
        for (let i = 0; i < logits.length; i++) le.setFloat32(i * 4, logits[i], true)
        writeAll(fd, new Uint8Array(le.buffer), partial)
      } else {
        writeAll(fd, bytes, partial)
      }
      positions += n
    },
    finish() {
      close()
      try {
        renameSync(partial, path)
      } catch (err) {
        throw ioError(err, path, 'write')
      }
      return positions
    },
    abort() {
      close()
      rmSync(partial, {force: true})
    },
  }
}

function writeAll(fd: number, data: Uint8Array, path: string): void {
  try {
    for (let at = 0; at < data.byteLength;) at += writeSync(fd, data, at, data.byteLength - at)
  } catch (err) {
    throw ioError(err, path, 'write')
  }
}
