/**
 * GGUF's data model (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md): typed metadata
 * key/values and tensor infos. Values keep their GGUF type so a header re-encodes byte for byte.
 */
import type {GGMLType} from './ggml-types.js'

export enum GGUFValueType {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
}

/** An array value: its item type and items (nested arrays are GGUFArray items). */
export interface GGUFArray {
  readonly itemType: GGUFValueType
  readonly items: ReadonlyArray<GGUFScalar | GGUFArray>
}

/** JS form of a scalar: numbers for <= 32-bit ints and floats, bigint for 64-bit ints. */
export type GGUFScalar = number | bigint | boolean | string
export type GGUFValue = GGUFScalar | GGUFArray

export interface GGUFKV {
  readonly key: string
  readonly type: GGUFValueType
  readonly value: GGUFValue
}

export interface GGUFTensorInfo {
  readonly name: string
  /** ggml order: dims[0] is the contiguous row length. */
  readonly dims: readonly number[]
  readonly type: GGMLType
  /** Offset of the data from the start of the data section. */
  readonly offset: number
  /** Bytes of data, from type and dims. */
  readonly bytes: number
}

export interface GGUFHeader {
  readonly version: number
  readonly kv: readonly GGUFKV[]
  readonly tensors: readonly GGUFTensorInfo[]
  readonly alignment: number
  /** File offset where the tensor infos end (the header proper). */
  readonly headerEnd: number
  /** File offset of the data section (headerEnd rounded up to the alignment). */
  readonly dataOffset: number
  /** Size of the file (or buffer) the header was read from. */
  readonly fileSize: number
}

export const GGUF_MAGIC = 0x46554747 // "GGUF" little-endian
export const GGUF_DEFAULT_ALIGNMENT = 32
export const GGML_MAX_DIMS = 4

export function isGGUFArray(v: GGUFValue): v is GGUFArray {
  return typeof v === 'object' && v !== null && 'itemType' in v
}
