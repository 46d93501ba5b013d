/**
 * File-system entry points: a path to a `.csv` is OneTable, a folder is MultiTable (its `*.csv` files, no
 * sub-folders, as MVAD). Files are streamed, never read whole.
 */
import { createReadStream } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { ServiceError } from '../errors.js'
import { parseMultiTable, parseOneTable } from './csv.js'
import type { ReadLimits } from './limits.js'
import type { RawTable } from './table.js'

export async function readOneTableFile(path: string, limits: ReadLimits = {}): Promise<RawTable> {
  await assertExists(path)
  return parseOneTable(createReadStream(path), path, limits)
}

export async function readMultiTableFolder(dir: string, limits: ReadLimits = {}): Promise<RawTable> {
  await assertExists(dir)
  const entries = await readdir(dir, { withFileTypes: true })
  const csvs = entries.filter((e) => e.name.toLowerCase().endsWith('.csv'))
  const names: string[] = []
  for (const e of csvs) {
    // A symbolic link counts as the file it points to (a folder assembled from links is still the data).
    const isFile =
      e.isFile() || (e.isSymbolicLink() && (await stat(join(dir, e.name)).catch(() => undefined))?.isFile())
    if (isFile !== true) continue
    if (e.name.length === 4) {
      throw new ServiceError('NoVariablesFound', `${join(dir, e.name)}: a file named ".csv" has no variable name`)
    }
    names.push(e.name)
  }
  const files = names.map((name) => ({
    variable: basename(name, name.slice(-4)),
    input: lazyFileStream(join(dir, name)),
    source: join(dir, name),
  }))
  return parseMultiTable(files, dir, limits)
}

/** Opens the file only when parsing reaches it, so a 301-variable folder never holds 301 descriptors at once. */
async function* lazyFileStream(path: string): AsyncGenerator<Buffer> {
  for await (const chunk of createReadStream(path)) yield chunk as Buffer
}

/** Reads a OneTable file or a MultiTable folder, deciding by what the path is. */
export async function readTable(path: string, limits: ReadLimits = {}): Promise<RawTable> {
  const info = await assertExists(path)
  return info.isDirectory() ? readMultiTableFolder(path, limits) : readOneTableFile(path, limits)
}

async function assertExists(path: string): Promise<Awaited<ReturnType<typeof stat>>> {
  try {
    return await stat(path)
  } catch (err) {
    throw new ServiceError('FileNotExist', `${path} does not exist or cannot be read`, { cause: err })
  }
}
