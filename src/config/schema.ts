/**
 * Validation of a parsed config file against schemas/config.schema.json (ajv), with messages that
 * quote the JSON path: `config/production.json: /models/magistral/fragments_dir: must be string`.
 */
import {type ErrorObject} from 'ajv'

import {LlmfragError} from '../errors.js'
import {schemaValidator} from '../schemas.js'

// strictRequired off: the anyOf [{required: [fragments_dir]}, {required: [model]}] names properties defined beside it.
const configValidator = schemaValidator('config', {allErrors: true, strictRequired: false})

/** One problem as `path: message`, the path `/` for the document itself. */
export function describeSchemaError(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>
  const at = e.instancePath === '' ? '/' : e.instancePath
  switch (e.keyword) {
    case 'additionalProperties': return `${at}: has an unknown property ${JSON.stringify(p.additionalProperty)}`
    case 'required': return `${at}: is missing the property ${JSON.stringify(p.missingProperty)}`
    case 'propertyNames': return `${at}: has a property with a bad name ${JSON.stringify(p.propertyName)} (letters, digits, _ . -)`
    case 'anyOf': return `${at}: needs fragments_dir or model`
    case 'enum': return `${at}: must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`
    default: return `${at}: ${e.message ?? `fails the schema (${e.keyword})`}`
  }
}

/** The problems worth showing: a failed anyOf also reports each branch's `required`; keep only the anyOf. */
function relevant(errors: readonly ErrorObject[]): ErrorObject[] {
  const anyOf = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath))
  return errors.filter((e) => !(e.keyword === 'required' && anyOf.has(e.instancePath) && e.schemaPath.includes('/anyOf/')) &&
    e.keyword !== 'if' && !(e.keyword === 'pattern' && e.schemaPath.includes('propertyNames')))
}

/** Throws a CONFIG error naming `file` and the JSON path of the first problem (all of them in details). */
export function validateConfigDocument(value: unknown, file: string): void {
  const validate = configValidator()
  if (validate(value)) return
  const problems = relevant(validate.errors ?? []).map(describeSchemaError)
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more: ${problems.slice(1, 4).join('; ')}${problems.length > 4 ? '; ...' : ''})` : ''
  throw new LlmfragError('CONFIG', `${file}: ${problems[0] ?? '/: fails the schema'}${more}`, {
    hints: ['compare with examples/config/production.json; the schema is schemas/config.schema.json'],
    details: {file, problems},
  })
}
