/**
 * docs/metrics.md is what operators build dashboards and alerts from: every metric the code registers is listed
 * there, and nothing is listed that the code does not register.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  )
}

describe('docs/metrics.md', () => {
  it('lists exactly the metrics the service registers', () => {
    const registered = new Set(
      sourceFiles(join(ROOT, 'src')).flatMap((file) =>
        [...readFileSync(file, 'utf8').matchAll(/name: '(mvad_[a-z0-9_]+)'/g)].map((m) => m[1] as string),
      ),
    )
    const documented = new Set(
      [...readFileSync(join(ROOT, 'docs/metrics.md'), 'utf8').matchAll(/^\| `(mvad_[a-z0-9_]+)`/gm)].map(
        (m) => m[1] as string,
      ),
    )
    expect([registered.size, documented.size].every((n) => n > 15)).toBe(true)
    expect([...registered].filter((name) => !documented.has(name)).sort()).toEqual([])
    expect([...documented].filter((name) => !registered.has(name)).sort()).toEqual([])
  })
})
