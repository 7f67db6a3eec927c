/**
 * Where split puts one fragment's bytes while they stream in from the source: straight into its
 * file at their shard positions (`PlainSink`), or into a memory image that is compressed as one
 * zstd frame once complete (`CompressedSink`; the encoder is one-shot: the image, plus the
 * encoder's copy of it and its output, make about three times the largest fragment). Both write to
 * `DIR/.partial-<file>`; split renames the files into place when the whole set is written.
 */
import {createHash} from 'node:crypto'
import {open, type FileHandle} from 'node:fs/promises'
import {rmSync} from 'node:fs'

import {ioError} from '../errors.js'
import {writeFully} from './chunk-ring.js'
import type {ZstdEncoder} from './zstd.js'

export interface StoredFragment {
  /** Bytes of the stored file. */
  readonly bytes: number
  /** sha256 of the stored file when it differs from the shard (compressed); otherwise undefined. */
  readonly sha256?: string
}

export interface FragmentSink {
  /** Stores shard bytes at `position` (past the header, which the sink writes itself); once the promise resolves, `bytes` may be reused. */
  write(bytes: Uint8Array, position: number): Promise<void>
  /** Completes the file once every byte of the shard has been written. */
  finish(): Promise<StoredFragment>
  /** Removes the partial file (after a failure). */
  abort(): Promise<void>
}

async function openPartial(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'w')
  } catch (err) {
    throw ioError(err, path, 'create')
  }
}

/** Writes the shard in place; holes between writes are alignment padding and read back as zeros. */
export class PlainSink implements FragmentSink {
  private constructor(private readonly path: string, private readonly fh: FileHandle, private readonly rawBytes: number) {}

  /**
   * Creates the partial file at its final size (writes inside the file's size are cheaper than
   * writes that extend it: 4.4 GB into one file, 1.0-1.9 s against 1.5-4.7 s), and writes the
   * shard's header into it. On failure the partial file is removed.
   */
  static async create(path: string, header: Uint8Array, rawBytes: number): Promise<PlainSink> {
    const sink = new PlainSink(path, await openPartial(path), rawBytes)
    try {
      await sink.fh.truncate(rawBytes)
    } catch (err) {
      await sink.abort()
      throw ioError(err, path, 'write')
    }
    try {
      writeFully(sink.fh.fd, path, header, 0)
    } catch (err) {
      await sink.abort()
      throw err
    }
    return sink
  }

  /** Writes at once (writeFully: synchronous, in small pieces); the promise is settled on return. */
  write(bytes: Uint8Array, position: number): Promise<void> {
    try {
      writeFully(this.fh.fd, this.path, bytes, position)
      return Promise.resolve()
    } catch (err) {
      return Promise.reject(err)
    }
  }

  async finish(): Promise<StoredFragment> {
    try {
      await this.fh.close() // the padding after the last tensor is there since create()
    } catch (err) {
      throw ioError(err, this.path, 'write')
    }
    return {bytes: this.rawBytes}
  }

  async abort(): Promise<void> {
    await this.fh.close().catch(() => {})
    rmSync(this.path, {force: true})
  }
}

/**
 * Reused memory images for shards being assembled (fresh memory is slow to touch here), all of
 * `imageBytes` (the largest shard) so that any one fits any shard. Normally one is in use at a time;
 * a source whose fragments interleave needs more.
 */
export class ImagePool {
  private readonly free: Buffer[] = []

  constructor(private readonly imageBytes: number) {}

  take(size: number): Buffer {
    if (size > this.imageBytes) return Buffer.allocUnsafeSlow(size)
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.imageBytes)
  }

  give(b: Buffer): void {
    if (b.length === this.imageBytes) this.free.push(b)
  }
}

/**
 * Assembles the shard in memory, then writes it as one zstd frame with the content checksum. The
 * image is taken from the pool at the first write, so only shards actually receiving data hold memory.
 */
export class CompressedSink implements FragmentSink {
  private image: Buffer | undefined
  private done = false
  private written = false

  constructor(private readonly path: string, private readonly header: Uint8Array, private readonly rawBytes: number,
    private readonly pool: ImagePool, private readonly encoder: ZstdEncoder) {}

  private open(): Buffer {
    if (this.image) return this.image
    if (this.done) throw new Error('CompressedSink written after finish')
    const image = this.pool.take(this.rawBytes)
    // Padding between and after tensors must be zero in the image: clear it all, then place the header.
    image.fill(0, 0, this.rawBytes)
    image.set(this.header, 0)
    this.image = image
    return image
  }

  write(bytes: Uint8Array, position: number): Promise<void> {
    this.open().set(bytes, position)
    return Promise.resolve()
  }

  async finish(): Promise<StoredFragment> {
    const image = this.open()
    this.done = true
    const stored = await this.encoder.encode(image.subarray(0, this.rawBytes), async (frame) => {
      const sha = createHash('sha256')
      for (const part of frame.parts) sha.update(part)
      const fh = await openPartial(this.path)
      this.written = true
      try {
        let at = 0
        for (const part of frame.parts) {
          for (let done = 0; done < part.length;) {
            const {bytesWritten} = await fh.write(part, done, part.length - done, at + done)
            done += bytesWritten
          }
          at += part.length
        }
        await fh.close()
      } catch (err) {
        await fh.close().catch(() => {})
        throw ioError(err, this.path, 'write')
      }
      return {bytes: frame.bytes, sha256: sha.digest('hex')}
    })
    this.pool.give(image)
    this.image = undefined
    return stored
  }

  async abort(): Promise<void> {
    if (this.image) this.pool.give(this.image)
    this.image = undefined
    if (this.written) rmSync(this.path, {force: true})
  }
}
