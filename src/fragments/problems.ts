/**
 * Problems found by verification and detection, as data (STYLE pattern 6, after zod's issues): one
 * record per offending fragment, tensor or field with the expected and actual values. `describeProblem`
 * is the one place that turns a record into words, so `verify --json` (which carries both the record
 * and its message) and the human report never disagree.
 */

export type ProblemCode =
  | 'bad_file_name' // a manifest names a file with a path separator or `..`
  | 'fragment_missing' // listed in the manifest, not on disk
  | 'fragment_extra' // a fragment file on disk the manifest does not list
  | 'unreadable' // a file that cannot be opened or read
  | 'size' // a file's size differs from the manifest's (truncated or extended)
  | 'header' // a fragment's GGUF header does not parse, or a header field differs from what the set implies
  | 'tensor_table' // a tensor's entry in a fragment header differs from the manifest
  | 'metadata' // a hyper-parameter key missing, mistyped or inconsistent
  | 'architecture_unsupported' // general.architecture is not a llama-family name
  | 'architecture_mismatch' // --expected-architecture names another profile, or the manifest disagrees
  | 'tensor_missing' // a tensor the architecture needs is absent
  | 'tensor_unexpected' // a tensor the architecture does not use
  | 'shape' // a tensor's shape differs from what the hyper-parameters imply
  | 'checksum' // a sha256 differs from the manifest's

export type ProblemValue = string | number

export interface Problem {
  readonly code: ProblemCode
  /** Fragment file name (a plain name from the manifest, or the .gguf path). */
  readonly fragment?: string
  readonly tensor?: string
  /** Metadata key, GGUF header field, manifest field or tensor field the problem is about. */
  readonly field?: string
  readonly expected: ProblemValue
  readonly actual: ProblemValue
}

/** A shape in ggml order, as written in messages: `[5120, 1024]`. */
export function formatShape(dims: readonly number[]): string {
  return `[${dims.join(', ')}]`
}

function where(p: Problem): string {
  if (p.tensor !== undefined && p.fragment !== undefined) return `${p.tensor} (in ${p.fragment})`
  return p.tensor ?? p.fragment ?? 'model'
}

/** One line of text for a problem; every code has its wording here and only here. */
export function describeProblem(p: Problem): string {
  switch (p.code) {
    case 'bad_file_name':
      return `fragment file name ${JSON.stringify(p.actual)} in ${p.field ?? 'the manifest'}: expected ${p.expected}`
    case 'fragment_missing':
      return `${p.fragment ?? '?'}: missing (expected ${p.expected}, actual ${p.actual})`
    case 'fragment_extra':
      return `${p.fragment ?? '?'}: not listed in the manifest (expected ${p.expected}, actual ${p.actual})`
    case 'unreadable':
      return `${p.fragment ?? '?'}: cannot be read: ${p.actual}`
    case 'size':
      return `${p.fragment ?? '?'}: expected ${p.expected} bytes, actual ${p.actual}` +
        (typeof p.expected === 'number' && typeof p.actual === 'number' && p.actual < p.expected ? ' (truncated)' : '') +
        (p.tensor === undefined ? '' : `; first tensor cut: ${p.tensor}`)
    case 'header':
      return `${where(p)}: header ${p.field ?? ''}: expected ${p.expected}, actual ${p.actual}`
    case 'tensor_table':
      return `${where(p)}: ${p.field ?? 'entry'} in the fragment header: expected ${p.expected} (manifest), actual ${p.actual}`
    case 'metadata':
      return `metadata ${p.field ?? ''}: expected ${p.expected}, actual ${p.actual}`
    case 'architecture_unsupported':
      return `${p.field ?? 'general.architecture'}: expected ${p.expected}, actual ${JSON.stringify(p.actual)}`
    case 'architecture_mismatch':
      return p.field === undefined
        ? `Architecture mismatch: expected ${p.expected}, got ${p.actual}`
        : `Architecture mismatch: ${p.field} says ${p.expected}, the model is ${p.actual}`
    case 'tensor_missing':
      return `${where(p)}: missing (expected shape ${p.expected})`
    case 'tensor_unexpected':
      return `${where(p)}: not a tensor of this architecture (expected ${p.expected}, actual shape ${p.actual})`
    case 'shape':
      return `${where(p)}: shape expected ${p.expected}, actual ${p.actual}`
    case 'checksum':
      return `${where(p)}: ${p.field ?? 'sha256'} expected ${p.expected}, actual ${p.actual}`
  }
}
