/**
 * `split`: a .gguf model into a fragment set (DESIGN section 4), in one sequential pass over the
 * source. Each chunk is read once into a shared slot (ChunkRing); three worker threads hash it
 * three ways (the source file, each fragment, each tensor: StreamHasher) while this thread writes
 * its bytes to their fragments (small synchronous positional writes, see writeFully, or a memory
 * image when compressing) and reads the next chunks. The manifest is written last, after every
 * fragment has been renamed from `.partial-*` into place.
 */
import {closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync} from 'node:fs'
import {basename, join} from 'node:path'

import {ioError, LlmfragError} from '../errors.js'
import {ggmlTypeName} from '../gguf/ggml-types.js'
import {readGGUFHeader} from '../gguf/reader.js'
import type {GGUFHeader, GGUFTensorInfo} from '../gguf/types.js'
import {analyzeArchitecture} from '../profiles/detect.js'
import {ChunkRing, readFully} from './chunk-ring.js'
import {CompressedSink, type FragmentSink, ImagePool, PlainSink, type StoredFragment} from './fragment-sink.js'
import {
  isPlainName, type Manifest, type ManifestArchitecture, type ManifestFragment, type ManifestTensor, MANIFEST_FILE, readManifest, writeManifest,
} from './manifest.js'
import {type FragmentPlan, planFragments} from './plan.js'
import {checkRebuildable} from './rebuild-check.js'
import {hashThroughRing, StreamHasher} from './stream-hash.js'
import {DEFAULT_LEVEL, ZstdEncoder} from './zstd.js'

export const CHUNK_BYTES = 8 << 20 // one slot: sha256 runs at full speed from 1 MiB updates on
export const CHUNK_SLOTS = 6 // reads run ahead of the slowest hash stream by up to 5 chunks
/** One hash worker per hash of a byte (the source, its fragment, its tensor): equal work on each. */
const HASH_THREADS = 3

export interface SplitOptions {
  /** One zstd frame per fragment. */
  readonly compress?: boolean
  /** zstd level (default 3). */
  readonly level?: number
  /** Write into a non-empty directory (replacing a previous set there). */
  readonly force?: boolean
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void
  /** Aborting stops between chunks, removes the partial files and rejects with the signal's reason. */
  readonly signal?: AbortSignal
}

export interface SplitResult {
  readonly dir: string
  readonly manifest: string
  readonly source: {readonly file: string; readonly size: number; readonly sha256: string}
  readonly architecture: string
  readonly fragments: number
  readonly tensors: number
  readonly compression: 'none' | 'zstd'
  /** Bytes of the stored fragment files. */
  readonly storedBytes: number
  readonly seconds: number
  /** Source bytes per second, in GB/s (10^9). */
  readonly gbPerSecond: number
  /** Seconds the hash workers spent hashing (they run alongside the I/O). */
  readonly hashSeconds: number
}

/** `{name, version}` of this package (package.json sits two levels above src/fragments and dist/fragments). */
export function toolInfo(): {name: string; version: string} {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {name: string; version: string}
  return {name: pkg.name, version: pkg.version}
}

function describeArchitecture(header: GGUFHeader): ManifestArchitecture {
  const {detection} = analyzeArchitecture(header.kv, header.tensors)
  const general = header.kv.find((e) => e.key === 'general.architecture')?.value
  const generalName = typeof general === 'string' ? general : undefined
  if (!detection) return {name: generalName ?? 'unknown', ...(generalName ? {general_architecture: generalName} : {})}
  const d = detection.dims
  return {
    name: detection.name, general_architecture: detection.architecture,
    dim: d.dim, ffn_hidden: d.ffnHidden, layers: d.layers, heads: d.heads, kv_heads: d.kvHeads, head_dim: d.headDim,
    vocab: d.vocab, rope_base: d.ropeBase, context_length: d.contextLength,
  }
}

/** Makes `dir` ready: created if missing; refused if non-empty unless `force`. Returns the previous set's files. */
function prepareDir(dir: string, force: boolean): string[] {
  try {
    mkdirSync(dir, {recursive: true})
  } catch (err) {
    throw ioError(err, dir, 'create directory')
  }
  const entries = readdirSync(dir)
  if (entries.length === 0) return []
  if (!force) {
    throw new LlmfragError('BAD_INPUT', `${dir} is not empty (${entries.length} entries)`, {
      hints: ['choose an empty or new directory, or pass --force to replace the set in it'],
    })
  }
  let previous: string[] = []
  if (entries.includes(MANIFEST_FILE)) {
    try {
      previous = readManifest(dir).fragments.map((f) => f.file)
    } catch {
      // An unreadable old manifest: its fragments are left alone, only replaced where names match.
    }
    // Never leave a manifest beside fragments it does not describe, even if this run fails.
    rmSync(join(dir, MANIFEST_FILE), {force: true})
  }
  for (const e of entries) if (e.startsWith('.partial-')) rmSync(join(dir, e), {force: true})
  return previous
}

/** A fragment being written: its plan, where its bytes go, and how far its hash has got. */
interface Shard {
  readonly plan: FragmentPlan
  readonly sink: FragmentSink
  readonly stream: number // hash stream of the whole shard
  hashed: number // shard bytes hashed so far (padding is hashed as zeros when the next bytes come)
  left: number // tensors not yet complete
  stored?: Promise<StoredFragment>
  compressing: boolean // finished with a compressed sink, not yet awaited by the copy loop
}

/** One tensor's bytes as they fall in the source, routed to its shard at `shardAt`. */
interface Piece {
  readonly tensor: GGUFTensorInfo
  readonly shard: Shard
  readonly start: number // file offset in the source
  readonly end: number
  readonly shardAt: number // offset in the shard
  readonly stream: number // the tensor's hash stream
}

function finishShard(s: Shard): void {
  s.stored = s.sink.finish()
  s.compressing = s.sink instanceof CompressedSink
  s.stored.catch(() => {}) // awaited later; a failure must not surface as an unhandled rejection first
}

/**
 * Streams the source once: every chunk hashed as the source, and each tensor's bytes written to
 * and hashed as its shard and as itself. Shards are finished as soon as their last tensor is in.
 */
async function copyAndHash(fd: number, model: string, size: number, shards: readonly Shard[], pieces: readonly Piece[],
  ring: ChunkRing, pool: StreamHasher, sourceStream: number, options: SplitOptions): Promise<void> {
  // Shard headers (the sinks write them) are hashed first, copied through a slot so the workers see them.
  for (const s of shards) {
    await hashThroughRing(ring, pool, s.stream, s.plan.header)
    s.hashed = s.plan.header.length
    if (s.left === 0) finishShard(s)
  }
  let next = 0 // first piece not yet wholly routed
  for (let pos = 0; pos < size;) {
    options.signal?.throwIfAborted()
    const slot = await ring.acquire()
    const n = readFully(fd, model, slot.bytes, Math.min(ring.size, size - pos), pos)
    pool.update(sourceStream, slot.index, 0, n)
    const writes: Array<Promise<void>> = []
    for (let i = next; i < pieces.length && pieces[i].start < pos + n; i++) {
      const pc = pieces[i]
      const s = pc.shard
      const a = Math.max(pc.start, pos)
      const b = Math.min(pc.end, pos + n)
      if (b > a) {
        const at = pc.shardAt + (a - pc.start)
        writes.push(s.sink.write(slot.bytes.subarray(a - pos, b - pos), at))
        pool.zeros(s.stream, at - s.hashed) // alignment padding before this tensor
        pool.update(s.stream, slot.index, a - pos, b - pos)
        s.hashed = at + (b - a)
        pool.update(pc.stream, slot.index, a - pos, b - pos)
      }
      if (pc.end > pos + n) break
      next = i + 1
      // A plain sink's writes are done on return; a compressed image already holds the bytes.
      if (--s.left === 0) finishShard(s)
    }
    ring.hold(slot, Promise.all([pool.flush(), ...writes]))
    // Compression runs on this thread anyway: wait for a finished image to be compressed and written
    // before filling the next, so one image is in use at a time, not one per shard read meanwhile.
    for (const s of shards) if (s.compressing) await s.stored
    for (const s of shards) s.compressing = false
    pos += n
    options.onProgress?.(pos, size)
  }
  await ring.drain()
}

export async function splitModel(model: string, dir: string, options: SplitOptions = {}): Promise<SplitResult> {
  const started = performance.now()
  const compress = options.compress ?? false
  const file = basename(model)
  if (!isPlainName(file)) throw new LlmfragError('BAD_INPUT', `the model file name ${JSON.stringify(file)} cannot be recorded in a manifest`)
  const header = readGGUFHeader(model)
  if (header.kv.some((e) => e.key.startsWith('split.'))) {
    throw new LlmfragError('BAD_INPUT', `${model} is already a split shard (it has split.* metadata)`, {
      hints: ['merge the shards first (llmfrag join, or llama.cpp\'s llama-gguf-split --merge), then split the whole model'],
    })
  }
  let fd: number
  try {
    fd = openSync(model, 'r')
  } catch (err) {
    throw ioError(err, model, 'open')
  }
  const shards: Shard[] = []
  const ring = new ChunkRing(CHUNK_SLOTS, CHUNK_BYTES)
  const pool = new StreamHasher(ring.buffers, HASH_THREADS)
  let encoder: ZstdEncoder | undefined
  try {
    checkRebuildable(fd, model, header)
    const previous = prepareDir(dir, options.force ?? false)
    const plans = planFragments(header, file.replace(/\.gguf$/i, ''), compress)
    const size = header.fileSize
    const largest = Math.max(...plans.map((p) => p.rawBytes))
    const images = new ImagePool(largest)
    encoder = compress ? await ZstdEncoder.create(options.level ?? DEFAULT_LEVEL) : undefined
    encoder?.reserve(largest)
    for (const plan of plans) {
      const partial = join(dir, `.partial-${plan.file}`)
      const sink = encoder
        ? new CompressedSink(partial, plan.header, plan.rawBytes, images, encoder)
        : await PlainSink.create(partial, plan.header, plan.rawBytes)
      shards.push({plan, sink, stream: pool.open(plan.rawBytes, 1), hashed: 0, left: plan.tensors.length, compressing: false})
    }
    // Three hashes of every byte, one per worker: the source, its shard, its tensor. This thread
    // only reads and writes; the kernel spreads the four busy threads over the cores.
    const sourceStream = pool.open(size, 0)
    const pieces: Piece[] = shards.flatMap((shard) => shard.plan.tensors.map((tensor, i) => ({
      tensor, shard, start: header.dataOffset + tensor.offset, end: header.dataOffset + tensor.offset + tensor.bytes,
      shardAt: shard.plan.header.length + shard.plan.offsets[i], stream: pool.open(tensor.bytes, 2),
    }))).sort((a, b) => a.start - b.start)

    await copyAndHash(fd, model, size, shards, pieces, ring, pool, sourceStream, options)

    const stored: StoredFragment[] = []
    for (const s of shards) {
      if (!s.stored) throw new LlmfragError('INTERNAL', `fragment ${s.plan.file} was never completed`)
      stored.push(await s.stored)
      pool.zeros(s.stream, s.plan.rawBytes - s.hashed) // padding after the last tensor
    }
    const [sourceSha, ...shardShas] = await pool.digest([sourceStream, ...shards.map((s) => s.stream)])
    const tensorShas = await pool.digest(pieces.map((pc) => pc.stream))
    const tensorInfo = new Map(pieces.map((pc, i) => [pc.tensor.name, {
      fragment: pc.shard.plan.index, offset: pc.shardAt - pc.shard.plan.header.length, sha256: tensorShas[i],
    }]))

    const fragments: ManifestFragment[] = shards.map(({plan}, i) => ({
      index: plan.index, file: plan.file,
      bytes: stored[i].bytes, sha256: stored[i].sha256 ?? shardShas[i],
      ...(compress ? {raw_bytes: plan.rawBytes, raw_sha256: shardShas[i]} : {}),
      data_offset: plan.header.length, layer: plan.layer, tensors: plan.tensors.map((t) => t.name),
    }))
    const tensors: ManifestTensor[] = header.tensors.map((t) => {
      const where = tensorInfo.get(t.name)
      if (!where) throw new LlmfragError('INTERNAL', `tensor ${t.name} was not placed in any fragment`)
      return {name: t.name, type: ggmlTypeName(t.type), shape: [...t.dims], ...where, bytes: t.bytes, source_offset: t.offset}
    })
    const manifest: Manifest = {
      format: 1, tool: toolInfo(), created: new Date().toISOString(),
      source: {
        file, size, sha256: sourceSha, gguf_version: header.version === 2 ? 2 : 3, tensor_count: header.tensors.length,
        kv_count: header.kv.length, alignment: header.alignment, data_offset: header.dataOffset,
      },
      architecture: describeArchitecture(header),
      compression: compress ? 'zstd' : 'none',
      fragments, tensors,
    }

    for (const {plan} of shards) {
      try {
        renameSync(join(dir, `.partial-${plan.file}`), join(dir, plan.file))
      } catch (err) {
        throw ioError(err, join(dir, plan.file), 'write')
      }
    }
    const manifestPath = writeManifest(dir, manifest)
    const current = new Set(plans.map((p) => p.file))
    for (const old of previous) if (isPlainName(old) && !current.has(old)) rmSync(join(dir, old), {force: true})

    const seconds = (performance.now() - started) / 1000
    return {
      dir, manifest: manifestPath, source: {file, size, sha256: sourceSha}, architecture: manifest.architecture.name,
      fragments: plans.length, tensors: header.tensors.length, compression: manifest.compression,
      storedBytes: fragments.reduce((sum, f) => sum + f.bytes, 0), seconds, gbPerSecond: size / seconds / 1e9,
      hashSeconds: pool.hashSeconds,
    }
  } catch (err) {
    await ring.drain().catch(() => {})
    await Promise.all(shards.map(async (s) => {
      await s.stored?.catch(() => {})
      await s.sink.abort()
    }))
    throw err
  } finally {
    closeSync(fd)
    encoder?.release()
    await pool.close()
  }
}
