/**
 * The per-fragment parts of verify: each present fragment's size and GGUF header against the
 * manifest (check 2), and, for fragments whose sha256 failed, which tensors are damaged (check 5).
 * Everything found is returned as Problem records naming the fragment, tensor and field.
 */
import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'

import {decompress} from 'fzstd'

import {LlmfragError} from '../errors.js'
import {ggmlTypeName} from '../gguf/ggml-types.js'
import type {GGUFHeader} from '../gguf/types.js'
import {readFragmentHeader} from './fragment-header.js'
import {hashFiles} from './hash-pool.js'
import type {Manifest, ManifestFragment, ManifestTensor} from './manifest.js'
import {formatShape, type Problem} from './problems.js'

export interface PresentFragment {
  readonly fragment: ManifestFragment
  /** Path on disk. */
  readonly path: string
  /** Size on disk in bytes. */
  readonly size: number
}

function tensorsOf(manifest: Manifest, f: ManifestFragment): ManifestTensor[] {
  return manifest.tensors.filter((t) => t.fragment === f.index).sort((a, b) => a.offset - b.offset)
}

/** Reads every present fragment's header; a size, parse or table difference becomes a problem. */
export function checkFragmentHeaders(manifest: Manifest, present: readonly PresentFragment[]): {headers: Map<number, GGUFHeader>; problems: Problem[]} {
  const compressed = manifest.compression === 'zstd'
  const headers = new Map<number, GGUFHeader>()
  const problems: Problem[] = []
  for (const p of present) {
    const f = p.fragment
    const short = p.size < f.bytes
    if (p.size !== f.bytes) {
      // For a plain shard, the first tensor whose data runs past the end is the one cut.
      const cut = compressed ? undefined : tensorsOf(manifest, f).find((t) => f.data_offset + t.offset + t.bytes > p.size)
      problems.push({code: 'size', fragment: f.file, field: 'bytes', expected: f.bytes, actual: p.size, ...(short && cut ? {tensor: cut.name} : {})})
    }
    let header: GGUFHeader
    try {
      header = readFragmentHeader(p.path, compressed, f.raw_bytes ?? 0)
    } catch (err) {
      if (!(err instanceof LlmfragError)) throw err
      const field = String(err.details.field ?? 'GGUF')
      // A truncated shard also fails the parser's data bound check: already reported as a size problem.
      if (!(short && field.endsWith(' data'))) {
        problems.push({code: 'header', fragment: f.file, field, expected: 'a valid GGUF header', actual: err.message})
      }
      continue
    }
    headers.set(f.index, header)
    problems.push(...compareHeader(manifest, f, header))
  }
  return {headers, problems}
}

/** A shard's split.* keys, data offset and tensor table against what the manifest records. */
function compareHeader(manifest: Manifest, f: ManifestFragment, h: GGUFHeader): Problem[] {
  const problems: Problem[] = []
  const header = (field: string, expected: number | string, actual: number | string | undefined): void => {
    if (actual !== expected) problems.push({code: 'header', fragment: f.file, field, expected, actual: actual ?? 'missing'})
  }
  const kv = new Map(h.kv.map((e) => [e.key, e.value]))
  const numberAt = (key: string): number | undefined => {
    const v = kv.get(key)
    return typeof v === 'number' ? v : undefined
  }
  header('split.no', f.index - 1, numberAt('split.no'))
  header('split.count', manifest.fragments.length, numberAt('split.count'))
  header('split.tensors.count', manifest.tensors.length, numberAt('split.tensors.count'))
  header('data offset', f.data_offset, h.dataOffset)
  header('GGUF version', manifest.source.gguf_version, h.version)
  if (f.index === 1) header('metadata count (without split.*)', manifest.source.kv_count, h.kv.filter((e) => !e.key.startsWith('split.')).length)

  const inHeader = new Map(h.tensors.map((t) => [t.name, t]))
  const inManifest = new Set(f.tensors)
  for (const t of tensorsOf(manifest, f)) {
    const got = inHeader.get(t.name)
    const at = {fragment: f.file, tensor: t.name}
    if (!got) {
      problems.push({code: 'tensor_table', ...at, field: 'presence', expected: 'present', actual: 'missing'})
      continue
    }
    if (ggmlTypeName(got.type) !== t.type) problems.push({code: 'tensor_table', ...at, field: 'type', expected: t.type, actual: ggmlTypeName(got.type)})
    if (formatShape(got.dims) !== formatShape(t.shape)) problems.push({code: 'tensor_table', ...at, field: 'shape', expected: formatShape(t.shape), actual: formatShape(got.dims)})
    if (got.offset !== t.offset) problems.push({code: 'tensor_table', ...at, field: 'offset', expected: t.offset, actual: got.offset})
  }
  for (const t of h.tensors) {
    if (!inManifest.has(t.name)) problems.push({code: 'tensor_table', fragment: f.file, tensor: t.name, field: 'presence', expected: 'absent', actual: 'present'})
  }
  return problems
}

/**
 * For fragments whose sha256 failed: the tensors whose data sha256 differs from the manifest's.
 * Plain shards are re-read range by range on the hash pool; compressed ones are decompressed
 * whole (rare path, about the shard's size in memory) and their raw_sha256 checked too.
 */
export async function pinpointDamage(manifest: Manifest, damaged: readonly PresentFragment[], compressed: boolean, threads?: number): Promise<Problem[]> {
  if (damaged.length === 0) return []
  const problems: Problem[] = []
  const mismatch = (f: ManifestFragment, t: ManifestTensor, actual: string): void => {
    if (actual !== t.sha256) problems.push({code: 'checksum', fragment: f.file, tensor: t.name, field: 'sha256', expected: t.sha256, actual})
  }
  if (compressed) {
    for (const p of damaged) problems.push(...pinpointCompressed(manifest, p, mismatch))
    return problems
  }
  const jobs = damaged.map((p) => {
    const ts = tensorsOf(manifest, p.fragment).filter((t) => p.fragment.data_offset + t.offset + t.bytes <= p.size)
    const ranges = ts.map((t) => ({start: p.fragment.data_offset + t.offset, length: t.bytes}))
    return {p, ts, job: {path: p.path, bytes: ranges.reduce((s, r) => s + r.length, 0), ranges}}
  })
  const report = await hashFiles(jobs.map((j) => j.job), {threads})
  report.results.forEach((r, i) => {
    const {p, ts} = jobs[i]
    if (!r.ok) {
      problems.push({code: 'unreadable', fragment: p.fragment.file, expected: 'readable', actual: r.error})
      return
    }
    ts.forEach((t, k) => mismatch(p.fragment, t, r.digests[k]))
  })
  return problems
}

function pinpointCompressed(manifest: Manifest, p: PresentFragment, mismatch: (f: ManifestFragment, t: ManifestTensor, actual: string) => void): Problem[] {
  const f = p.fragment
  let raw: Uint8Array
  try {
    raw = decompress(readFileSync(p.path))
  } catch (err) {
    return [{code: 'checksum', fragment: f.file, field: 'zstd frame', expected: 'a complete zstd frame', actual: (err as Error).message}]
  }
  const problems: Problem[] = []
  const rawSha = createHash('sha256').update(raw).digest('hex')
  if (f.raw_sha256 !== undefined && rawSha !== f.raw_sha256) {
    problems.push({code: 'checksum', fragment: f.file, field: 'raw_sha256', expected: f.raw_sha256, actual: rawSha})
  }
  for (const t of tensorsOf(manifest, f)) {
    const start = f.data_offset + t.offset
    if (start + t.bytes > raw.length) continue
    mismatch(f, t, createHash('sha256').update(raw.subarray(start, start + t.bytes)).digest('hex'))
  }
  return problems
}
