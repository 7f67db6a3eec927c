/**
 * `join`: rebuilds the original .gguf from a fragment set, byte for byte. The header is re-encoded
 * from fragment 1's key/values (less the split.* keys) and the manifest's tensor table with each
 * tensor's `source_offset`; the data are streamed from each fragment to their original offsets;
 * everything else is zero. Fragments are visited in the order their data had in the source, so
 * the output is normally written front to back and hashed on the way (on worker threads, with each
 * fragment's stored sha256 checked alongside); if the set's order does not allow that, the output
 * is hashed again after writing. The result must match `source.sha256`, or the output is removed.
 */
import {type FileHandle, open} from 'node:fs/promises'
import {existsSync, mkdirSync, renameSync, rmSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'

import {ioError, LlmfragError} from '../errors.js'
import {ggmlTypeByName} from '../gguf/ggml-types.js'
import {encodeGGUFHeader} from '../gguf/writer.js'
import {withoutSplitKeys} from '../source/gguf-source.js'
import {ChunkRing, readFully, writeFully} from './chunk-ring.js'
import {readFragmentHeader} from './fragment-header.js'
import {damaged, FragmentReader, type RawChunk} from './fragment-reader.js'
import {type Manifest, type ManifestFragment, type ManifestTensor, readManifest} from './manifest.js'
import {CHUNK_BYTES, CHUNK_SLOTS} from './split.js'
import {hashThroughRing, StreamHasher} from './stream-hash.js'

export interface JoinOptions {
  /** Replace an existing output file. */
  readonly force?: boolean
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void
  /** Aborting stops between chunks, removes the partial output and rejects with the signal's reason. */
  readonly signal?: AbortSignal
}

export interface JoinResult {
  readonly output: string
  readonly bytes: number
  readonly sha256: string
  readonly fragments: number
  readonly compression: 'none' | 'zstd'
  readonly seconds: number
  /** Output bytes per second, in GB/s (10^9). */
  readonly gbPerSecond: number
  readonly hashSeconds: number
  /** True when the set's order forced a second read of the output to hash it. */
  readonly rehashed: boolean
}

/** The original header, re-encoded; checked against the manifest's `data_offset`. */
export function rebuildHeader(m: Manifest, dir: string): Buffer {
  const first = m.fragments[0]
  const h = readFragmentHeader(join(dir, first.file), m.compression === 'zstd', first.raw_bytes ?? first.bytes)
  const kv = withoutSplitKeys(h.kv)
  if (kv.length !== m.source.kv_count) throw damaged(join(dir, first.file), 'the number of metadata keys (less split.*)', m.source.kv_count, kv.length)
  const tensors = m.tensors.map((t) => {
    const type = ggmlTypeByName(t.type)
    if (!type) throw new LlmfragError('MANIFEST', `manifest: tensor ${t.name} has unknown type ${t.type}`)
    return {name: t.name, dims: t.shape, type: type.type, offset: t.source_offset}
  })
  const header = encodeGGUFHeader({version: m.source.gguf_version, kv, tensors, alignment: m.source.alignment})
  if (header.length !== m.source.data_offset) throw damaged(join(dir, first.file), 'the rebuilt header size', m.source.data_offset, header.length)
  return header
}

/** Where the output is hashed up to, and whether the bytes still arrive in order. */
interface OutputHash {
  readonly stream: number
  hashed: number
  next: number // index into `order`: the tensor whose bytes must come next
  inOrder: boolean
}

export async function joinFragments(dir: string, output: string, options: JoinOptions = {}): Promise<JoinResult> {
  const started = performance.now()
  const m = readManifest(dir)
  const compressed = m.compression === 'zstd'
  const header = rebuildHeader(m, dir)
  const partial = join(dirname(output), `.partial-${basename(output)}`)
  try {
    mkdirSync(dirname(output), {recursive: true})
  } catch (err) {
    throw ioError(err, dirname(output), 'create directory')
  }
  if (!options.force && existsSync(output)) {
    throw new LlmfragError('BAD_INPUT', `${output} already exists`, {hints: ['choose another output path, or pass --force to replace it']})
  }
  let fh: FileHandle
  try {
    fh = await open(partial, 'w+') // readable too, for rehash()
  } catch (err) {
    throw ioError(err, partial, 'create')
  }

  const ring = new ChunkRing(CHUNK_SLOTS, CHUNK_BYTES)
  const pool = new StreamHasher(ring.buffers)
  try {
    const byName = new Map(m.tensors.map((t) => [t.name, t]))
    const tensorsOf = (f: ManifestFragment): ManifestTensor[] =>
      f.tensors.map((n) => byName.get(n)).filter((t): t is ManifestTensor => t !== undefined).sort((a, b) => a.offset - b.offset)
    const firstOffset = (f: ManifestFragment): number => {
      const offsets = tensorsOf(f).map((t) => t.source_offset)
      return offsets.length > 0 ? Math.min(...offsets) : -1
    }
    const visit = [...m.fragments].sort((a, b) => firstOffset(a) - firstOffset(b) || a.index - b.index)
    const order = [...m.tensors].sort((a, b) => a.source_offset - b.source_offset)
    const out: OutputHash = {stream: pool.open(m.source.size), hashed: 0, next: 0, inOrder: true}

    // The output at its final size first (zeros after the last tensor; writes inside a file's size
    // are cheaper than writes extending it), then the header: written, and hashed through a slot.
    try {
      await fh.truncate(m.source.size)
    } catch (err) {
      throw ioError(err, partial, 'write')
    }
    writeFully(fh.fd, partial, header, 0)
    await hashThroughRing(ring, pool, out.stream, header)
    out.hashed = header.length

    const reader = new FragmentReader(dir, compressed, ring, pool)
    const totalStored = m.fragments.reduce((s, f) => s + f.bytes, 0)
    let storedBefore = 0
    // Plain fragments stream back to back: each one's sha256 is checked when the workers get
    // through it, while the next is read; the first mismatch stops the join at the next chunk.
    for (const f of visit) {
      const tensors = tensorsOf(f)
      let t = 0 // first tensor of this fragment not yet wholly written
      const onChunk = (c: RawChunk): Promise<unknown> => {
        options.signal?.throwIfAborted()
        if (reader.mismatch) throw reader.mismatch
        const end = c.rawStart + c.length
        for (let i = t; i < tensors.length; i++) {
          const tensor = tensors[i]
          const start = f.data_offset + tensor.offset
          if (start >= end) break
          const a = Math.max(start, c.rawStart)
          const b = Math.min(start + tensor.bytes, end)
          if (b > a) {
            const at = m.source.data_offset + tensor.source_offset + (a - start)
            writeFully(fh.fd, partial, c.slot.bytes.subarray(a - c.rawStart, b - c.rawStart), at)
            if (out.inOrder && order[out.next] === tensor && at >= out.hashed) {
              pool.zeros(out.stream, at - out.hashed) // zero padding before this tensor
              pool.update(out.stream, c.slot.index, a - c.rawStart, b - c.rawStart)
              out.hashed = at + (b - a)
              if (b === start + tensor.bytes) out.next++
            } else {
              out.inOrder = false
            }
          }
          if (start + tensor.bytes > end) break
          t = i + 1
        }
        return pool.flush()
      }
      await reader.streamChecked(f, {onChunk, onRead: (n: number) => options.onProgress?.(storedBefore + n, totalStored)})
      storedBefore += f.bytes
    }
    await ring.drain()
    await reader.allChecked()

    let sha256: string
    if (out.inOrder) {
      pool.zeros(out.stream, m.source.size - out.hashed)
      sha256 = (await pool.digest([out.stream]))[0]
    } else {
      sha256 = await rehash(fh, partial, m.source.size, ring, pool)
    }
    await fh.close()
    if (sha256 !== m.source.sha256) {
      throw new LlmfragError('CHECK_FAILED', `the joined file's sha256 is ${sha256}, the manifest's source.sha256 is ${m.source.sha256}`, {
        hints: ['every fragment matched its own sha256, so the manifest does not describe these fragments: split the model again'],
        details: {expected: m.source.sha256, actual: sha256},
      })
    }
    try {
      renameSync(partial, output)
    } catch (err) {
      throw ioError(err, output, 'write')
    }
    const seconds = (performance.now() - started) / 1000
    return {
      output, bytes: m.source.size, sha256, fragments: m.fragments.length, compression: m.compression,
      seconds, gbPerSecond: m.source.size / seconds / 1e9, hashSeconds: pool.hashSeconds, rehashed: !out.inOrder,
    }
  } catch (err) {
    await ring.drain().catch(() => {})
    await fh.close().catch(() => {})
    rmSync(partial, {force: true})
    throw err
  } finally {
    await pool.close()
  }
}

/** sha256 of the written output, read back through the slots (when fragments came out of order). */
async function rehash(fh: FileHandle, path: string, size: number, ring: ChunkRing, pool: StreamHasher): Promise<string> {
  const stream = pool.open(size)
  for (let pos = 0; pos < size;) {
    const slot = await ring.acquire()
    const n = readFully(fh.fd, path, slot.bytes, Math.min(ring.size, size - pos), pos)
    pool.update(stream, slot.index, 0, n)
    ring.hold(slot, pool.flush())
    pos += n
  }
  return (await pool.digest([stream]))[0]
}
