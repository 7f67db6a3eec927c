/**
 * Small hand-made GGUF files for split/join tests: any tensor order, deterministic pseudo-random
 * data, and optional faults (non-zero padding, trailing bytes) that a byte-identical join cannot
 * reproduce.
 */
import {writeFileSync} from 'node:fs'

import {GGMLType, tensorBytes} from '../../src/gguf/ggml-types.js'
import {type GGUFKV, GGUFValueType} from '../../src/gguf/types.js'
import {encodeGGUFHeader, layoutTensors} from '../../src/gguf/writer.js'

export interface BuildTensor {
  readonly name: string
  readonly dims: readonly number[]
  readonly type: GGMLType
}

export interface BuildOptions {
  /** Tensors in file order (infos and data). */
  readonly tensors: readonly BuildTensor[]
  readonly kv?: readonly GGUFKV[]
  readonly alignment?: number
  readonly version?: number
  /** Set this byte of padding after the first tensor to 0xff (the padding must exist). */
  readonly dirtyPadding?: boolean
  /** Append these bytes after the data section. */
  readonly trailing?: Uint8Array
  readonly seed?: number
}

/** xorshift32 bytes: deterministic, incompressible enough to look like weights. */
export function fillRandom(b: Uint8Array, seed: number): void {
  let x = seed >>> 0 || 1
  for (let i = 0; i < b.length; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    b[i] = x & 0xff
  }
}

/** A llama-flavoured key set for built files. */
export function basicKV(name: string, alignment?: number): GGUFKV[] {
  return [
    {key: 'general.architecture', type: GGUFValueType.STRING, value: 'llama'},
    {key: 'general.name', type: GGUFValueType.STRING, value: name},
    ...(alignment === undefined ? [] : [{key: 'general.alignment', type: GGUFValueType.UINT32, value: alignment}]),
  ]
}

/** Writes the file; returns its bytes. */
export function buildGGUF(path: string, o: BuildOptions): Buffer {
  const alignment = o.alignment ?? 32
  const {specs, dataBytes} = layoutTensors(o.tensors, alignment)
  const header = encodeGGUFHeader({version: o.version ?? 3, kv: o.kv ?? basicKV('built'), tensors: specs, alignment})
  const total = header.length + Math.ceil(dataBytes / alignment) * alignment
  const file = Buffer.alloc(total + (o.trailing?.length ?? 0))
  header.copy(file, 0)
  specs.forEach((s, i) => {
    const bytes = tensorBytes(s.type, s.dims) as number
    fillRandom(file.subarray(header.length + s.offset, header.length + s.offset + bytes), (o.seed ?? 1) * 7919 + i)
  })
  if (o.dirtyPadding) {
    const first = specs[0]
    const end = header.length + first.offset + (tensorBytes(first.type, first.dims) as number)
    const next = header.length + (specs[1]?.offset ?? dataBytes)
    if (next <= end) throw new Error('dirtyPadding: no padding after the first tensor')
    file[end] = 0xff
  }
  if (o.trailing) file.set(o.trailing, total)
  writeFileSync(path, file)
  return file
}

/** The tensors of a small llama-style model with `layers` blocks (F32 norms, Q8_0 matrices). */
export function llamaTensors(layers: number, dim = 64, vocab = 96): BuildTensor[] {
  const t: BuildTensor[] = [{name: 'token_embd.weight', dims: [dim, vocab], type: GGMLType.Q8_0}]
  for (let i = 0; i < layers; i++) {
    t.push({name: `blk.${i}.attn_norm.weight`, dims: [dim], type: GGMLType.F32})
    t.push({name: `blk.${i}.attn_q.weight`, dims: [dim, dim], type: GGMLType.Q8_0})
    t.push({name: `blk.${i}.ffn_down.weight`, dims: [dim, 2 * dim], type: GGMLType.F16})
  }
  t.push({name: 'output_norm.weight', dims: [dim - 1], type: GGMLType.F32}) // 252 bytes: leaves padding
  t.push({name: 'output.weight', dims: [dim, vocab], type: GGMLType.Q8_0})
  return t
}
