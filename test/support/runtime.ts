/** What the runtime offers before any flag is set, asked of a fresh process (V8 flags are process-wide, and tests turn some on). */
import {execFileSync} from 'node:child_process'

/** Whether a fresh process of this runtime validates the WebAssembly module at `path` with no V8 flag set. */
export function validatesWithoutFlags(path: string): boolean {
  const code = `process.stdout.write(String(WebAssembly.validate(require('fs').readFileSync(${JSON.stringify(path)}))))`
  return execFileSync(process.execPath, ['-e', code], {encoding: 'utf8'}) === 'true'
}
