/** CLI file I/O: results JSONL in/out, ground-truth files, model files. */
import { randomBytes } from 'node:crypto'
import { constants, createReadStream, createWriteStream } from 'node:fs'
import { access, chmod, readFile, realpath, rename, stat, unlink, writeFile } from 'node:fs/promises'
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
  return parseJsonText(await readText(path, what), path, what)
}

/** Parses the text of `what` read from `path`; not JSON is InvalidJsonFormat naming the file. */
export function parseJsonText(text: string, path: string, what: string): unknown {
  try {
    return JSON.parse(text)
  } catch (err) {
    // One line: some parser messages quote the text around the error, newlines included.
    const reason = (err as Error).message.replace(/\s*\n\s*/g, ' ')
    throw new ServiceError('InvalidJsonFormat', `${what} ${path} is not valid JSON: ${reason}`)
  }
}

/**
 * Output files are written beside their final path under a temporary name and renamed into place once complete, so
 * a failed write (a full disk, a file-size limit) leaves neither a truncated file nor a damaged earlier result. The
 * rename goes to the link's target when the path is a symbolic link (the link stays), and the new file takes the old
 * one's permissions (a model kept private stays private). Written in place instead: devices, pipes and /dev, /proc
 * paths (`--out /dev/stdout`: a rename would replace the device or the link itself), and a file whose folder takes
 * no new files (read-only folder, a single-file mount).
 */
async function writeAtomically(path: string, write: (target: string) => Promise<void>): Promise<void> {
  const failed = (err: unknown): ServiceError =>
    err instanceof ServiceError
      ? err
      : new ServiceError('ReadingFileError', `cannot write ${path}: ${(err as Error).message}`, { cause: err })
  const inPlace = async (): Promise<void> => {
    try {
      await write(path)
    } catch (err) {
      throw failed(err)
    }
  }
  if (isSpecialPath(path)) return inPlace()
  const target = await realpath(path).catch(() => path)
  const existing = await stat(target).catch(() => undefined)
  if (existing !== undefined && !existing.isFile()) return inPlace()
  const temporary = join(dirname(target), `.${basename(target)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`)
  try {
    await write(temporary)
  } catch (err) {
    await unlink(temporary).catch(() => undefined)
    const code = (err as NodeJS.ErrnoException).code
    if (existing !== undefined && (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')) return inPlace()
    throw failed(err)
  }
  try {
    if (existing !== undefined) await chmod(temporary, existing.mode & 0o7777)
    await rename(temporary, target)
  } catch (err) {
    await unlink(temporary).catch(() => undefined)
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EBUSY' || code === 'EXDEV') return inPlace() // a bind-mounted file cannot be renamed over
    throw failed(err)
  }
}

/** Paths of the system's own (devices, process files): never renamed over. */
function isSpecialPath(path: string): boolean {
  return /^\/(dev|proc)\//.test(path)
}

/** Writes an output file (text or bytes); a failure names the path (ReadingFileError, exit 3). */
export async function writeText(path: string, text: string | Uint8Array): Promise<void> {
  await writeAtomically(path, (target) => writeFile(target, text))
}

/** Rejects unless this process may write `path` (a file, or a folder to add a file to). */
export type WriteAccessCheck = (path: string) => Promise<void>

const canWrite: WriteAccessCheck = (path) => access(path, constants.W_OK)

/**
 * Checks, before any work, that an output file can be written: the path is not a folder and none of `inputs` (which
 * the run would overwrite: a usage error, exit 2), and it exists writable or its folder exists and takes new files.
 * The write itself still reports what this cannot foresee, a full disk say. `checkAccess` is access(W_OK); tests
 * give their own, as root may write any file.
 */
export async function assertWritable(
  path: string,
  flag: string,
  inputs: readonly string[] = [],
  checkAccess: WriteAccessCheck = canWrite,
): Promise<void> {
  if (path.trim() === '') throw new UsageError(`${flag} is empty: give the file to write`)
  const existing = await stat(path).catch(() => undefined)
  if (existing?.isDirectory() === true) {
    throw new ServiceError('ReadingFileError', `cannot write ${path} (${flag}): it names a folder, not a file`)
  }
  if (path.endsWith(sep) || path.endsWith('/')) {
    throw new UsageError(`${flag} ${path} ends with a slash: give a file name (e.g. ${join(path, 'out.json')})`)
  }
  const noPermission = (err: unknown): ServiceError =>
    new ServiceError(
      'ReadingFileError',
      `cannot write ${path} (${flag}): no permission (${(err as NodeJS.ErrnoException).code ?? 'unknown'})`,
      { cause: err },
    )
  if (existing !== undefined) {
    // realpath fails for some special files (/dev/stdout on a pipe): those are no input.
    const target = await realpath(path).catch(() => undefined)
    for (const input of inputs) {
      if (target !== undefined && (await realpath(input).catch(() => undefined)) === target)
        throw new UsageError(`${flag} ${path} is the input ${input}: writing it would destroy the input`)
    }
    // An existing file is replaced, or written in place when its folder takes no new file: it must be writable.
    await checkAccess(path).catch((err: unknown) => {
      throw noPermission(err)
    })
    return
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
  await checkAccess(folder).catch((err: unknown) => {
    throw noPermission(err)
  })
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
      await once(out, 'close') // flushed and the descriptor closed, before the rename
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
