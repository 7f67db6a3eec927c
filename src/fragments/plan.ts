/**
 * Which tensor goes to which fragment, and each fragment's GGUF header (DESIGN section 4):
 * fragment 1 holds all metadata, `token_embd.weight` and any tensor that fits nowhere else; one
 * fragment per transformer block `blk.N.*`; the last holds `output_norm.weight` and `output.weight`.
 * Each fragment is a llama.cpp split shard: fragment 1 carries the source's key/values followed by
 * `split.no` (u16, 0-based), `split.count` (u16) and `split.tensors.count` (i32, all tensors), as
 * llama.cpp's gguf-split writes them; the others carry only those three keys (plus
 * `general.alignment` when the source sets it, so every shard's data is laid out alike).
 */
import {LlmfragError} from '../errors.js'
import {encodeGGUFHeader, layoutTensors} from '../gguf/writer.js'
import {type GGUFHeader, type GGUFKV, type GGUFTensorInfo, GGUFValueType} from '../gguf/types.js'
import {type FragmentLayer, fragmentFileName, isPlainName} from './manifest.js'

export interface FragmentPlan {
  /** 1-based. */
  readonly index: number
  /** Stored file name (`.zst` appended when compressed). */
  readonly file: string
  readonly layer: FragmentLayer
  /** The source's tensor infos, in the order of their data in the source file. */
  readonly tensors: readonly GGUFTensorInfo[]
  /** Offset of each tensor in this fragment's data section (same order as `tensors`). */
  readonly offsets: readonly number[]
  /** The shard's GGUF header, zero-padded to the alignment: the data section starts at its length. */
  readonly header: Buffer
  /** Bytes of the whole (uncompressed) shard: header, data, and padding after the last tensor. */
  readonly rawBytes: number
}

/** `blk.N.*` → N; `token_embd` and unknown tensors → 'embed'; `output_norm`/`output` → 'head'. */
export function layerOf(name: string): FragmentLayer {
  const m = /^blk\.(\d+)\./.exec(name)
  if (m) return Number(m[1])
  if (name === 'output_norm.weight' || name === 'output.weight') return 'head'
  return 'embed'
}

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a

/** The fragments of `header`'s model, for file names `<stem>-0000i-of-0000N.gguf[.zst]`. */
export function planFragments(header: GGUFHeader, stem: string, compressed: boolean): FragmentPlan[] {
  const byData = [...header.tensors].sort((a, b) => a.offset - b.offset)
  const blocks = [...new Set(byData.map((t) => layerOf(t.name)).filter((l): l is number => typeof l === 'number'))].sort((a, b) => a - b)
  const hasHead = byData.some((t) => layerOf(t.name) === 'head')
  const layers: FragmentLayer[] = ['embed', ...blocks, ...(hasHead ? ['head' as const] : [])]
  const count = layers.length
  if (count > 65535) throw new LlmfragError('UNSUPPORTED', `${header.tensors.length} tensors in ${count} blocks: a split shard numbers at most 65535`)
  const alignKV = header.kv.find((e) => e.key === 'general.alignment')

  return layers.map((layer, i) => {
    const tensors = byData.filter((t) => layerOf(t.name) === layer)
    const {specs, dataBytes} = layoutTensors(tensors, header.alignment)
    const split: GGUFKV[] = [
      {key: 'split.no', type: GGUFValueType.UINT16, value: i},
      {key: 'split.count', type: GGUFValueType.UINT16, value: count},
      {key: 'split.tensors.count', type: GGUFValueType.INT32, value: header.tensors.length},
    ]
    const kv = i === 0 ? [...header.kv, ...split] : [...split, ...(alignKV ? [alignKV] : [])]
    const encoded = encodeGGUFHeader({version: header.version, kv, tensors: specs, alignment: header.alignment})
    const file = fragmentFileName(stem, i + 1, count, compressed)
    if (!isPlainName(file)) {
      throw new LlmfragError('BAD_INPUT', `the fragment name ${JSON.stringify(file)} is not a plain file name`, {
        hints: ['rename the model file so its name has no ".." and no path separators'],
      })
    }
    return {
      index: i + 1,
      file,
      layer,
      tensors,
      offsets: specs.map((s) => s.offset),
      header: encoded,
      rawBytes: encoded.length + alignUp(dataBytes, header.alignment),
    }
  })
}
