/**
 * The human report of `llmfrag verify` (DESIGN section 5): one line per check, the icon, the name
 * padded so the details align, the detail in parentheses; under a failed check one line per problem,
 * worded by the core's `describeProblem` (carried in each problem's `message`, which --json shows too).
 */
import chalk from 'chalk'

import type {VerifyCheck, VerifyResult} from '../fragments/verify.js'

/** Names are padded to this width, as in DESIGN section 5 (the details start in column 42). */
const NAME_WIDTH = 39

function icon(c: VerifyCheck): string {
  if (c.skipped) return '➖'
  return c.ok ? '✅' : '❌'
}

export function renderVerify(r: VerifyResult): string[] {
  const width = Math.max(NAME_WIDTH, ...r.checks.map((c) => c.name.length + 1))
  const lines: string[] = []
  for (const c of r.checks) {
    const line = `${icon(c)} ${c.name.padEnd(width)}(${c.detail})`
    lines.push(c.skipped ? chalk.dim(line) : c.ok ? line : chalk.red(line))
    for (const p of c.problems) lines.push(`   ${chalk.red('-')} ${p.message}`)
  }
  return lines
}
