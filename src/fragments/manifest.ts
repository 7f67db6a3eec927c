/**
 * The fragment set manifest, format 1 (DESIGN section 4): its types, mirroring
 * `schemas/manifest.schema.json`, and reading with validation. Every fault names the manifest file
 * and the JSON path of the offending value (`/fragments/3/sha256`), so a damaged or hand-edited
 * manifest is rejected before any fragment is opened.
 */
import {readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {basename, join} from 'node:path'

import {type ErrorObject} from 'ajv'

import {ioError, LlmfragError} from '../errors.js'
import {schemaValidator} from '../schemas.js'
import {ggmlTypeByName} from '../gguf/ggml-types.js'

export const MANIFEST_FILE = 'manifest.json'
export const MANIFEST_FORMAT = 1

export interface ManifestTool {
  readonly name: string
  readonly version: string
}

/** The model file the set was split from; join rebuilds exactly these bytes. */
export interface ManifestSource {
  /** Plain file name of the original .gguf. */
  readonly file: string
  /** Bytes of the original file. */
  readonly size: number
  /** sha256 (hex) of the whole original file. */
  readonly sha256: string
  readonly gguf_version: 2 | 3
  readonly tensor_count: number
  /** Metadata key/values of the original (the split.* keys of the fragments are not counted). */
  readonly kv_count: number
  /** general.alignment of the original (32 when absent). */
  readonly alignment: number
  /** File offset of the original's data section (its header size, padded to the alignment). */
  readonly data_offset: number
}

/**
 * The detected architecture: `name` is a profile name (`magistral`, `mistral_7b`),
 * `llama-family (custom)`, or general.architecture when no detector ran; dims in snake_case
 * (`dim`, `ffn_hidden`, `layers`, `heads`, `kv_heads`, `head_dim`, `vocab`, `rope_base`, ...).
 */
export interface ManifestArchitecture {
  readonly name: string
  readonly general_architecture?: string
  readonly [dim: string]: number | string | boolean | null | undefined
}

/** Which part of the model a fragment holds: a transformer block number, or the embedding / head. */
export type FragmentLayer = number | 'embed' | 'head'

export interface ManifestFragment {
  /** 1-based, equal to the position in `fragments` plus one. */
  readonly index: number
  /** Plain file name in the set's directory (`<stem>-00002-of-00042.gguf[.zst]`). */
  readonly file: string
  /** Bytes of the stored file (compressed size when compressed). */
  readonly bytes: number
  /** sha256 (hex) of the stored file. */
  readonly sha256: string
  /** Bytes and sha256 of the decompressed GGUF shard (compressed sets only). */
  readonly raw_bytes?: number
  readonly raw_sha256?: string
  /** Offset of the shard's data section in the (decompressed) shard: its GGUF header size. */
  readonly data_offset: number
  readonly layer: FragmentLayer
  /** Names of the tensors in this fragment, in storage order. */
  readonly tensors: readonly string[]
}

export interface ManifestTensor {
  readonly name: string
  /** ggml type name (`Q4_K`, `F32`, ...). */
  readonly type: string
  /** ggml order: shape[0] is the contiguous row length. */
  readonly shape: readonly number[]
  /** Index of the fragment that holds the data. */
  readonly fragment: number
  /** Offset of the data in the fragment's data section. */
  readonly offset: number
  readonly bytes: number
  /** sha256 (hex) of the tensor's data bytes. */
  readonly sha256: string
  /** Offset of the data in the original file's data section (for a byte-identical join). */
  readonly source_offset: number
}

export interface Manifest {
  readonly format: 1
  readonly tool: ManifestTool
  /** ISO 8601 UTC. */
  readonly created: string
  readonly source: ManifestSource
  readonly architecture: ManifestArchitecture
  readonly compression: 'none' | 'zstd'
  readonly fragments: readonly ManifestFragment[]
  /** Every tensor of the model, in the original file's tensor-info order. */
  readonly tensors: readonly ManifestTensor[]
}

/** True for a plain file name: not empty, not `.`, no `/`, `\`, NUL or `..` anywhere. */
export function isPlainName(name: string): boolean {
  return name.length > 0 && name.length <= 255 && name !== '.' && !name.includes('..') && !/[/\\\0]/.test(name)
}

const manifestValidator = schemaValidator('manifest', {allErrors: false, verbose: true})

function manifestError(file: string, path: string, message: string, hints: string[] = []): LlmfragError {
  return new LlmfragError('MANIFEST', `${file}: ${path === '' ? '/' : path} ${message}`, {
    hints: hints.length > 0 ? hints : ['the manifest is damaged or was edited by hand; split the model again'],
    details: {file, path},
  })
}

function describeAjvError(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>
  if (e.keyword === 'additionalProperties') return `has an unknown property ${JSON.stringify(p.additionalProperty)}`
  if (e.keyword === 'required') return `is missing the property ${JSON.stringify(p.missingProperty)}`
  if (e.keyword === 'pattern' && e.instancePath.endsWith('/file')) return 'must be a plain file name (no path separators, no "..")'
  if (e.keyword === 'oneOf' && e.instancePath.endsWith('/layer')) return `must be a block number or "embed" or "head", got ${JSON.stringify(e.data)}`
  if (e.keyword === 'enum' || e.keyword === 'const') {
    const allowed = (p.allowedValues ?? [p.allowedValue]) as unknown[]
    return `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`
  }
  return e.message ?? `fails the schema (${e.keyword})`
}

/**
 * Checks a parsed manifest against the schema, then the rules a schema cannot state: fragment
 * indices 1..N in order, unique plain file names, every tensor in an existing fragment and listed
 * there, known ggml types, counts that agree with `source`. `file` names the manifest in errors.
 */
export function validateManifest(value: unknown, file: string): Manifest {
  const validate = manifestValidator()
  if (!validate(value)) {
    // A failed oneOf is reported after its branches' errors: the last error is the one to show.
    const e = (validate.errors ?? []).at(-1)
    throw manifestError(file, e?.instancePath ?? '', e ? describeAjvError(e) : 'fails the schema')
  }
  const m = value as Manifest
  const files = new Set<string>()
  m.fragments.forEach((f, i) => {
    if (f.index !== i + 1) throw manifestError(file, `/fragments/${i}/index`, `must be ${i + 1} (fragments are listed in order), got ${f.index}`)
    if (!isPlainName(f.file)) throw manifestError(file, `/fragments/${i}/file`, 'must be a plain file name (no path separators, no "..")')
    if (files.has(f.file)) throw manifestError(file, `/fragments/${i}/file`, `names ${f.file} a second time`)
    files.add(f.file)
    if (m.compression === 'zstd' && (f.raw_bytes === undefined || f.raw_sha256 === undefined)) {
      throw manifestError(file, `/fragments/${i}`, 'needs raw_bytes and raw_sha256 in a compressed set')
    }
  })
  if (m.tensors.length !== m.source.tensor_count) {
    throw manifestError(file, '/tensors', `lists ${m.tensors.length} tensors but /source/tensor_count is ${m.source.tensor_count}`)
  }
  const fragmentOf = new Map<string, number>()
  m.tensors.forEach((t, j) => {
    if (fragmentOf.has(t.name)) throw manifestError(file, `/tensors/${j}/name`, `names ${t.name} a second time`)
    fragmentOf.set(t.name, t.fragment)
    if (t.fragment > m.fragments.length) {
      throw manifestError(file, `/tensors/${j}/fragment`, `is ${t.fragment} but the set has ${m.fragments.length} fragments`)
    }
    if (!ggmlTypeByName(t.type)) throw manifestError(file, `/tensors/${j}/type`, `is not a ggml type name, got ${JSON.stringify(t.type)}`)
  })
  let listed = 0
  m.fragments.forEach((f, i) => {
    f.tensors.forEach((name, k) => {
      const at = fragmentOf.get(name)
      if (at !== f.index) {
        throw manifestError(file, `/fragments/${i}/tensors/${k}`, at === undefined
          ? `names ${name}, which /tensors does not list`
          : `names ${name}, which /tensors places in fragment ${at}`)
      }
    })
    listed += f.tensors.length
  })
  if (listed !== m.tensors.length) {
    throw manifestError(file, '/fragments', `list ${listed} tensors in all but /tensors has ${m.tensors.length}`)
  }
  return m
}

/** Parses and validates manifest text; `file` names it in errors. */
export function parseManifest(text: string, file: string): Manifest {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw manifestError(file, '', `is not valid JSON: ${(err as Error).message}`)
  }
  return validateManifest(value, file)
}

/** Reads and validates `dir/manifest.json`. */
export function readManifest(dir: string): Manifest {
  const file = join(dir, MANIFEST_FILE)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    const e = ioError(err, file, 'read')
    throw new LlmfragError('MANIFEST', e.message, {
      hints: [`${dir} is not a complete fragment set: split writes ${MANIFEST_FILE} last, after every fragment`],
      details: {file},
      cause: err,
    })
  }
  return parseManifest(text, file)
}

/**
 * Writes `dir/manifest.json` after validating it (so a set never carries a manifest its readers
 * would refuse), through a temporary name renamed into place.
 */
export function writeManifest(dir: string, manifest: Manifest): string {
  const file = join(dir, MANIFEST_FILE)
  validateManifest(manifest, file)
  const tmp = join(dir, `.partial-${basename(file)}`)
  try {
    writeFileSync(tmp, JSON.stringify(manifest, null, 2) + '\n')
    renameSync(tmp, file)
  } catch (err) {
    rmSync(tmp, {force: true})
    throw ioError(err, file, 'write')
  }
  return file
}

/** `<stem>-00002-of-00042.gguf[.zst]`, as llama.cpp's gguf-split names shards (`%s-%05d-of-%05d.gguf`). */
export function fragmentFileName(stem: string, index: number, count: number, compressed: boolean): string {
  const pad = (n: number): string => String(n).padStart(5, '0')
  return `${stem}-${pad(index)}-of-${pad(count)}.gguf${compressed ? '.zst' : ''}`
}
