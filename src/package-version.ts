/**
 * The package's version, for `mvad --version` and the service's build-info metric. package.json sits at the
 * repository root: two folders up from compiled code (dist/src/…), one from sources (src/…, as tests run them).
 */
import { readFileSync } from 'node:fs'

const CANDIDATES = [new URL('../../package.json', import.meta.url), new URL('../package.json', import.meta.url)]

export function packageVersion(): string {
  for (const candidate of CANDIDATES) {
    try {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string }
      if (pkg.name === 'mvad-stream' && pkg.version !== undefined) return pkg.version
    } catch {
      // next layout
    }
  }
  return 'unknown'
}
