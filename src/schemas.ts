/**
 * The JSON Schemas in `schemas/` (manifest, config, bench), compiled with ajv once on first use.
 * One loader for all three, so where they are found and how a missing one is reported live here.
 */
import {readFileSync} from 'node:fs'

import {Ajv, type Options, type ValidateFunction} from 'ajv'

import {LlmfragError} from './errors.js'

export type SchemaName = 'manifest' | 'config' | 'bench'

/** A getter of the compiled validator of `schemas/<name>.schema.json`, compiled on its first call. */
export function schemaValidator(name: SchemaName, options: Options): () => ValidateFunction {
  let validator: ValidateFunction | undefined
  return () => {
    if (validator) return validator
    // schemas/ sits at the package root, one level above both src/ and dist/.
    const url = new URL(`../schemas/${name}.schema.json`, import.meta.url)
    let schema: unknown
    try {
      schema = JSON.parse(readFileSync(url, 'utf8'))
    } catch (err) {
      throw new LlmfragError('INTERNAL', `cannot load the ${name} schema ${url.pathname}: ${String(err)}`, {cause: err})
    }
    validator = new Ajv({strict: true, allowUnionTypes: true, ...options}).compile(schema as object)
    return validator
  }
}
