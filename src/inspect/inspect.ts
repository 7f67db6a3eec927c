/**
 * `llmfrag inspect` (DESIGN section 2): what a GGUF file or a fragment set holds, from headers only
 * (a 14 GB model is inspected in milliseconds): version, metadata (long arrays cut to their first
 * items plus the count), architecture profile, tensor table, type histogram, parameter count, and
 * the memory a context of `ctx` tokens needs (weights + f16 KV cache).
 */
import {statSync} from 'node:fs'
import {join} from 'node:path'

import {ioError, LlmfragError} from '../errors.js'
import {readFragmentHeader} from '../fragments/fragment-header.js'
import {type Manifest, readManifest} from '../fragments/manifest.js'
import {describeProblem, type Problem} from '../fragments/problems.js'
import {ggmlTypeName} from '../gguf/ggml-types.js'
import {readGGUFHeader} from '../gguf/reader.js'
import {type GGUFHeader, type GGUFValue, GGUFValueType, isGGUFArray} from '../gguf/types.js'
import {analyzeArchitecture, type LlamaDims} from '../profiles/detect.js'

/** Items of an array value shown before the cut. */
export const ARRAY_HEAD = 5
/** Default context for the memory estimate: the model's context_length, capped here. */
export const DEFAULT_CTX_CAP = 4096

/** A metadata value made JSON-safe: 64-bit ints as numbers when exact, else decimal strings. */
export type InspectValue = string | number | boolean | InspectValue[]

export interface InspectKV {
  readonly key: string
  /** GGUF value type (`uint32`, `string`, `array`, ...). */
  readonly type: string
  /** For arrays: the item type. */
  readonly itemType?: string
  /** For arrays: the first ARRAY_HEAD items (nested arrays cut the same way). */
  readonly value: InspectValue
  /** For arrays: the total item count. */
  readonly count?: number
}

export interface InspectTensor {
  readonly name: string
  readonly type: string
  readonly shape: readonly number[]
  readonly bytes: number
  /** Offset in its file's data section. */
  readonly offset: number
  /** Fragment file (fragment sets only). */
  readonly fragment?: string
}

export interface InspectResult {
  readonly path: string
  readonly kind: 'gguf' | 'fragments'
  readonly version: number
  /** Bytes on disk (all fragment files for a set). */
  readonly fileBytes: number
  readonly fragments?: number
  readonly compression?: 'none' | 'zstd'
  readonly metadata: readonly InspectKV[]
  readonly architecture: {
    /** general.architecture. */
    readonly general: string | undefined
    /** Profile name, `llama-family (custom)`, or undefined when not a llama-family model. */
    readonly profile: string | undefined
    readonly dims: LlamaDims | undefined
    readonly tiedOutput: boolean | undefined
    readonly nearest?: {readonly profile: string; readonly differences: readonly string[]}
    readonly problems: ReadonlyArray<Problem & {readonly message: string}>
  }
  readonly tensorCount: number
  /** The tensor table (with `tensors: true`). */
  readonly tensors?: readonly InspectTensor[]
  /** Tensors and bytes per ggml type, most bytes first. */
  readonly types: ReadonlyArray<{readonly type: string; readonly tensors: number; readonly bytes: number}>
  readonly parameters: number
  /** Weights plus the f16 KV cache, 2 * layers * ctx * kv_heads * head_dim * 2 bytes. */
  readonly memory: {readonly ctx: number; readonly weightsBytes: number; readonly kvCacheBytes: number; readonly totalBytes: number} | undefined
}

export interface InspectOptions {
  /** Include the tensor table. */
  readonly tensors?: boolean
  /** Context length for the memory estimate (default: context_length capped at 4096). */
  readonly ctx?: number
}

function typeName(t: GGUFValueType): string {
  return (GGUFValueType[t] ?? `type${t}`).toLowerCase()
}

/** float32 values are shown with the 7 significant digits that identify them (1e-5, not 0.0000099999997). */
function jsonValue(v: GGUFValue, type: GGUFValueType): InspectValue {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()
  if (isGGUFArray(v)) return v.items.slice(0, ARRAY_HEAD).map((item) => jsonValue(item, v.itemType))
  if (type === GGUFValueType.FLOAT32 && typeof v === 'number') return Number(v.toPrecision(7))
  return v
}

function metadataOf(header: GGUFHeader): InspectKV[] {
  return header.kv.map(({key, type, value}) => isGGUFArray(value)
    ? {key, type: typeName(type), itemType: typeName(value.itemType), value: jsonValue(value, type), count: value.items.length}
    : {key, type: typeName(type), value: jsonValue(value, type)})
}

/** What the model is made of, across files: name, type, shape, bytes and placement. */
function describe(path: string, kind: InspectResult['kind'], header: GGUFHeader, tensors: InspectTensor[], fileBytes: number, options: InspectOptions,
  extra: Pick<InspectResult, 'fragments' | 'compression'> = {}): InspectResult {
  const kv = kind === 'fragments' ? header.kv.filter((e) => !e.key.startsWith('split.')) : header.kv
  const a = analyzeArchitecture(kv, tensors.map((t) => ({name: t.name, dims: t.shape, ...(t.fragment ? {fragment: t.fragment} : {})})))
  const det = a.detection
  const general = kv.find((e) => e.key === 'general.architecture')?.value
  const byType = new Map<string, {type: string; tensors: number; bytes: number}>()
  let parameters = 0
  let weightsBytes = 0
  for (const t of tensors) {
    const e = byType.get(t.type) ?? {type: t.type, tensors: 0, bytes: 0}
    e.tensors++
    e.bytes += t.bytes
    byType.set(t.type, e)
    parameters += t.shape.reduce((p, d) => p * d, 1)
    weightsBytes += t.bytes
  }
  let memory: InspectResult['memory']
  if (det) {
    const ctx = options.ctx ?? Math.min(det.dims.contextLength, DEFAULT_CTX_CAP)
    const kvCacheBytes = 2 * det.dims.layers * ctx * det.dims.kvHeads * det.dims.headDim * 2
    memory = {ctx, weightsBytes, kvCacheBytes, totalBytes: weightsBytes + kvCacheBytes}
  }
  return {
    path, kind, version: header.version, fileBytes, ...extra,
    metadata: metadataOf({...header, kv}),
    architecture: {
      general: typeof general === 'string' ? general : undefined,
      profile: det?.name,
      dims: det?.dims,
      tiedOutput: det?.tiedOutput,
      ...(det?.nearest ? {nearest: det.nearest} : {}),
      problems: [...a.metadataProblems, ...a.shapeProblems].map((p) => ({...p, message: describeProblem(p)})),
    },
    tensorCount: tensors.length,
    ...(options.tensors ? {tensors} : {}),
    types: [...byType.values()].sort((x, y) => y.bytes - x.bytes || x.type.localeCompare(y.type)),
    parameters,
    memory,
  }
}

function inspectSet(dir: string, manifest: Manifest, options: InspectOptions): InspectResult {
  const first = manifest.fragments[0]
  const header = readFragmentHeader(join(dir, first.file), manifest.compression === 'zstd', first.raw_bytes ?? 0)
  const tensors = manifest.tensors.map((t) => ({
    name: t.name, type: t.type, shape: t.shape, bytes: t.bytes, offset: t.offset, fragment: manifest.fragments[t.fragment - 1].file,
  }))
  const fileBytes = manifest.fragments.reduce((s, f) => s + f.bytes, 0)
  return describe(dir, 'fragments', header, tensors, fileBytes, options, {fragments: manifest.fragments.length, compression: manifest.compression})
}

export function inspect(path: string, options: InspectOptions = {}): InspectResult {
  if (options.ctx !== undefined && (!Number.isSafeInteger(options.ctx) || options.ctx < 1)) {
    throw new LlmfragError('BAD_INPUT', `--ctx must be a positive integer, got ${options.ctx}`)
  }
  let isDir: boolean
  let size: number
  try {
    const st = statSync(path)
    isDir = st.isDirectory()
    size = st.size
  } catch (err) {
    throw ioError(err, path, 'read')
  }
  if (isDir) return inspectSet(path, readManifest(path), options)
  const header = readGGUFHeader(path)
  const tensors = header.tensors.map((t) => ({name: t.name, type: ggmlTypeName(t.type), shape: t.dims, bytes: t.bytes, offset: t.offset}))
  return describe(path, 'gguf', header, tensors, size, options)
}
