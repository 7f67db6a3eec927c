/**
 * zstd frames for compressed fragment sets (RFC 8878). Node 20 has no zstd in zlib, so:
 * - encoding is one-shot in WebAssembly (`@foxglove/wasm-zstd`: the whole fragment goes into the
 *   module's heap, so peak memory is about three times the fragment), after which the content
 *   checksum the encoder leaves out is added: bit 2 of the Frame_Header_Descriptor set and the low
 *   4 bytes of XXH64(content) appended after the last block;
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

interface WasmZstd {
  readonly isLoaded: Promise<unknown>
  compress(buffer: Uint8Array, level?: number): Buffer
}

let encoder: Promise<WasmZstd> | undefined

/** Loads the WebAssembly encoder once (a CommonJS package; it compiles its module asynchronously). */
function loadEncoder(): Promise<WasmZstd> {
  encoder ??= (async () => {
    const mod = createRequire(import.meta.url)('@foxglove/wasm-zstd') as WasmZstd
    await mod.isLoaded
    return mod
  })()
  return encoder
}

/** A zstd frame as the parts to write one after the other (no copy of the encoder's output). */
export interface ZstdFrame {
  readonly parts: readonly Uint8Array[]
  readonly bytes: number
}

/**
 * One zstd frame holding `content`, with the content checksum on. The encoder's heap is 2 GiB at
 * most (input plus output), so content is limited to about 1 GiB.
 */
export async function compressFrame(content: Uint8Array, level = DEFAULT_LEVEL): Promise<ZstdFrame> {
  const zstd = await loadEncoder()
  let frame: Buffer
  try {
    frame = zstd.compress(content, level)
  } catch (err) {
    throw new LlmfragError('INTERNAL', `zstd compression of ${content.byteLength} bytes failed: ${String(err)}`, {
      hints: ['the WebAssembly encoder holds the input and output in a 2 GiB heap: a fragment over ~1 GiB cannot be compressed'],
      cause: err,
    })
  }
  if (frame.length < 6 || frame.readUInt32LE(0) !== MAGIC) {
    throw new LlmfragError('INTERNAL', 'the zstd encoder returned something that is not a zstd frame')
  }
  if ((frame[4] & CHECKSUM_FLAG) !== 0) return {parts: [frame], bytes: frame.length}
  frame[4] |= CHECKSUM_FLAG
  const trailer = Buffer.alloc(4)
  trailer.writeUInt32LE(Number(xxh64(content) & 0xffffffffn))
  return {parts: [frame, trailer], bytes: frame.length + 4}
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
