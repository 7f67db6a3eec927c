/**
 * A fragment set (DESIGN section 4) as a ModelSource: the manifest's tensor table, fragment 1's
 * metadata (less the split.* keys), and one streaming pass over the fragments in index order,
 * each tensor copied into the caller's view as its bytes go by. With `verify`, each stored file's
 * sha256 is computed while it streams and a mismatch fails the load: plain fragments stream back to
 * back while their hashes finish on worker threads (the first mismatch stops the load at the next
 * fragment; 7B set: 2.3 s of hashing hidden behind the reads, verified loads 2.7-5.5 s beside
 * 5.5-5.8 s unverified, where waiting for each fragment's hash took 6.0 s against 3.8 s), compressed
 * ones are checked one by one.
 */
import {join} from 'node:path'

import {LlmfragError} from '../errors.js'
import {ChunkRing} from '../fragments/chunk-ring.js'
import {readFragmentHeader} from '../fragments/fragment-header.js'
import {damaged, FragmentReader, type RawChunk} from '../fragments/fragment-reader.js'
import {type Manifest, type ManifestTensor, readManifest} from '../fragments/manifest.js'
import {StreamHasher} from '../fragments/stream-hash.js'
import {ggmlTypeByName} from '../gguf/ggml-types.js'
import type {GGUFKV} from '../gguf/types.js'
import {withoutSplitKeys} from './gguf-source.js'
import type {LoadOptions, LoadReport, ModelSource, SourceTensor} from './model-source.js'

const CHUNK_BYTES = 16 << 20
const CHUNK_SLOTS = 3

function sourceTensor(t: ManifestTensor): SourceTensor {
  const type = ggmlTypeByName(t.type)
  if (!type) throw new LlmfragError('MANIFEST', `manifest: tensor ${t.name} has unknown type ${t.type}`)
  return {name: t.name, dims: t.shape, type: type.type, bytes: t.bytes}
}

export class FragmentSetSource implements ModelSource {
  readonly kind = 'fragments'
  readonly manifest: Manifest
  readonly version: number
  readonly kv: readonly GGUFKV[]
  readonly tensors: readonly SourceTensor[]
  readonly totalBytes: number

  /** `path`: the set's directory. Reads the manifest and fragment 1's header. */
  constructor(readonly path: string) {
    this.manifest = readManifest(path)
    const first = this.manifest.fragments[0]
    const firstPath = join(path, first.file)
    const header = readFragmentHeader(firstPath, this.manifest.compression === 'zstd', first.raw_bytes ?? first.bytes)
    this.kv = withoutSplitKeys(header.kv)
    if (this.kv.length !== this.manifest.source.kv_count) {
      throw damaged(firstPath, 'the number of metadata keys (less split.*)', this.manifest.source.kv_count, this.kv.length)
    }
    this.version = this.manifest.source.gguf_version
    this.tensors = this.manifest.tensors.map(sourceTensor)
    this.totalBytes = this.tensors.reduce((s, t) => s + t.bytes, 0)
  }

  async load(place: (t: SourceTensor) => Uint8Array, options: LoadOptions = {}): Promise<LoadReport> {
    const started = performance.now()
    const m = this.manifest
    const verify = options.verify ?? false
    const byName = new Map(m.tensors.map((t, i) => [t.name, {entry: t, source: this.tensors[i]}]))
    const ring = new ChunkRing(CHUNK_SLOTS, CHUNK_BYTES)
    const pool = verify && m.compression === 'none' ? new StreamHasher(ring.buffers) : undefined
    const reader = new FragmentReader(this.path, m.compression === 'zstd', ring, pool)
    let done = 0
    let hashSeconds = 0
    try {
      for (const f of m.fragments) {
        if (reader.mismatch) throw reader.mismatch
        const tensors = f.tensors.map((n) => byName.get(n)).filter((t) => t !== undefined).sort((a, b) => a.entry.offset - b.entry.offset)
        const targets = new Map<string, Uint8Array>()
        let next = 0 // first tensor of this fragment not yet wholly copied
        const onChunk = (c: RawChunk): void => {
          const end = c.rawStart + c.length
          for (let i = next; i < tensors.length; i++) {
            const {entry, source} = tensors[i]
            const start = f.data_offset + entry.offset
            if (start >= end) break
            let target = targets.get(entry.name)
            if (!target) {
              target = place(source)
              if (target.byteLength !== entry.bytes) {
                throw new LlmfragError('INTERNAL', `place(${entry.name}) returned ${target.byteLength} bytes, expected ${entry.bytes}`)
              }
              targets.set(entry.name, target)
            }
            const a = Math.max(start, c.rawStart)
            const b = Math.min(start + entry.bytes, end)
            if (b > a) {
              target.set(c.slot.bytes.subarray(a - c.rawStart, b - c.rawStart), a - start)
              done += b - a
            }
            if (start + entry.bytes > end) break
            next = i + 1
            targets.delete(entry.name)
          }
          options.onProgress?.(done, this.totalBytes)
        }
        if (verify) hashSeconds += await reader.streamChecked(f, {onChunk})
        else await reader.stream(f, {hash: false, onChunk})
        if (next < tensors.length) throw damaged(join(this.path, f.file), 'the data (tensors past the end of the shard)', f.raw_bytes ?? f.bytes, 'shorter')
      }
      await ring.drain()
      await reader.allChecked()
      hashSeconds += pool?.hashSeconds ?? 0
    } finally {
      await ring.drain().catch(() => {})
      await pool?.close()
    }
    return {bytes: done, seconds: (performance.now() - started) / 1000, hashSeconds, verified: verify}
  }
}
