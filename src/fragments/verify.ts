/**
 * `llmfrag verify` (DESIGN section 5): the five checks, in order, over a fragment set or a plain
 * .gguf file, each returning its problems as data. Headers are read first (small reads); then every
 * file's data is read once and hashed on worker threads. A fragment whose sha256 differs is hashed
 * again tensor by tensor so the report names the damaged tensor. Bad input (no such path, a
 * manifest that fails its schema, a file that is not GGUF at all) throws instead: exit 2, not 1.
 */
import {readdirSync, statSync} from 'node:fs'
import {basename, join} from 'node:path'

import {ioError, LlmfragError} from '../errors.js'
import {readGGUFHeader} from '../gguf/reader.js'
import type {GGUFHeader} from '../gguf/types.js'
import {analyzeArchitecture, CUSTOM_PROFILE, summarizeDims, type TensorShape} from '../profiles/detect.js'
import {PROFILE_NAMES} from '../profiles/profiles.js'
import {hashFiles} from './hash-pool.js'
import {type Manifest, readManifest} from './manifest.js'
import {describeProblem, type Problem} from './problems.js'
import {checkFragmentHeaders, pinpointDamage, type PresentFragment} from './verify-fragments.js'

export type CheckId = 'fragments' | 'readable' | 'architecture' | 'dimensions' | 'checksums'

export interface ReportedProblem extends Problem {
  /** `describeProblem(this)`: the words the human report prints. */
  readonly message: string
}

export interface VerifyCheck {
  readonly id: CheckId
  /** The line's text: `Architecture detected: magistral`. */
  readonly name: string
  readonly ok: boolean
  /** Not run (`--quick`, or a manifest check on a plain .gguf); counts as passing. */
  readonly skipped: boolean
  /** The parenthesised detail: `363 tensors`, `sha256, 13.35 GiB at 2.71 GB/s`. */
  readonly detail: string
  readonly problems: readonly ReportedProblem[]
}

export interface VerifyResult {
  readonly ok: boolean
  readonly path: string
  readonly kind: 'fragments' | 'gguf'
  /** Detected profile name, `llama-family (custom)`, or undefined when detection failed. */
  readonly architecture: string | undefined
  /** sha256 of a plain .gguf file (there is no manifest to compare it with). */
  readonly sha256?: string
  readonly checks: readonly VerifyCheck[]
}

export interface VerifyOptions {
  /** A profile name (or `llama-family (custom)`): a different detection fails the architecture check. */
  readonly expectedArchitecture?: string
  /** Skip the data checksums. */
  readonly quick?: boolean
  /** Hash threads (default: one per core). */
  readonly threads?: number
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void
}

export const CHECK_NAMES = {
  fragments: 'Fragment count matches manifest',
  readable: 'All fragments readable',
  architecture: 'Architecture detected',
  dimensions: 'Tensor dimensions correct',
  checksums: 'Checksums valid',
} as const

const GiB = 1024 ** 3

function check(id: CheckId, detail: string, problems: readonly Problem[], name: string = CHECK_NAMES[id]): VerifyCheck {
  return {id, name, ok: problems.length === 0, skipped: false, detail, problems: problems.map((p) => ({...p, message: describeProblem(p)}))}
}

function skipped(id: CheckId, detail: string): VerifyCheck {
  return {id, name: CHECK_NAMES[id], ok: true, skipped: true, detail, problems: []}
}

/** A check that could not run because an earlier one failed: a failure with the reason as detail. */
function notChecked(id: CheckId, why: string, name: string = CHECK_NAMES[id]): VerifyCheck {
  return {id, name, ok: false, skipped: false, detail: `not checked: ${why}`, problems: []}
}

export function formatGiB(bytes: number): string {
  return (bytes / GiB).toFixed(2)
}

function hashDetail(bytes: number, seconds: number): string {
  const rate = seconds > 0 ? bytes / seconds / 1e9 : 0
  return `sha256, ${formatGiB(bytes)} GiB at ${rate.toFixed(2)} GB/s`
}

function result(path: string, kind: VerifyResult['kind'], architecture: string | undefined, checks: VerifyCheck[], sha256?: string): VerifyResult {
  return {ok: checks.every((c) => c.ok), path, kind, architecture, ...(sha256 === undefined ? {} : {sha256}), checks}
}

/** Verifies a fragment set directory (with manifest.json) or a plain .gguf file. */
export async function verify(path: string, options: VerifyOptions = {}): Promise<VerifyResult> {
  const expected = options.expectedArchitecture
  if (expected !== undefined && !PROFILE_NAMES.includes(expected) && expected !== CUSTOM_PROFILE) {
    throw new LlmfragError('BAD_INPUT', `unknown architecture ${JSON.stringify(expected)} for --expected-architecture`, {
      hints: [`known profiles: ${PROFILE_NAMES.join(', ')}`],
    })
  }
  let isDir: boolean
  try {
    const st = statSync(path)
    isDir = st.isDirectory()
    if (!isDir && !st.isFile()) throw new LlmfragError('BAD_INPUT', `${path} is neither a directory nor a file`)
  } catch (err) {
    if (err instanceof LlmfragError) throw err
    throw ioError(err, path, 'read')
  }
  return isDir ? verifySet(path, readManifest(path), options) : verifyFile(path, options)
}

/** Checks 3 and 4: detection from metadata, expected architecture, every tensor's shape. */
function architectureChecks(
  header: Pick<GGUFHeader, 'kv'>, tensors: readonly TensorShape[], options: VerifyOptions, manifestName?: string,
): {checks: VerifyCheck[]; name: string | undefined} {
  const a = analyzeArchitecture(header.kv, tensors)
  const det = a.detection
  const problems: Problem[] = [...a.metadataProblems]
  if (options.expectedArchitecture !== undefined && det?.name !== options.expectedArchitecture) {
    problems.push({code: 'architecture_mismatch', expected: options.expectedArchitecture, actual: det?.name ?? 'none'})
  }
  if (det && manifestName !== undefined && manifestName !== det.name) {
    problems.push({code: 'architecture_mismatch', field: 'manifest.json architecture.name', expected: manifestName, actual: det.name})
  }
  const archName = `${CHECK_NAMES.architecture}: ${det?.name ?? 'none'}`
  const archCheck = check('architecture', det ? summarizeDims(det.dims) : 'no llama-family hyper-parameters', problems, archName)
  const dimsCheck = det
    ? check('dimensions', `${tensors.length} tensors`, a.shapeProblems)
    : notChecked('dimensions', 'no architecture to compare with')
  return {checks: [archCheck, dimsCheck], name: det?.name}
}

async function verifyFile(path: string, options: VerifyOptions): Promise<VerifyResult> {
  const file = basename(path)
  const size = statSync(path).size
  const checks: VerifyCheck[] = [skipped('fragments', 'plain .gguf file, no manifest')]
  let header: GGUFHeader | undefined
  const readProblems: Problem[] = []
  try {
    header = readGGUFHeader(path)
  } catch (err) {
    if (!(err instanceof LlmfragError) || err.code !== 'GGUF_FORMAT' || err.details.field === 'magic') throw err
    readProblems.push({code: 'header', fragment: file, field: String(err.details.field ?? 'GGUF'), expected: 'a valid GGUF header', actual: err.message})
  }
  checks.push(check('readable', `1 file, ${formatGiB(size)} GiB`, readProblems))
  let name: string | undefined
  if (header) {
    const arch = architectureChecks(header, header.tensors.map((t) => ({name: t.name, dims: t.dims})), options)
    checks.push(...arch.checks)
    name = arch.name
  } else {
    checks.push(notChecked('architecture', 'the header is unreadable', `${CHECK_NAMES.architecture}: none`), notChecked('dimensions', 'the header is unreadable'))
  }
  if (options.quick) {
    checks.push(skipped('checksums', 'skipped (--quick)'))
    return result(path, 'gguf', name, checks)
  }
  const report = await hashFiles([{path, bytes: size}], {threads: 1, onProgress: options.onProgress})
  const r = report.results[0]
  if (!r.ok) {
    checks.push(check('checksums', 'sha256', [{code: 'unreadable', fragment: file, expected: 'readable', actual: r.error}]))
    return result(path, 'gguf', name, checks)
  }
  const sha256 = r.digests[0]
  checks.push(skipped('checksums', `no manifest to compare; ${hashDetail(report.bytes, report.seconds).replace('sha256', `sha256 ${sha256}`)}`))
  return result(path, 'gguf', name, checks, sha256)
}

/** Fragment-looking files: what a stray copy or an old split would leave beside the set. */
const FRAGMENT_FILE = /\.gguf(\.zst)?$/

async function verifySet(dir: string, manifest: Manifest, options: VerifyOptions): Promise<VerifyResult> {
  const n = manifest.fragments.length
  const compressed = manifest.compression === 'zstd'

  // 1. Fragment count: every listed file present, nothing extra that looks like a fragment.
  const countProblems: Problem[] = []
  const present: PresentFragment[] = []
  for (const f of manifest.fragments) {
    const path = join(dir, f.file)
    try {
      const st = statSync(path)
      if (!st.isFile()) throw new Error('not a regular file')
      present.push({fragment: f, path, size: st.size})
    } catch {
      countProblems.push({code: 'fragment_missing', fragment: f.file, expected: `fragment ${f.index} of ${n}`, actual: 'missing'})
    }
  }
  const listed = new Set(manifest.fragments.map((f) => f.file))
  let entries: string[]
  try {
    entries = readdirSync(dir)
  } catch (err) {
    throw ioError(err, dir, 'list')
  }
  for (const name of entries.sort()) {
    if (!listed.has(name) && !name.startsWith('.') && FRAGMENT_FILE.test(name)) {
      countProblems.push({code: 'fragment_extra', fragment: name, expected: `only the ${n} listed fragments`, actual: 'present'})
    }
  }
  const extra = countProblems.filter((p) => p.code === 'fragment_extra').length
  const checks = [check('fragments', countProblems.length === 0
    ? `${n} fragments`
    : `${n} expected, ${present.length} present${extra > 0 ? `, ${extra} extra` : ''}`, countProblems)]

  // 2. Readable: sizes, headers, and each header's tensor table against the manifest.
  const {headers, problems: headerProblems} = checkFragmentHeaders(manifest, present)
  const presentFiles = new Set(present.map((p) => p.fragment.file))
  const readProblems: Problem[] = [
    ...manifest.fragments.filter((f) => !presentFiles.has(f.file)).map((f): Problem => ({code: 'unreadable', fragment: f.file, expected: 'readable', actual: 'missing'})),
    ...headerProblems,
  ]
  const totalBytes = manifest.fragments.reduce((s, f) => s + f.bytes, 0)
  const bad = new Set(readProblems.map((p) => p.fragment)).size
  checks.push(check('readable', readProblems.length === 0
    ? `${n} files, ${formatGiB(totalBytes)} GiB`
    : `${bad} of ${n} files with problems`, readProblems))

  // 3-4. Architecture from the first fragment's metadata; shapes from the headers (else the manifest).
  const first = headers.get(1)
  let archName: string | undefined
  if (first) {
    const shapeOf = new Map<string, readonly number[]>()
    for (const h of headers.values()) for (const t of h.tensors) shapeOf.set(t.name, t.dims)
    const tensors = manifest.tensors.map((t) => ({name: t.name, dims: shapeOf.get(t.name) ?? t.shape, fragment: manifest.fragments[t.fragment - 1].file}))
    const kv = first.kv.filter((e) => !e.key.startsWith('split.'))
    const arch = architectureChecks({kv}, tensors, options, manifest.architecture.name)
    checks.push(...arch.checks)
    archName = arch.name
  } else {
    const why = `the first fragment (${manifest.fragments[0].file}) is unreadable`
    checks.push(notChecked('architecture', why, `${CHECK_NAMES.architecture}: none`), notChecked('dimensions', why))
  }

  // 5. Checksums: each present file read once and hashed on all cores; damaged ones pinpointed.
  if (options.quick) {
    checks.push(skipped('checksums', 'skipped (--quick)'))
    return result(dir, 'fragments', archName, checks)
  }
  const report = await hashFiles(present.map((p) => ({path: p.path, bytes: p.size})), {threads: options.threads, onProgress: options.onProgress})
  const sumProblems: Problem[] = []
  const damaged: PresentFragment[] = []
  report.results.forEach((r, i) => {
    const {fragment: f} = present[i]
    if (!r.ok) {
      sumProblems.push({code: 'unreadable', fragment: f.file, expected: 'readable', actual: r.error})
    } else if (r.digests[0] !== f.sha256) {
      sumProblems.push({code: 'checksum', fragment: f.file, field: 'sha256', expected: f.sha256, actual: r.digests[0]})
      damaged.push(present[i])
    }
  })
  sumProblems.push(...await pinpointDamage(manifest, damaged, compressed, options.threads))
  checks.push(check('checksums', hashDetail(report.bytes, report.seconds), sumProblems))
  return result(dir, 'fragments', archName, checks)
}
