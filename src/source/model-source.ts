/**
 * One view of a model whether it is a single .gguf file or a fragment set (DESIGN section 4): its
 * metadata (split.* keys removed), its tensor table, and a single streaming pass over the tensor
 * data that places each tensor where the caller wants it. Inference loads through this, never by
 * reading a whole file into memory.
 */
import type {GGMLType} from '../gguf/ggml-types.js'
import type {GGUFKV} from '../gguf/types.js'

export interface SourceTensor {
  readonly name: string
  readonly dims: readonly number[]
  readonly type: GGMLType
  readonly bytes: number
}

export interface LoadOptions {
  /** Check each fragment's sha256 while it streams in (fragment sets only); a mismatch fails the load. */
  readonly verify?: boolean
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void
}

export interface LoadReport {
  readonly bytes: number
  readonly seconds: number
  /** Seconds spent hashing (0 when not verifying). */
  readonly hashSeconds: number
  readonly verified: boolean
}

export interface ModelSource {
  /** The path the user gave (file or directory). */
  readonly path: string
  readonly kind: 'gguf' | 'fragments'
  readonly version: number
  readonly kv: readonly GGUFKV[]
  readonly tensors: readonly SourceTensor[]
  /** Sum of tensor bytes. */
  readonly totalBytes: number
  /**
   * Reads every tensor's data once, in storage order. `place(t)` returns a view of exactly t.bytes
   * bytes to fill (e.g. into shared or WebAssembly memory). Compressed fragments are decompressed
   * as they stream.
   */
  load(place: (t: SourceTensor) => Uint8Array, options?: LoadOptions): Promise<LoadReport>
}
