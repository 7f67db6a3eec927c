/**
 * Validation of a bench result against schemas/bench.schema.json (ajv) before it is written or
 * printed, so a file that `--output` wrote always passes the schema other tools read it with.
 */
import {readFileSync} from 'node:fs'

import {Ajv, type ValidateFunction} from 'ajv'

import {LlmfragError} from '../errors.js'

let validator: ValidateFunction | undefined

function benchValidator(): ValidateFunction {
  if (validator) return validator
  // schemas/ sits at the package root, two levels above both src/bench and dist/bench.
  const url = new URL('../../schemas/bench.schema.json', import.meta.url)
  let schema: unknown
  try {
    schema = JSON.parse(readFileSync(url, 'utf8'))
  } catch (err) {
    throw new LlmfragError('INTERNAL', `cannot load the bench schema ${url.pathname}: ${String(err)}`, {cause: err})
  }
  validator = new Ajv({allErrors: true, strict: true, allowUnionTypes: true}).compile(schema as object)
  return validator
}

/** Problems of `value` against the schema as `path: message` lines (empty when it passes). */
export function benchSchemaProblems(value: unknown): string[] {
  const validate = benchValidator()
  if (validate(value)) return []
  return (validate.errors ?? []).map((e) => `${e.instancePath === '' ? '/' : e.instancePath}: ${e.message ?? e.keyword}`)
}

/** Throws INTERNAL (a bug: bench built a result its own schema refuses) listing the problems. */
export function checkBenchResult(value: unknown): void {
  const problems = benchSchemaProblems(value)
  if (problems.length > 0) {
    throw new LlmfragError('INTERNAL', `the bench result fails schemas/bench.schema.json: ${problems.slice(0, 5).join('; ')}`, {details: {problems}})
  }
}
