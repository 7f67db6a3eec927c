/**
 * zstd frames for compressed fragment sets (RFC 8878). Node 20 has no zstd in zlib, so:
 * - encoding is one-shot in WebAssembly (the zstd build inside `@foxglove/wasm-zstd`, driven
 *   directly so that content and frame stay in the module's heap, which grows once to about twice
 *   the largest fragment and is then reused), after which the content checksum the encoder leaves
 *   out is added: bit 2 of the Frame_Header_Descriptor set and the low 4 bytes of XXH64(content)
 *   appended after the last block;
 * - decoding streams through fzstd's `Decompress` (never given an output buffer: PLATFORM.md, 50x
 *   slower). fzstd skips the checksum without checking it, so `ZstdStreamDecoder` checks it.
 */
import {createRequire} from 'node:module'

import {Decompress} from 'fzstd'

import {LlmfragError} from '../errors.js'
import {Xxh64, xxh64} from './xxh64.js'

const MAGIC = 0xfd2fb528
const CHECKSUM_FLAG = 0x04 // Frame_Header_Descriptor bit 2: Content_Checksum_flag
export const DEFAULT_LEVEL = 3

/** The exports of the emscripten module in @foxglove/wasm-zstd (see its dist/index.js). */
interface ZstdModule {
  readonly HEAPU8: Uint8Array // replaced when the heap grows: read it again after any call
  _malloc(bytes: number): number
  _free(pointer: number): void
  _compressBound(bytes: number): number
  /** Returns the frame's size, or -1. */
  _compress(dst: number, dstCapacity: number, src: number, srcSize: number, level: number): number
}

let instance: Promise<ZstdModule> | undefined

/** Instantiates the WebAssembly zstd once per thread (a CommonJS factory resolving to the module). */
function zstdModule(): Promise<ZstdModule> {
  instance ??= (createRequire(import.meta.url)('@foxglove/wasm-zstd/dist/wasm-zstd.js') as () => Promise<ZstdModule>)()
  return instance
}

/** A zstd frame as the parts to write one after the other. */
export interface ZstdFrame {
  readonly parts: readonly Uint8Array[]
  readonly bytes: number
}

/**
 * One-shot zstd encoder with reusable input and output regions in the WebAssembly heap (at most
 * 2 GiB, so content is limited to about 1 GiB). `encode` calls run one at a time.
 */
export class ZstdEncoder {
  private src = 0
  private srcCapacity = 0
  private dst = 0
  private dstCapacity = 0
  private queue: Promise<unknown> = Promise.resolve()

  private constructor(private readonly m: ZstdModule, readonly level: number) {}

  static async create(level = DEFAULT_LEVEL): Promise<ZstdEncoder> {
    return new ZstdEncoder(await zstdModule(), level)
  }

  /** Makes room for content of `size` bytes and its frame (done up front with the largest size, the heap grows once). */
  reserve(size: number): void {
    const bound = this.m._compressBound(size)
    if (size > this.srcCapacity || bound > this.dstCapacity) {
      this.release()
      this.src = this.m._malloc(Math.max(size, 1))
      this.dst = this.m._malloc(bound)
      if (this.src === 0 || this.dst === 0) {
        this.release()
        throw new LlmfragError('UNSUPPORTED', `cannot compress a fragment of ${size} bytes: the zstd WebAssembly heap (2 GiB) cannot hold it and its output`, {
          hints: ['split without --compress'],
        })
      }
      this.srcCapacity = Math.max(size, 1)
      this.dstCapacity = bound
    }
  }

  /**
   * Compresses `content` into one frame with the content checksum and passes it to `consume`; the
   * frame's parts are views into the encoder's heap, valid until `consume`'s promise settles.
   */
  encode<T>(content: Uint8Array, consume: (frame: ZstdFrame) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      this.reserve(content.byteLength)
      this.m.HEAPU8.set(content, this.src)
      const n = this.m._compress(this.dst, this.dstCapacity, this.src, content.byteLength, this.level)
      if (n < 6) throw new LlmfragError('INTERNAL', `zstd compression of ${content.byteLength} bytes failed (result ${n})`)
      const frame = this.m.HEAPU8.subarray(this.dst, this.dst + n)
      if (new DataView(frame.buffer, frame.byteOffset, 4).getUint32(0, true) !== MAGIC) {
        throw new LlmfragError('INTERNAL', 'the zstd encoder returned something that is not a zstd frame')
      }
      if ((frame[4] & CHECKSUM_FLAG) !== 0) return consume({parts: [frame], bytes: n})
      frame[4] |= CHECKSUM_FLAG
      const trailer = Buffer.alloc(4)
      trailer.writeUInt32LE(Number(xxh64(content) & 0xffffffffn))
      return consume({parts: [frame, trailer], bytes: n + 4})
    }
    const result = this.queue.then(run, run)
    this.queue = result.catch(() => {})
    return result
  }

  /** Frees the heap regions (the module's memory itself never shrinks). */
  release(): void {
    if (this.src !== 0) this.m._free(this.src)
    if (this.dst !== 0) this.m._free(this.dst)
    this.src = this.dst = this.srcCapacity = this.dstCapacity = 0
  }
}

/** One zstd frame holding `content`, with the content checksum on, copied out of the heap. */
export async function compressFrame(content: Uint8Array, level = DEFAULT_LEVEL): Promise<Buffer> {
  const encoder = await ZstdEncoder.create(level)
  try {
    return await encoder.encode(content, async (frame) => Buffer.concat(frame.parts))
  } finally {
    encoder.release()
  }
}

/**
 * Decodes one zstd frame pushed in chunks of any size, handing each decoded block to `ondata` and
 * checking the frame's content checksum at the end. `name` (the fragment file) is used in errors.
 * fzstd keeps views of the tail of the last chunk pushed until the next push: a caller reusing
 * chunk buffers must not overwrite a chunk before pushing the next one (or finishing).
 */
export class ZstdStreamDecoder {
  private readonly inner: Decompress
  private readonly hash = new Xxh64()
  private decoded = 0
  private flagsChecked = false
  private hasChecksum = false
  private readonly last4 = new Uint8Array(4) // the last 4 compressed bytes seen: the checksum
  private seen = 0

  constructor(private readonly name: string, ondata: (block: Uint8Array) => void) {
    this.inner = new Decompress((block) => {
      if (block.length === 0) return
      this.decoded += block.length
      if (this.hasChecksum) this.hash.update(block)
      ondata(block)
    })
  }

  /** Bytes decoded so far. */
  get bytes(): number {
    return this.decoded
  }

  push(chunk: Uint8Array, final = false): void {
    if (!this.flagsChecked && this.seen + chunk.length >= 5) {
      // Byte 4 of the frame is the Frame_Header_Descriptor, in whichever chunk it falls.
      this.hasChecksum = (chunk[4 - this.seen] & CHECKSUM_FLAG) !== 0
      this.flagsChecked = true
    }
    this.remember(chunk)
    try {
      this.inner.push(chunk, final)
    } catch (err) {
      throw new LlmfragError('CHECK_FAILED', `${this.name}: zstd data is damaged near compressed byte ${this.seen}: ${(err as Error).message}`, {
        hints: ['the fragment is damaged: copy it again from the source of the set, or split the model again'],
        details: {file: this.name},
        cause: err,
      })
    }
    if (final) this.checkEnd()
  }

  private remember(chunk: Uint8Array): void {
    if (chunk.length >= 4) {
      this.last4.set(chunk.subarray(chunk.length - 4))
    } else if (chunk.length > 0) {
      this.last4.copyWithin(0, chunk.length)
      this.last4.set(chunk, 4 - chunk.length)
    }
    this.seen += chunk.length
  }

  private checkEnd(): void {
    if (!this.hasChecksum) {
      throw new LlmfragError('BAD_INPUT', `${this.name}: the zstd frame has no content checksum (format 1 requires one)`, {
        hints: ['the fragment was not written by llmfrag split --compress; split the model again'],
        details: {file: this.name},
      })
    }
    const stored = new DataView(this.last4.buffer).getUint32(0, true)
    const actual = Number(this.hash.digest() & 0xffffffffn)
    if (stored !== actual) {
      throw new LlmfragError('CHECK_FAILED', `${this.name}: zstd content checksum mismatch (stored ${hex8(stored)}, computed ${hex8(actual)} over ${this.decoded} bytes)`, {
        hints: ['the fragment is damaged: copy it again from the source of the set, or split the model again'],
        details: {file: this.name, expected: hex8(stored), actual: hex8(actual)},
      })
    }
  }
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0')
}
