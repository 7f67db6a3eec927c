/**
 * The one error type of the core library. The command layer maps `code` to an exit code and renders
 * `message` then one `hint:` line per hint; the core never prints or exits.
 */
export type ErrorCode =
  | 'BAD_INPUT' // malformed file, manifest or argument: exit 2
  | 'GGUF_FORMAT' // a GGUF file that does not parse: exit 2
  | 'MANIFEST' // manifest.json missing or failing its schema: exit 2
  | 'CONFIG' // a config file or environment variable that fails validation: exit 2
  | 'IO' // a file that cannot be read or written: exit 2
  | 'UNSUPPORTED' // valid input this build cannot handle (tensor type, architecture): exit 2
  | 'ARCH_MISMATCH' // a model or frame made for another architecture: exit 1
  | 'CHECK_FAILED' // verify found problems: exit 1
  | 'CONTEXT_FULL' // the prompt or generation does not fit the context: exit 1
  | 'INTERNAL' // a bug: exit 1

export interface ErrorOptions {
  hints?: string[]
  details?: Record<string, unknown>
  cause?: unknown
}

export class LlmfragError extends Error {
  readonly code: ErrorCode
  readonly hints: string[]
  readonly details: Record<string, unknown>

  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = 'LlmfragError'
    this.code = code
    this.hints = options.hints ?? []
    this.details = options.details ?? {}
  }
}

/** Exit code for an error code: 2 for bad usage or input, 1 for a failed check or job. */
export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'BAD_INPUT':
    case 'GGUF_FORMAT':
    case 'MANIFEST':
    case 'CONFIG':
    case 'IO':
    case 'UNSUPPORTED':
      return 2
    case 'ARCH_MISMATCH':
    case 'CHECK_FAILED':
    case 'CONTEXT_FULL':
    case 'INTERNAL':
      return 1
  }
}

/** Wraps a Node fs error (ENOENT, EACCES, ...) as an IO error naming the path. */
export function ioError(err: unknown, path: string, action: string): LlmfragError {
  const e = err as NodeJS.ErrnoException
  const why = e?.code === 'ENOENT' ? 'no such file or directory' : e?.code === 'EACCES' ? 'permission denied' : String(e?.message ?? err)
  return new LlmfragError('IO', `cannot ${action} ${path}: ${why}`, {
    hints: e?.code === 'ENOENT' ? ['check the path; relative paths are taken from the current directory'] : [],
    cause: err,
  })
}
