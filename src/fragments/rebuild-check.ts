/**
 * Before a split writes anything: proof that join can rebuild the source byte for byte from what
 * the set keeps (the version, key/values, tensor infos and alignment, re-encoded by
 * `encodeGGUFHeader`; the tensor data; zeros everywhere else). A file that cannot be rebuilt that
 * way (a header the encoder would write differently, overlapping tensors, non-zero bytes between
 * tensors or after the last) is refused, so no set is ever written that would not join back.
 */
import {readSync} from 'node:fs'

import {ioError, LlmfragError} from '../errors.js'
import {encodeGGUFHeader} from '../gguf/writer.js'
import type {GGUFHeader} from '../gguf/types.js'

const PIECE = 1 << 20

function refuse(path: string, what: string, hint: string, details: Record<string, unknown>): LlmfragError {
  return new LlmfragError('UNSUPPORTED', `${path}: cannot be split into a set that joins back byte for byte: ${what}`, {
    hints: [hint, 'llama.cpp\'s llama-gguf-split --merge or a re-conversion writes a canonical file that splits cleanly'],
    details: {file: path, ...details},
  })
}

function read(fd: number, path: string, position: number, length: number, into: Buffer): Buffer {
  const view = into.subarray(0, length)
  let n: number
  try {
    n = readSync(fd, view, 0, length, position)
  } catch (err) {
    throw ioError(err, path, 'read')
  }
  if (n !== length) throw new LlmfragError('IO', `${path}: short read at byte ${position} (${n} of ${length} bytes)`)
  return view
}

/** First non-zero byte in file bytes [from, to), or -1. */
function firstNonZero(fd: number, path: string, from: number, to: number, scratch: Buffer): number {
  for (let at = from; at < to; at += PIECE) {
    const b = read(fd, path, at, Math.min(PIECE, to - at), scratch)
    const i = b.findIndex((x) => x !== 0)
    if (i >= 0) return at + i
  }
  return -1
}

/** Throws UNSUPPORTED naming the first byte that join could not reproduce. */
export function checkRebuildable(fd: number, path: string, header: GGUFHeader): void {
  const encoded = encodeGGUFHeader({version: header.version, kv: header.kv, tensors: header.tensors, alignment: header.alignment})
  if (encoded.length !== header.dataOffset) {
    throw refuse(path, `its header re-encodes to ${encoded.length} bytes, not ${header.dataOffset}`,
      'the header uses an encoding this tool does not reproduce', {field: 'header', expected: header.dataOffset, actual: encoded.length})
  }
  const scratch = Buffer.allocUnsafe(PIECE)
  for (let at = 0; at < header.dataOffset; at += scratch.length) {
    const n = Math.min(scratch.length, header.dataOffset - at)
    const original = read(fd, path, at, n, scratch)
    const mine = encoded.subarray(at, at + n)
    if (!original.equals(mine)) {
      let i = 0
      while (original[i] === mine[i]) i++
      throw refuse(path, `its header differs from the re-encoded one at byte ${at + i} (file 0x${original[i].toString(16)}, re-encoded 0x${mine[i].toString(16)})`,
        'the header holds bytes (padding, float NaN payloads, a byte-order mark) that do not survive decoding', {offset: at + i})
    }
  }
  const byData = [...header.tensors].sort((a, b) => a.offset - b.offset)
  let end = header.dataOffset // end of the previous tensor's data, in file bytes
  let previous = '(the header)'
  for (const t of byData) {
    const start = header.dataOffset + t.offset
    if (start < end) {
      throw refuse(path, `tensor ${t.name} (bytes ${start}..${start + t.bytes}) overlaps ${previous}, which ends at byte ${end}`,
        'tensors that share data cannot be stored apart', {tensor: t.name, offset: start})
    }
    const bad = firstNonZero(fd, path, end, start, scratch)
    if (bad >= 0) {
      throw refuse(path, `non-zero byte at ${bad}, between ${previous} and tensor ${t.name} (padding is expected to be zero)`,
        'the padding between tensors carries data that no tensor owns', {offset: bad})
    }
    end = start + t.bytes
    previous = `tensor ${t.name}`
  }
  const bad = firstNonZero(fd, path, end, header.fileSize, scratch)
  if (bad >= 0) {
    throw refuse(path, `non-zero byte at ${bad}, after the last tensor's data (which ends at byte ${end})`,
      'the file has trailing data after the model', {offset: bad})
  }
}
