/** Validators for the repository's JSON Schemas (schemas/json), for tests that hold real messages to them. */
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js'
import addFormatsPlugin from 'ajv-formats'
import { readSchemaText } from '../../src/schema-files.js'

/** A validator for `schemas/json/<relativePath>` (draft 2020-12): the problems it finds, none when valid. */
export function jsonSchemaProblems(relativePath: string): (value: unknown) => string[] {
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false })
  // ajv-formats is CommonJS: its default export arrives wrapped under ESM.
  const plugin = addFormatsPlugin as unknown as { default?: (a: Ajv2020) => Ajv2020 } & ((a: Ajv2020) => Ajv2020)
  ;(plugin.default ?? plugin)(ajv)
  const validate = ajv.compile(JSON.parse(readSchemaText(`json/${relativePath}`)) as object)
  return (value) =>
    validate(value)
      ? []
      : (validate.errors ?? []).map((e: ErrorObject) => `${e.instancePath || '/'} ${e.message ?? e.keyword}`)
}
