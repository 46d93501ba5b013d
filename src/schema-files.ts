/**
 * Reads a file of the repository's `schemas/` folder. Compiled code lives in dist/src/…, sources in src/…: both
 * layouts are tried, so the service, the CLI and tests find the same files without copying assets.
 */
import { readFileSync } from 'node:fs'
import { ServiceError } from './errors.js'

const CANDIDATE_ROOTS = [new URL('../../schemas/', import.meta.url), new URL('../schemas/', import.meta.url)]

export function readSchemaText(relativePath: string): string {
  for (const root of CANDIDATE_ROOTS) {
    try {
      return readFileSync(new URL(relativePath, root), 'utf8')
    } catch {
      // next layout
    }
  }
  throw new ServiceError('Internal', `schema file schemas/${relativePath} not found next to the code`)
}
