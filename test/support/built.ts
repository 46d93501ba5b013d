/**
 * Tests that run the build (the CLI bin, worker threads, which run dist/ under the TypeScript sources) check it is
 * there and newer than every source file: a stale build would test old code and pass. `npm test` builds first.
 */
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'vitest'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

function newestSourceMs(folder: string): number {
  let newest = 0
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name)
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMs(path))
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs)
  }
  return newest
}

/** Fails with what to do unless `relative` (e.g. 'dist/src/cli/main.js') exists and is newer than src/. */
export function expectFreshBuild(relative: string): void {
  const file = join(ROOT, relative)
  expect(existsSync(file), `${file} is missing: run "npm run build" first (npm test does)`).toBe(true)
  const stale = statSync(file).mtimeMs < newestSourceMs(join(ROOT, 'src'))
  expect(stale, `${file} is older than src/: run "npm run build" again (npm test does)`).toBe(false)
}
