/** CLI file I/O: results JSONL in/out, ground-truth files, model files. */
import { randomBytes } from 'node:crypto'
import { constants, createReadStream, createWriteStream } from 'node:fs'
import { access, readFile, realpath, rename, stat, unlink, writeFile } from 'node:fs/promises'
import { basename, dirname, join, sep } from 'node:path'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import type { AnomalyState } from '../domain/types.js'
import { ServiceError } from '../errors.js'
import { parseWireAnomalyState, toWireAnomalyState } from '../pipeline/result-json.js'
import { UsageError } from './exit.js'

export async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why =
      code === 'EISDIR'
        ? 'is a folder, not a file'
        : code === 'ENOENT'
          ? 'does not exist'
          : `cannot be read (${code ?? 'unknown'})`
    throw new ServiceError('FileNotExist', `${what} ${path} ${why}`, { cause: err })
  }
}

export async function readJson(path: string, what: string): Promise<unknown> {
  const text = await readText(path, what)
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new ServiceError('InvalidJsonFormat', `${what} ${path} is not valid JSON: ${(err as Error).message}`)
  }
}

/**
 * Output files are written beside their final path under a temporary name and renamed into place once complete, so
 * a failed write (a full disk, a file-size limit) leaves neither a truncated file nor a damaged earlier result.
 * Devices and pipes are written directly.
 */
async function writeAtomically(path: string, write: (temporary: string) => Promise<void>): Promise<void> {
  const existing = await stat(path).catch(() => undefined)
  if (existing !== undefined && !existing.isFile()) {
    // /dev/stdout, /dev/null, a named pipe: written in place (a rename would replace the device or pipe itself).
    try {
      await write(path)
      return
    } catch (err) {
      if (err instanceof ServiceError) throw err
      throw new ServiceError('ReadingFileError', `cannot write ${path}: ${(err as Error).message}`, { cause: err })
    }
  }
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`)
  try {
    await write(temporary)
    await rename(temporary, path)
  } catch (err) {
    await unlink(temporary).catch(() => undefined)
    if (err instanceof ServiceError) throw err
    throw new ServiceError('ReadingFileError', `cannot write ${path}: ${(err as Error).message}`, { cause: err })
  }
}

/** Writes an output file (text or bytes); a failure names the path (ReadingFileError, exit 3). */
export async function writeText(path: string, text: string | Uint8Array): Promise<void> {
  await writeAtomically(path, (temporary) => writeFile(temporary, text))
}

/**
 * Checks, before any work, that an output file can be written: its folder exists, is a folder and is writable, the
 * path is not a folder, and it is none of `inputs` (which the run would overwrite: a usage error, exit 2). The write
 * itself still reports what this cannot foresee, a full disk say.
 */
export async function assertWritable(path: string, flag: string, inputs: readonly string[] = []): Promise<void> {
  const existing = await stat(path).catch(() => undefined)
  if (existing?.isDirectory() === true || path.endsWith(sep) || path.endsWith('/')) {
    throw new ServiceError('ReadingFileError', `cannot write ${path} (${flag}): it names a folder, not a file`)
  }
  if (existing !== undefined) {
    const target = await realpath(path)
    for (const input of inputs) {
      if ((await realpath(input).catch(() => undefined)) === target)
        throw new UsageError(`${flag} ${path} is the input ${input}: writing it would destroy the input`)
    }
  }
  const folder = dirname(path)
  const folderStat = await stat(folder).catch((err: unknown) => err as NodeJS.ErrnoException)
  if (folderStat instanceof Error) {
    const reason =
      folderStat.code === 'ENOENT'
        ? `folder ${folder} does not exist`
        : folderStat.code === 'ENOTDIR'
          ? `${folder} is not a folder`
          : `cannot read folder ${folder} (${folderStat.code ?? 'unknown'})`
    throw new ServiceError('ReadingFileError', `cannot write ${path} (${flag}): ${reason}`, { cause: folderStat })
  }
  if (!folderStat.isDirectory()) {
    throw new ServiceError('ReadingFileError', `cannot write ${path} (${flag}): ${folder} is not a folder`)
  }
  try {
    // The folder, not the file: the file is replaced by a rename, which needs the folder writable.
    await access(folder, constants.W_OK)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new ServiceError('ReadingFileError', `cannot write ${path} (${flag}): no permission (${code ?? 'unknown'})`, {
      cause: err,
    })
  }
}

/** Streams results to `path`, one MVAD AnomalyState per line (written whole or not at all). */
export async function writeResultsJsonl(path: string, results: readonly AnomalyState[]): Promise<void> {
  await writeAtomically(path, async (temporary) => {
    const out = createWriteStream(temporary)
    const failed = once(out, 'error').then(([err]) => {
      throw err as Error
    })
    const write = async (): Promise<void> => {
      for (const r of results) {
        if (!out.write(`${JSON.stringify(toWireAnomalyState(r))}\n`)) await once(out, 'drain')
      }
      out.end()
      await once(out, 'finish')
    }
    try {
      await Promise.race([write(), failed])
    } finally {
      out.destroy()
      failed.catch(() => undefined) // settled or never: not an unhandled rejection
    }
  })
}

/**
 * Reads a results file (one MVAD AnomalyState per line, as `detect` writes). Refuses an unreadable path (a folder,
 * no permission), a line that is not a result, a timestamp given twice, and a file with no result at all.
 */
export async function readResultsJsonl(path: string): Promise<AnomalyState[]> {
  try {
    await access(path)
  } catch (err) {
    throw new ServiceError('FileNotExist', `results file ${path} does not exist or cannot be read`, { cause: err })
  }
  const results: AnomalyState[] = []
  const lineOf = new Map<number, number>()
  const input = createReadStream(path)
  const lines = createInterface({ input, crlfDelay: Infinity })
  let n = 0
  try {
    for await (const line of lines) {
      n++
      if (line.trim() === '') continue
      // A byte-order mark (an editor's save) is not part of the first record, as in CSV inputs.
      const result = parseWireAnomalyState(n === 1 ? line.replace(/^\uFEFF/, '') : line, path, n)
      const earlier = lineOf.get(result.timestamp)
      if (earlier !== undefined) {
        throw new ServiceError('DuplicatedTimestamps', `${path} line ${n}: timestamp is on line ${earlier} already`)
      }
      lineOf.set(result.timestamp, n)
      results.push(result)
    }
  } catch (err) {
    if (err instanceof ServiceError) throw err
    // EISDIR, EACCES and the like surface here, from the stream, not from access().
    throw new ServiceError('ReadingFileError', `cannot read results file ${path}: ${(err as Error).message}`, {
      cause: err,
    })
  } finally {
    input.destroy()
  }
  if (results.length === 0) throw new ServiceError('NoData', `results file ${path} holds no result`)
  return results
}
