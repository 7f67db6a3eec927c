/**
 * A single .gguf file as a ModelSource: the header parsed once, tensor data read straight into the
 * caller's views in file order (no intermediate buffer, so no extra copy and no fresh memory).
 */
import {closeSync, openSync, readSync} from 'node:fs'
import {setImmediate as yieldToEventLoop} from 'node:timers/promises'

import {ioError, LlmfragError} from '../errors.js'
import {readGGUFHeader} from '../gguf/reader.js'
import type {GGUFHeader, GGUFKV} from '../gguf/types.js'
import type {LoadOptions, LoadReport, ModelSource, SourceTensor} from './model-source.js'

/** Keys llama.cpp's gguf-split adds to shards; a ModelSource shows the model without them. */
export const SPLIT_KEYS: readonly string[] = ['split.no', 'split.count', 'split.tensors.count']

export function withoutSplitKeys(kv: readonly GGUFKV[]): GGUFKV[] {
  return kv.filter((e) => !SPLIT_KEYS.includes(e.key))
}

/** Bytes read per readSync call: progress and event-loop turns come this often. */
const READ_PIECE = 64 << 20

export class GGUFFileSource implements ModelSource {
  readonly kind = 'gguf'
  readonly version: number
  readonly kv: readonly GGUFKV[]
  readonly tensors: readonly SourceTensor[]
  readonly totalBytes: number
  readonly header: GGUFHeader

  constructor(readonly path: string, header?: GGUFHeader) {
    this.header = header ?? readGGUFHeader(path)
    this.version = this.header.version
    this.kv = withoutSplitKeys(this.header.kv)
    this.tensors = this.header.tensors.map(({name, dims, type, bytes}) => ({name, dims, type, bytes}))
    this.totalBytes = this.tensors.reduce((s, t) => s + t.bytes, 0)
  }

  async load(place: (t: SourceTensor) => Uint8Array, options: LoadOptions = {}): Promise<LoadReport> {
    const started = performance.now()
    // Storage order, so the file is read front to back once.
    const order = this.header.tensors.map((t, i) => ({t, i})).sort((a, b) => a.t.offset - b.t.offset)
    let fd: number
    try {
      fd = openSync(this.path, 'r')
    } catch (err) {
      throw ioError(err, this.path, 'open')
    }
    let done = 0
    try {
      for (const {t, i} of order) {
        const target = place(this.tensors[i])
        if (target.byteLength !== t.bytes) {
          throw new LlmfragError('INTERNAL', `place(${t.name}) returned ${target.byteLength} bytes, expected ${t.bytes}`)
        }
        const at = this.header.dataOffset + t.offset
        for (let got = 0; got < t.bytes;) {
          const want = Math.min(READ_PIECE, t.bytes - got)
          let n: number
          try {
            n = readSync(fd, target, got, want, at + got)
          } catch (err) {
            throw ioError(err, this.path, 'read')
          }
          if (n === 0) {
            throw new LlmfragError('IO', `${this.path}: unexpected end of file at byte ${at + got} while reading ${t.name}`, {
              hints: ['the file is truncated or changed while loading'],
            })
          }
          got += n
          done += n
          options.onProgress?.(done, this.totalBytes)
          if (n === READ_PIECE) await yieldToEventLoop()
        }
      }
    } finally {
      closeSync(fd)
    }
    return {bytes: done, seconds: (performance.now() - started) / 1000, hashSeconds: 0, verified: false}
  }
}
