/**
 * What a model's files looked like when it was loaded (size and modification time of the .gguf, or
 * of every file of a fragment set directory), so the periodic self-check can say when they were
 * replaced, truncated or removed under a running server. A stat per file: cheap at any model size.
 */
import {readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'

interface FileState {
  readonly size: number
  readonly mtimeMs: number
}

export type FileSnapshot = ReadonlyMap<string, FileState>

function files(path: string): string[] {
  const st = statSync(path)
  if (!st.isDirectory()) return [path]
  return readdirSync(path).filter((n) => !n.startsWith('.')).sort().map((n) => join(path, n))
}

export function snapshotFiles(path: string): FileSnapshot {
  const out = new Map<string, FileState>()
  for (const f of files(path)) {
    const st = statSync(f)
    if (st.isFile()) out.set(f, {size: st.size, mtimeMs: st.mtimeMs})
  }
  return out
}

/** The first difference from `before`, in words, or undefined when the files are as they were. */
export function compareSnapshot(path: string, before: FileSnapshot): string | undefined {
  let now: FileSnapshot
  try {
    now = snapshotFiles(path)
  } catch (err) {
    return `${path} cannot be read any more: ${(err as NodeJS.ErrnoException).code ?? String(err)}`
  }
  for (const [f, was] of before) {
    const is = now.get(f)
    if (!is) return `${f} was removed since the model was loaded`
    if (is.size !== was.size) return `${f} changed size since the model was loaded (${was.size} -> ${is.size} bytes)`
    if (is.mtimeMs !== was.mtimeMs) return `${f} was modified since the model was loaded`
  }
  for (const f of now.keys()) if (!before.has(f)) return `${f} appeared since the model was loaded`
  return undefined
}
