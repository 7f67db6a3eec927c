/**
 * Validation of a bench result against schemas/bench.schema.json (ajv) before it is written or
 * printed, so a file that `--output` wrote always passes the schema other tools read it with.
 */
import {LlmfragError} from '../errors.js'
import {schemaValidator} from '../schemas.js'

const benchValidator = schemaValidator('bench', {allErrors: true})

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
