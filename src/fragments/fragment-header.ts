/**
 * Reads the GGUF header of one fragment file, plain or zstd-compressed, without reading its data:
 * a plain shard through `readGGUFHeader`; a compressed one by streaming the frame through fzstd
 * only until the header parses (a prefix of the decompressed shard, which the parser sees as a
 * file of the shard's full `raw_bytes`). Used by verify; the data itself is checked by hashing.
 */
import {closeSync, openSync, readSync} from 'node:fs'

import {Decompress} from 'fzstd'

import {ioError, LlmfragError} from '../errors.js'
import type {ByteSource} from '../gguf/byte-source.js'
import {parseGGUFHeader, readGGUFHeader} from '../gguf/reader.js'
import type {GGUFHeader} from '../gguf/types.js'

const READ_CHUNK = 1 << 20
/** The parser reads through a 1 MiB window, so a prefix must reach 1 MiB past the header's end. */
const FIRST_TRY = 2 << 20

/** Signals that the parser wanted bytes past the decompressed prefix: decompress more and retry. */
class NeedMore extends Error {}

/** The first `prefix.length` bytes of a shard of `size` bytes. */
class PrefixSource implements ByteSource {
  constructor(readonly name: string, readonly size: number, private readonly prefix: Uint8Array) {}

  readInto(position: number, length: number, target: Uint8Array, targetOffset: number): void {
    if (position + length > this.prefix.length) throw new NeedMore()
    target.set(this.prefix.subarray(position, position + length), targetOffset)
  }

  close(): void {}
}

/** Parses the header of a zstd-compressed shard whose decompressed size is `rawBytes`. */
function readCompressedHeader(path: string, rawBytes: number): GGUFHeader {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (err) {
    throw ioError(err, path, 'open')
  }
  const chunks: Uint8Array[] = []
  let have = 0
  const decoder = new Decompress((data) => {
    chunks.push(data)
    have += data.length
  })
  // fzstd keeps a view of the previous chunk's undecoded tail until the next push: alternate two buffers.
  const inputs = [Buffer.allocUnsafe(READ_CHUNK), Buffer.allocUnsafe(READ_CHUNK)]
  let flip = 0
  let position = 0
  let ended = false
  let nextTry = FIRST_TRY
  try {
    for (;;) {
      if (have >= Math.min(nextTry, rawBytes) || ended) {
        const prefix = Buffer.concat(chunks, have)
        chunks.length = 0
        chunks.push(prefix)
        try {
          return parseGGUFHeader(new PrefixSource(path, rawBytes, prefix))
        } catch (err) {
          if (!(err instanceof NeedMore)) throw err
          if (ended) {
            throw new LlmfragError('GGUF_FORMAT', `${path}: the zstd frame ends after ${have} bytes, before the GGUF header does (raw_bytes ${rawBytes})`, {
              hints: ['the fragment is truncated or damaged: copy it again from the source'],
            })
          }
          nextTry = have * 2
        }
      }
      const input = inputs[flip ^= 1]
      const n = readSync(fd, input, 0, READ_CHUNK, position)
      position += n
      ended = n === 0
      try {
        decoder.push(input.subarray(0, n), ended)
      } catch (err) {
        throw new LlmfragError('GGUF_FORMAT', `${path}: zstd data at compressed byte ${position - n}..${position}: ${(err as Error).message}`, {
          hints: ['the compressed fragment is damaged: copy it again from the source'],
          cause: err,
        })
      }
    }
  } finally {
    closeSync(fd)
  }
}

/** The header of a fragment file: plain GGUF, or zstd (`rawBytes` = the decompressed size). */
export function readFragmentHeader(path: string, compressed: boolean, rawBytes = 0): GGUFHeader {
  return compressed ? readCompressedHeader(path, rawBytes) : readGGUFHeader(path)
}
