/**
 * ggml tensor types: id, name, block size (values per block) and block bytes, as in ggml.c's
 * `type_traits` table. Every type is listed so any file can be inspected and split, even where the
 * engine has no kernel for it. Ids 4, 5, 31-33 and 36-38 were removed from ggml and are refused.
 */
export enum GGMLType {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23,
  I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
  TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39,
}

export interface GGMLTypeInfo {
  readonly type: GGMLType
  readonly name: string
  readonly blockSize: number // values per block
  readonly blockBytes: number // bytes per block
}

const table: Array<[GGMLType, number, number]> = [
  [GGMLType.F32, 1, 4], [GGMLType.F16, 1, 2], [GGMLType.Q4_0, 32, 18], [GGMLType.Q4_1, 32, 20],
  [GGMLType.Q5_0, 32, 22], [GGMLType.Q5_1, 32, 24], [GGMLType.Q8_0, 32, 34], [GGMLType.Q8_1, 32, 36],
  [GGMLType.Q2_K, 256, 84], [GGMLType.Q3_K, 256, 110], [GGMLType.Q4_K, 256, 144], [GGMLType.Q5_K, 256, 176],
  [GGMLType.Q6_K, 256, 210], [GGMLType.Q8_K, 256, 292], [GGMLType.IQ2_XXS, 256, 66], [GGMLType.IQ2_XS, 256, 74],
  [GGMLType.IQ3_XXS, 256, 98], [GGMLType.IQ1_S, 256, 50], [GGMLType.IQ4_NL, 32, 18], [GGMLType.IQ3_S, 256, 110],
  [GGMLType.IQ2_S, 256, 82], [GGMLType.IQ4_XS, 256, 136], [GGMLType.I8, 1, 1], [GGMLType.I16, 1, 2],
  [GGMLType.I32, 1, 4], [GGMLType.I64, 1, 8], [GGMLType.F64, 1, 8], [GGMLType.IQ1_M, 256, 56],
  [GGMLType.BF16, 1, 2], [GGMLType.TQ1_0, 256, 54], [GGMLType.TQ2_0, 256, 66], [GGMLType.MXFP4, 32, 17],
]

const byId = new Map<number, GGMLTypeInfo>(
  table.map(([type, blockSize, blockBytes]) => [type, {type, name: GGMLType[type], blockSize, blockBytes}]),
)
const byName = new Map<string, GGMLTypeInfo>([...byId.values()].map((t) => [t.name, t]))

/** The traits of a type id, or undefined for an id ggml does not (or no longer) define. */
export function ggmlTypeInfo(type: number): GGMLTypeInfo | undefined {
  return byId.get(type)
}

export function ggmlTypeByName(name: string): GGMLTypeInfo | undefined {
  return byName.get(name.toUpperCase())
}

export function ggmlTypeName(type: number): string {
  return byId.get(type)?.name ?? `unknown(${type})`
}

/**
 * Bytes of a tensor of `type` with shape `dims` (dims[0] the contiguous row length), or an error
 * string when the row length is not a whole number of blocks or the size overflows 2^53.
 */
export function tensorBytes(type: GGMLType, dims: readonly number[]): number | string {
  const t = byId.get(type)
  if (!t) return `unknown tensor type ${type}`
  const row = dims[0] ?? 1
  if (row % t.blockSize !== 0) return `row length ${row} is not a multiple of the ${t.name} block size ${t.blockSize}`
  let rows = 1
  for (let i = 1; i < dims.length; i++) rows *= dims[i]
  const bytes = (row / t.blockSize) * t.blockBytes * rows
  if (!Number.isSafeInteger(bytes)) return `tensor size overflows (${dims.join(' x ')})`
  return bytes
}

/** Bytes of one row of `n` values of `type` (n a multiple of the block size). */
export function rowBytes(type: GGMLType, n: number): number {
  const t = byId.get(type)
  if (!t) throw new RangeError(`unknown tensor type ${type}`)
  return (n / t.blockSize) * t.blockBytes
}
