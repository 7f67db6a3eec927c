/**
 * Streams the raw (uncompressed) bytes of a set's fragments through the slots of a ChunkRing, for
 * join and the fragment-set ModelSource. A plain shard is read straight into the slots; a
 * compressed one is read through two alternating input buffers (fzstd keeps a view of the last
 * chunk's tail until the next push), decoded by fzstd, and its blocks are gathered into slots.
 * The stored file's sha256 is computed on the way when asked (on the hash workers for a plain
 * shard; on this thread for a compressed one, where decoding is far slower than hashing), and its
 * size and decoded size are checked against the manifest.
 */
import {createHash, type Hash} from 'node:crypto'
import {closeSync, fstatSync, openSync} from 'node:fs'
import {join} from 'node:path'

import {ioError, LlmfragError} from '../errors.js'
import {type ChunkRing, readFully, type Slot} from './chunk-ring.js'
import type {ManifestFragment} from './manifest.js'
import type {StreamHasher} from './stream-hash.js'
import {ZstdStreamDecoder} from './zstd.js'

/** A run of raw shard bytes: `slot.bytes[0, length)` are shard bytes [rawStart, rawStart + length). */
export interface RawChunk {
  readonly slot: Slot
  readonly rawStart: number
  readonly length: number
}

export interface StreamOptions {
  /** Compute the stored file's sha256 (returned in `storedSha256`). */
  readonly hash: boolean
  /**
   * Consumes a chunk; returns the work that still reads the slot (writes, hashing), or nothing
   * when it is done with the slot on return.
   */
  readonly onChunk: (chunk: RawChunk) => Promise<unknown> | void
  /** Stored bytes read so far in this fragment. */
  readonly onRead?: (storedBytes: number) => void
}

export interface StreamReport {
  readonly storedSha256?: string
  readonly rawBytes: number
  /** Seconds this thread spent hashing (compressed fragments; plain ones hash on the pool's workers). */
  readonly hashSeconds: number
}

/** Compressed bytes read per push into fzstd. */
const INPUT_BYTES = 4 << 20

export function damaged(file: string, what: string, expected: string | number, actual: string | number): LlmfragError {
  return new LlmfragError('CHECK_FAILED', `${file}: ${what} is ${actual}, the manifest says ${expected}`, {
    hints: ['the fragment is damaged or belongs to another set: copy it again from the source of the set, or split the model again',
      'run `llmfrag verify` on the set to see every damaged fragment'],
    details: {file, field: what, expected, actual},
  })
}

export class FragmentReader {
  private inputs: [Buffer, Buffer] | undefined
  private readonly checks: Array<Promise<void>> = [] // streamChecked's pending sha256 checks
  private firstMismatch: Error | undefined

  /** `compressed`: the set's fragments are zstd frames. `pool` hashes plain fragments (needed to hash them). */
  constructor(private readonly dir: string, private readonly compressed: boolean, private readonly ring: ChunkRing,
    private readonly pool?: StreamHasher) {}

  async stream(f: ManifestFragment, options: StreamOptions): Promise<StreamReport> {
    const path = join(this.dir, f.file)
    const fd = this.open(path, f)
    try {
      const report = this.compressed ? await this.streamCompressed(fd, path, f.bytes, f, options) : await this.streamPlain(fd, path, f.bytes, options)
      const rawExpected = f.raw_bytes ?? f.bytes
      if (report.rawBytes !== rawExpected) throw damaged(path, 'the decompressed size', rawExpected, report.rawBytes)
      return report
    } finally {
      await this.ring.drain().catch(() => {})
      closeSync(fd)
    }
  }

  /**
   * A plain fragment's chunks handed to `onChunk` one after another, returning as soon as the last
   * is read: neither the work still holding the slots nor the sha256 is waited for, so the next
   * fragment's reads can follow at once (join streams a whole set this way). `storedSha256`
   * resolves once the hash workers are through the fragment; `ring.drain()` waits for the rest.
   */
  async streamQueued(f: ManifestFragment, options: StreamOptions): Promise<{readonly storedSha256: Promise<string | undefined>}> {
    if (this.compressed) throw new LlmfragError('INTERNAL', 'FragmentReader.streamQueued reads plain fragments only')
    const path = join(this.dir, f.file)
    const fd = this.open(path, f)
    try {
      return await this.readPlain(fd, path, f.bytes, options)
    } finally {
      closeSync(fd) // the reads are done: the slots hold the bytes
    }
  }

  /**
   * Streams a fragment with its stored sha256 checked against the manifest's: a compressed one as
   * `stream` does, a mismatch thrown at its end; a plain one as `streamQueued` does, its digest
   * checked when the hash workers get through it while the caller reads on. The first mismatch of
   * a plain fragment is kept in `mismatch` (callers stop at it) and `allChecked()` rejects with it.
   * Returns the seconds this thread spent hashing.
   */
  async streamChecked(f: ManifestFragment, options: Omit<StreamOptions, 'hash'>): Promise<number> {
    const path = join(this.dir, f.file)
    if (this.compressed) {
      const report = await this.stream(f, {...options, hash: true})
      if (report.storedSha256 !== f.sha256) throw damaged(path, 'the sha256', f.sha256, report.storedSha256 ?? 'none')
      return report.hashSeconds
    }
    const {storedSha256} = await this.streamQueued(f, {...options, hash: true})
    const check = storedSha256.then((sha) => {
      if (sha !== f.sha256) throw damaged(path, 'the sha256', f.sha256, sha ?? 'none')
    })
    check.catch((err: Error) => {
      this.firstMismatch ??= err
    })
    this.checks.push(check)
    return 0
  }

  /** The first sha256 mismatch found so far among the plain fragments of streamChecked. */
  get mismatch(): Error | undefined {
    return this.firstMismatch
  }

  /** Resolves when every check of streamChecked has passed; rejects with the first mismatch. */
  async allChecked(): Promise<void> {
    await Promise.all(this.checks)
  }

  /** Opens a fragment and checks its size against the manifest. */
  private open(path: string, f: ManifestFragment): number {
    let fd: number
    try {
      fd = openSync(path, 'r')
    } catch (err) {
      throw ioError(err, path, 'open')
    }
    try {
      const size = fstatSync(fd).size
      if (size !== f.bytes) throw damaged(path, 'the file size', f.bytes, size)
    } catch (err) {
      closeSync(fd)
      throw err
    }
    return fd
  }

  private async streamPlain(fd: number, path: string, size: number, options: StreamOptions): Promise<StreamReport> {
    const {storedSha256} = await this.readPlain(fd, path, size, options)
    await this.ring.drain()
    return {storedSha256: await storedSha256, rawBytes: size, hashSeconds: 0}
  }

  /** Reads a plain fragment through the slots; returns its pending sha256 (undefined unless asked). */
  private async readPlain(fd: number, path: string, size: number, options: StreamOptions): Promise<{readonly storedSha256: Promise<string | undefined>}> {
    const pool = options.hash ? this.pool : undefined
    if (options.hash && !pool) throw new LlmfragError('INTERNAL', 'FragmentReader: hashing a plain fragment needs a StreamHasher')
    const stream = pool?.open(size) ?? -1
    for (let pos = 0; pos < size;) {
      const slot = await this.ring.acquire()
      const n = readFully(fd, path, slot.bytes, Math.min(this.ring.size, size - pos), pos)
      pool?.update(stream, slot.index, 0, n)
      const work = options.onChunk({slot, rawStart: pos, length: n})
      this.ring.hold(slot, Promise.all([pool?.flush(), work]))
      pos += n
      options.onRead?.(pos)
    }
    if (!pool) return {storedSha256: Promise.resolve(undefined)}
    const storedSha256 = pool.digest([stream]).then(([d]) => d)
    storedSha256.catch(() => {}) // the caller awaits it; a failure meanwhile is not unhandled
    return {storedSha256}
  }

  private async streamCompressed(fd: number, path: string, size: number, f: ManifestFragment, options: StreamOptions): Promise<StreamReport> {
    this.inputs ??= [Buffer.allocUnsafeSlow(INPUT_BYTES), Buffer.allocUnsafeSlow(INPUT_BYTES)]
    const sha: Hash | undefined = options.hash ? createHash('sha256') : undefined
    const blocks: Uint8Array[] = []
    let pending = 0 // decoded bytes in `blocks`
    let rawStart = 0
    let hashMs = 0
    const decoder = new ZstdStreamDecoder(path, (block) => {
      blocks.push(block)
      pending += block.length
    })
    /** Moves decoded blocks into slots: whole slots, and the remainder when `final`. */
    const gather = async (final: boolean): Promise<void> => {
      while (pending >= this.ring.size || (final && pending > 0)) {
        const slot = await this.ring.acquire()
        let n = 0
        while (n < this.ring.size && blocks.length > 0) {
          const b = blocks[0]
          const take = Math.min(b.length, this.ring.size - n)
          slot.bytes.set(b.subarray(0, take), n)
          n += take
          if (take === b.length) blocks.shift()
          else blocks[0] = b.subarray(take)
        }
        pending -= n
        this.ring.hold(slot, Promise.resolve(options.onChunk({slot, rawStart, length: n})))
        rawStart += n
      }
    }
    for (let pos = 0, flip = 0; pos < size; flip ^= 1) {
      const input = this.inputs[flip]
      const n = readFully(fd, path, input, Math.min(INPUT_BYTES, size - pos), pos)
      if (sha) {
        const t0 = performance.now()
        sha.update(input.subarray(0, n))
        hashMs += performance.now() - t0
      }
      pos += n
      if (rawStart + pending > (f.raw_bytes ?? Number.MAX_SAFE_INTEGER)) break // decodes to more than the shard: stop early
      decoder.push(input.subarray(0, n), pos === size)
      await gather(pos === size)
      options.onRead?.(pos)
    }
    await gather(true)
    await this.ring.drain()
    return {storedSha256: sha?.digest('hex'), rawBytes: rawStart, hashSeconds: hashMs / 1000}
  }
}
